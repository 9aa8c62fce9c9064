import { test, expect } from '@playwright/test';
import { waitHydrated } from './support';

test('the home page is rendered on the server, says it runs on the sandbox, and hydrates', async ({ page, request }) => {
  // Server-rendered: the HTML alone already has the badge and the sign-in form.
  const html = await (await request.get('/')).text();
  expect(html).toContain('data-testid="upstream-badge"');
  expect(html).toContain('action="/auth/login"');

  await page.goto('/');
  await expect(page.getByTestId('upstream-badge')).toHaveText('Sandbox');
  await expect(page.getByTestId('sandbox-note')).toBeVisible();
  await waitHydrated(page);
});

test('a server function answers the hydrated page', async ({ page }) => {
  await page.goto('/');
  await waitHydrated(page);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.getByTestId('check-upstream').click();
  await expect(page.getByTestId('upstream-check')).toContainText(/Reachable in \d+ ms \(the API answered HTTP 401\)/);
  // Hydrated, the form was sent by the wasm as a fetch to the server function, without a reload.
  expect(requests.some((u) => u.includes('/api/check_upstream'))).toBeTruthy();
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
});

test('every page carries the security headers', async ({ request }) => {
  const r = await request.get('/');
  const h = r.headers();
  expect(h['content-security-policy']).toMatch(/script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
  expect(h['content-security-policy']).not.toContain('unsafe-inline');
  expect(h['content-security-policy']).toContain("object-src 'none'");
  expect(h['content-security-policy']).toContain("base-uri 'none'");
  expect(h['x-content-type-options']).toBe('nosniff');
  expect(h['referrer-policy']).toBeTruthy();
  expect(h['cache-control']).toBe('no-store');
});

test('state-changing requests from another site are refused', async ({ request }) => {
  const r = await request.post('/auth/login', {
    headers: { Origin: 'https://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' },
    data: 'return_to=%2Fdashboard',
    maxRedirects: 0,
  });
  expect(r.status()).toBe(403);
  const s = await request.post('/api/check_upstream', {
    headers: { Origin: 'https://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' },
    data: '',
  });
  expect(s.status()).toBe(403);
});

test('an unknown page is a 404 page', async ({ page }) => {
  const r = await page.goto('/no/such/page');
  expect(r?.status()).toBe(404);
  await expect(page.getByTestId('error')).toContainText('Not found');
});
