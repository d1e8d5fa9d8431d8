'use strict';
// Headless-browser test of a Cxas HTML report.
// Usage: node report.test.js REPORT.html   (expectations are read from REPORT.html.expect.json)
// The report and its expectations come from the .NET test ReportTests.WritesTheBrowserFixture with
// CXAS_REPORT_FIXTURE=REPORT.html. Chromium comes from the system (Debian package 'chromium'); nothing is downloaded.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const reportPath = path.resolve(process.argv[2] || '');
if (!process.argv[2] || !fs.existsSync(reportPath)) {
  console.error('usage: node report.test.js REPORT.html (with REPORT.html.expect.json beside it)');
  process.exit(2);
}
const expect = JSON.parse(fs.readFileSync(reportPath + '.expect.json', 'utf8'));
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let failures = 0;
function check(condition, message) {
  if (condition) { console.log('ok   ' + message); } else { failures++; console.log('FAIL ' + message); }
}

// Reads screen pixels from a PNG screenshot by decoding it in the page itself (no PNG library needed).
async function pixelsAt(page, png, points) {
  return page.evaluate(async ({ b64, points }) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    return points.map(p => Array.from(ctx.getImageData(p.x, p.y, 1, 1).data.slice(0, 3)));
  }, { b64: png.toString('base64'), points });
}

function close(actual, expected, tolerance) {
  return actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance);
}

(async () => {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cxas-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  const errors = [];
  const requests = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', e => errors.push('pageerror: ' + e.message));
    page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
    page.on('request', r => { if (!r.url().startsWith('data:') && !r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto('file://' + reportPath, { waitUntil: 'load' });
    await page.evaluate(() => Promise.all(Array.from(document.images).map(i => i.decode())));

    check(errors.length === 0, 'page loads without errors ' + JSON.stringify(errors));
    check(requests.length === 0, 'no requests beyond the file itself ' + JSON.stringify(requests));
    const broken = await page.evaluate(() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length);
    check(broken === 0, 'every image decodes');

    const rowNames = () => page.$$eval('#summary tbody tr td:first-child', tds => tds.map(td => td.textContent));
    check((await rowNames()).length === expect.sortedAscending.length, 'summary has one row per image');
    const header = page.locator('#summary th', { hasText: expect.sortHeader });
    await header.click();
    check(JSON.stringify(await rowNames()) === JSON.stringify(expect.sortedAscending), 'sorting by ' + expect.sortHeader + ' ascending: ' + (await rowNames()).join(', '));
    check(await header.getAttribute('aria-sort') === 'ascending', 'heading shows the ascending sort');
    await header.click();
    check(JSON.stringify(await rowNames()) === JSON.stringify([...expect.sortedAscending].reverse()), 'second click sorts descending');

    for (const image of expect.images) {
      const section = page.locator('#' + image.id);
      const toggles = section.locator('input.layer-toggle');
      check(await toggles.count() === expect.layersPerImage + expect.constructionsPerImage, image.id + ': one toggle per class and per construction');
      const stack = section.locator('.stack');
      await stack.scrollIntoViewIfNeeded();
      const box = await stack.boundingBox();
      check(Math.round(box.width) === image.width && Math.round(box.height) === image.height,
        image.id + ': picture shown at ' + Math.round(box.width) + 'x' + Math.round(box.height));
      // Hide the constructions so only class fills are on screen at the check points.
      const constructions = section.locator('input.layer-toggle.construction');
      for (let k = 0; k < await constructions.count(); k++) await constructions.nth(k).uncheck();
      const points = image.checks.map(c => ({ x: Math.floor(box.x) + c.x, y: Math.floor(box.y) + c.y }));
      const shotOn = await page.screenshot();
      const on = await pixelsAt(page, shotOn, points);
      image.checks.forEach((c, i) =>
        check(close(on[i], c.on, 6), `${image.id} (${c.x},${c.y}) with layers on: ${on[i]} ~ ${c.on}`));

      for (const c of image.checks.filter(c => c.layer >= 0)) {
        const toggle = toggles.nth(c.layer);
        const layerId = await toggle.getAttribute('data-layer');
        await toggle.uncheck();
        const visibility = await page.$eval('#' + layerId, el => getComputedStyle(el).visibility);
        check(visibility === 'hidden', `${image.id}: unchecking layer ${c.layer} hides it`);
        const off = (await pixelsAt(page, await page.screenshot(), [{ x: Math.floor(box.x) + c.x, y: Math.floor(box.y) + c.y }]))[0];
        check(close(off, c.off, 6), `${image.id} (${c.x},${c.y}) with layer ${c.layer} off: ${off} ~ ${c.off}`);
        await toggle.check();
        const back = (await pixelsAt(page, await page.screenshot(), [{ x: Math.floor(box.x) + c.x, y: Math.floor(box.y) + c.y }]))[0];
        check(close(back, c.on, 6), `${image.id} (${c.x},${c.y}) back on: ${back}`);
      }
      await section.locator('button.none').click();
      const none = await pixelsAt(page, await page.screenshot(), points);
      image.checks.forEach((c, i) => check(close(none[i], c.off, 6), `${image.id} (${c.x},${c.y}) after 'none': ${none[i]}`));
      await section.locator('button.all').click();
      const all = await pixelsAt(page, await page.screenshot(), points);
      // 'all' also turns the constructions back on; the check points lie away from them.
      image.checks.forEach((c, i) => check(close(all[i], c.on, 6), `${image.id} (${c.x},${c.y}) after 'all': ${all[i]}`));
    }
    // Zoom: 200 % doubles the picture and keeps the layers aligned with it.
    const first = expect.images[0];
    const firstSection = page.locator('#' + first.id);
    await firstSection.locator('select.zoom').selectOption('2');
    const stack = firstSection.locator('.stack');
    await stack.scrollIntoViewIfNeeded();
    const big = await stack.boundingBox();
    check(Math.round(big.width) === 2 * first.width && Math.round(big.height) === 2 * first.height,
      'zoom 200 % shows ' + Math.round(big.width) + 'x' + Math.round(big.height));
    const c0 = first.checks[0];
    const zoomed = (await pixelsAt(page, await page.screenshot(), [{ x: Math.floor(big.x) + 2 * c0.x, y: Math.floor(big.y) + 2 * c0.y }]))[0];
    check(close(zoomed, c0.on, 6), `zoomed (${2 * c0.x},${2 * c0.y}) shows the class: ${zoomed}`);
    await firstSection.locator('select.zoom').selectOption('fit');
    check(Math.round((await stack.boundingBox()).width) === first.width, 'back to fit');

    const flagged = await page.$$eval('#summary td.flag', tds => tds.map(td => td.textContent));
    check(JSON.stringify(flagged) === JSON.stringify(expect.flagged), 'CTRs above 0.5 are highlighted: ' + flagged.join(', '));

    if (process.env.CXAS_SCREENSHOT) await page.screenshot({ path: process.env.CXAS_SCREENSHOT, fullPage: true });
    check(errors.length === 0, 'no errors while interacting ' + JSON.stringify(errors));
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  console.log(failures === 0 ? 'all browser checks passed' : failures + ' browser check(s) failed');
  process.exit(failures === 0 ? 0 : 1);
})().catch(e => { console.error(e); process.exit(1); });
