// One headless chromium per test file; each test gets a fresh page (its own
// storage), so nothing a test typed carries into the next.
import { chromium } from 'playwright-core';
import { after, before } from 'node:test';

export const base = process.env.RAPPORT_BASE;
export const key = process.env.RAPPORT_KEY;
if (!base || !key) throw new Error('run these through tests/browser/run.sh');

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ['--no-sandbox'],
  });
});
after(async () => browser?.close());

export async function freshPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw e; });
  return page;
}
