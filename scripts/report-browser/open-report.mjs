// Opens an mlsec HTML report from disk in headless Chromium, twice: with
// JavaScript on (no console error, no request but the file itself, a
// screenshot) and with JavaScript off (the decision, the policy table, the
// compliance matrix and the charts still there). Exit 1 on any failure.
//
// usage: node open-report.mjs REPORT.html SCREENSHOT.png [CHROMIUM]
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [report, screenshot, executable = "/usr/bin/chromium"] = process.argv.slice(2);
const url = pathToFileURL(report).href;
const problems = [];

const browser = await chromium.launch({
  executablePath: executable,
  headless: true,
  // Root in a container has no user namespaces for the sandbox.
  args: ["--no-sandbox"],
});
try {
  // JavaScript on: what a person's browser does.
  {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") {
        problems.push(`console ${m.type()}: ${m.text()}`);
      }
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("request", (r) => {
      if (r.url() !== url) problems.push(`request: ${r.url()}`);
    });
    page.on("requestfailed", (r) => problems.push(`failed request: ${r.url()}`));
    const response = await page.goto(url, { waitUntil: "load" });
    if (!response || !response.ok()) problems.push(`could not open ${url}`);
    await page.waitForTimeout(300);
    await page.screenshot({ path: screenshot, fullPage: true });
    const title = await page.title();
    if (!title.startsWith("mlsec")) problems.push(`title: ${title}`);
    await context.close();
  }
  // JavaScript off: the report has none, so nothing may be missing.
  {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(url, { waitUntil: "load" });
    const text = await page.locator("body").innerText();
    for (const want of ["DENY", "Policy", "MLP001", "Checks", "Findings", "Compliance", "MITRE ATLAS"]) {
      if (!text.includes(want)) problems.push(`without JavaScript, "${want}" is not shown`);
    }
    const charts = await page.locator("svg.chart").count();
    if (charts < 3) problems.push(`without JavaScript, ${charts} chart(s) (expected 3 or more)`);
    const box = await page.locator("svg.chart").first().boundingBox();
    if (!box || box.width < 100 || box.height < 20) problems.push(`first chart not drawn: ${JSON.stringify(box)}`);
    await context.close();
  }
} finally {
  await browser.close();
}

if (problems.length) {
  console.error(`report ${report}:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`report opens in Chromium without errors or requests; screenshot ${screenshot}`);
