// Opens page.html (from its own origin) in Debian's headless chromium and
// prints, as JSON, what the page's fetch() calls to Berth saw.
const { launch } = require("./chromium");
(async () => {
  const [pageUrl] = process.argv.slice(2);
  const browser = await launch();
  // The registry's certificate is the stack's self-signed one.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(pageUrl);
  const results = await page.evaluate(() => window.run());
  console.log(JSON.stringify(results));
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
