// Drives the real Joxit docker-registry-ui (its static build, served by the
// stack's nginx on Berth's own origin, as the compose stack does) in Debian's
// headless chromium, as a person would: open the UI, read the catalog, open
// a repository, delete one tag with the UI's delete button and its
// confirmation dialog. Prints, as JSON, what the UI showed and the requests
// it sent. Arguments: UI URL, user, password, repository, tag to delete.
const { launch } = require("./chromium");
(async () => {
  const [url, user, pass, repo, victim] = process.argv.slice(2);
  const browser = await launch();
  // The browser answers the registry's basic-auth challenge itself, as a
  // person typing into the login prompt would.
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    httpCredentials: { username: user, password: pass },
    viewport: { width: 1440, height: 900 },
  });
  const page = await context.newPage();
  const out = { requests: [], errors: [] };
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/v2/"))
      out.requests.push(`${r.request().method()} ${u.pathname}${u.search} ${r.status()}`);
  });
  page.on("pageerror", (e) => out.errors.push(String(e)));
  const texts = async (sel) =>
    (await page.locator(sel).allInnerTexts()).map((t) => t.replace(/^send\s*/, "").trim());

  await page.goto(url);
  await page.waitForSelector("catalog-element material-card", { timeout: 15000 });
  out.catalog = await texts("catalog-element material-card span");
  out.header = (await page.locator("catalog material-card.header").innerText()).trim();

  // Into the repository, by clicking its card.
  await page.locator("catalog-element material-card", { hasText: repo }).first().click();
  await page.waitForSelector("tag-table tbody tr image-tag", { timeout: 15000 });
  out.tags = await texts("tag-table tbody tr image-tag");
  // The digest column is filled from Docker-Content-Digest.
  await page.waitForFunction(() =>
    [...document.querySelectorAll("image-content-digest div")].every((d) =>
      /^sha256:/.test(d.textContent.trim())), null, { timeout: 15000 });
  out.digests = await texts("image-content-digest div");

  // Delete one tag: the row's delete button, then "Delete" in the dialog.
  const row = page.locator("tag-table tbody tr", { has: page.locator("image-tag", { hasText: victim }) });
  const del = row.locator("remove-image material-button");
  await page.waitForFunction((el) => !el.hasAttribute("disabled"), await del.elementHandle(), { timeout: 15000 });
  await del.click();
  await page.waitForSelector("confirm-delete-image [slot=content] li", { timeout: 15000 });
  out.dialog = [await page.locator("confirm-delete-image [slot=title]").innerText(),
                ...(await texts("confirm-delete-image [slot=content] li"))].join("\n");
  const deleted = page.waitForResponse((r) => r.request().method() === "DELETE", { timeout: 15000 });
  await page.locator("confirm-delete-image material-button", { hasText: "Delete" }).click();
  out.deleteStatus = (await deleted).status();
  await page.waitForSelector("material-snackbar .toast", { timeout: 15000 });
  out.snackbar = (await page.locator("material-snackbar .toast").first().innerText()).trim();
  // What a person sees on coming back to the repository's page.
  await page.reload();
  await page.waitForSelector("tag-table tbody tr image-tag", { timeout: 15000 });
  out.tagsAfter = await texts("tag-table tbody tr image-tag");
  if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT });
  console.log(JSON.stringify(out));
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
