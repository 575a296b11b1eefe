// Debian's chromium (never a downloaded browser), with the flags this
// machine's closed network needs: without them chromium keeps trying to
// reach Google's services at every start.
const { chromium } = require("playwright-core");
exports.launch = () => chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
