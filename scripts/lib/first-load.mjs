// What Chromium downloads for each page until its islands are live: the bytes on the wire
// (compressed as served) of every JavaScript and wasm file, and how many files. Used by
// scripts/first-load.sh. Arguments: BASE, then NAME|PATH|COOKIES|TESTID for each page (COOKIES
// "name=value;name=value" or empty).
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../end2end/package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const [base, ...pages] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
console.log('| page | HTML (br) | JS + wasm (br) | files | islands |');
console.log('|---|---|---|---|---|');
for (const spec of pages) {
  const [name, path, cookie, testid] = spec.split('|');
  const context = await browser.newContext();
  if (cookie) {
    await context.addCookies(cookie.split(';').map((c) => {
      const [name, value] = c.trim().split('=');
      return { name, value, url: base };
    }));
  }
  const page = await context.newPage();
  const sized = [];
  page.on('requestfinished', (r) => sized.push(r.sizes().then((s) => ({ url: r.url(), type: r.resourceType(), bytes: s.responseBodySize }))));
  await page.goto(base + path);
  await page.getByTestId(testid).first().waitFor();
  await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached', timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  const all = await Promise.all(sized);
  const code = all.filter((r) => /\/pkg\/.*\.(js|wasm)$/.test(new URL(r.url).pathname));
  const html = all.find((r) => r.type === 'document');
  const islands = await page.locator('leptos-island').count();
  const total = code.reduce((n, r) => n + r.bytes, 0);
  console.log(`| ${name} (\`${path.replace(/[0-9a-f]{32}/, '…')}\`) | ${html?.bytes ?? '?'} | ${total} | ${code.length} | ${islands} |`);
  await context.close();
}
await browser.close();
