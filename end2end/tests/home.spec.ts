import { test, expect, type Response } from '@playwright/test';
import { signIn, waitHydrated } from './support';

test('the home page is rendered on the server, says it runs on the sandbox, and hydrates', async ({ page, request }) => {
  // Server-rendered: the HTML alone already has the badge and the sign-in form.
  const html = await (await request.get('/')).text();
  expect(html).toContain('data-testid="upstream-badge"');
  expect(html).toContain('action="/auth/login"');

  // Nothing the page loads fails, the icon the browser asks for by itself included.
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`); });
  await page.goto('/');
  await expect(page.getByTestId('upstream-badge')).toHaveText('Sandbox');
  await expect(page.getByTestId('sandbox-note')).toBeVisible();
  await waitHydrated(page);
  const icon = await request.get('/favicon.ico');
  expect(icon.status()).toBe(200);
  expect((await icon.body()).subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]));
  expect(errors).toEqual([]);
});

test('a server function answers the hydrated page', async ({ page }) => {
  await page.goto('/');
  // Anonymous visitors get no connection check (the server function refuses them too).
  await expect(page.getByTestId('check-upstream')).toHaveCount(0);
  await signIn(page);
  await expect(page.getByTestId('profile-name')).toBeVisible();
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
  await expect(page.getByTestId('error')).toHaveAttribute('data-kind', 'not-found');
});

// Every class of answer carries the same protections: an anonymous page, a signed-in page, an
// error page, a server function's answer, a CSV download, the guest provider's JSON and a
// health check. Pages and private data are never cached; framing is refused everywhere.
test('every route class carries the security headers, framing refused', async ({ page }) => {
  await page.goto('/');
  const anonymous = await page.request.get('/');
  await signIn(page);
  await expect(page.getByTestId('profile-name')).toBeVisible();
  const signedIn = await page.request.get('/dashboard');
  const error = await page.request.get('/no/such/page');
  expect(error.status()).toBe(404);
  const discovery = await page.request.get('/guest-idp/.well-known/openid-configuration');
  const health = await page.request.get('/healthz');
  // A server function, as the hydrated page calls it (its URL is in the page's forms).
  await page.goto('/');
  const action = await page.locator('form[action*="/api/check_upstream"]').first().getAttribute('action');
  const serverFn = await page.request.post(action!, { headers: { Origin: new URL(page.url()).origin, Accept: 'application/json' } });
  expect(serverFn.ok()).toBeTruthy();
  // A CSV download.
  await page.goto('/users?state=active');
  await waitHydrated(page);
  await page.getByTestId('export').click();
  await expect(page.getByTestId('export-status')).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  const href = await page.getByTestId('export-download').getAttribute('href');
  const csv = await page.request.get(href!);
  expect(csv.headers()['content-type']).toContain('text/csv');

  const answers = { anonymous, signedIn, error, serverFn, csv, discovery, health };
  for (const [name, r] of Object.entries(answers)) {
    const h = r.headers();
    expect(h['x-content-type-options'], name).toBe('nosniff');
    expect(h['x-frame-options'], name).toBe('DENY');
    expect(h['content-security-policy'], name).toContain("frame-ancestors 'none'");
    expect(h['content-security-policy'], name).toContain("object-src 'none'");
    expect(h['referrer-policy'], name).toBeTruthy();
    expect(h['cross-origin-opener-policy'], name).toBe('same-origin');
    // The provider's discovery document is public and may be cached briefly; the rest never.
    if (name === 'discovery') expect(h['cache-control'], name).toMatch(/^public, max-age=\d+$/);
    else expect(h['cache-control'], name).toContain('no-store');
  }
  for (const r of [anonymous, signedIn, error]) {
    expect(r.headers()['content-security-policy']).toMatch(/script-src 'self' 'nonce-[^']+'/);
  }
});

// The performance issue's delivery rules, as a browser sees them: the build's files under /pkg/
// have hashed names, come compressed as Chromium asks (br) and may be cached for a year; a name
// that does not exist is never cached; a signed-in page is HTML with one island of wasm (the
// session countdown), and its links are ordinary document loads (no client-side router).
test('the build files are compressed and immutable; the dashboard is HTML with one island', async ({ page }) => {
  await page.goto('/');
  await signIn(page);
  const responses: Response[] = [];
  const collect = (r: Response) => {
    if (new URL(r.url()).pathname.startsWith('/pkg/')) responses.push(r);
  };
  page.on('response', collect);
  await page.goto('/dashboard');
  await waitHydrated(page);
  page.off('response', collect);
  const assets = await Promise.all(responses.map(async (r) => ({ url: r.url(), headers: await r.allHeaders() })));
  const wasm = assets.filter((a) => a.url.endsWith('.wasm'));
  const js = assets.filter((a) => a.url.endsWith('.js'));
  expect(wasm.length).toBeGreaterThan(0);
  expect(js.length).toBeGreaterThan(0);
  for (const a of [...wasm, ...js]) {
    expect(new URL(a.url).pathname, a.url).toMatch(/\.[A-Za-z0-9_-]{22}\.(wasm|js)$/);
    expect(a.headers['cache-control'], a.url).toBe('public, max-age=31536000, immutable');
    expect(a.headers['content-encoding'], a.url).toBe('br');
  }
  const missing = await page.request.get(new URL(wasm[0].url).pathname.replace(/[^/]*$/, 'genesys-portal.AAAAAAAAAAAAAAAAAAAAAA.wasm'));
  expect(missing.status()).toBe(404);
  expect(missing.headers()['cache-control']).toBe('no-store');

  await expect(page.locator('leptos-island')).toHaveCount(1);
  await expect(page.locator('leptos-island').getByTestId('countdown')).toBeVisible();

  const navigation = page.waitForRequest((r) => r.isNavigationRequest() && new URL(r.url()).pathname === '/users');
  await page.locator('header').getByRole('link', { name: 'Directory' }).click();
  expect((await navigation).resourceType()).toBe('document');
  await expect(page.getByTestId('user-row').first()).toBeVisible();
});

// A page without islands is HTML only: the landing page downloads no JavaScript or wasm, and is
// still marked live for the tests (nothing on it waits for wasm).
test('a page without islands downloads no wasm', async ({ page }) => {
  const downloads: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/pkg/') && !r.url().endsWith('.css')) downloads.push(r.url());
  });
  await page.goto('/');
  await waitHydrated(page);
  await expect(page.locator('leptos-island')).toHaveCount(0);
  await expect(page.locator('main').getByTestId('sign-in')).toBeVisible();
  expect(downloads).toEqual([]);
  // The same browser signed in gets the connection check, an island, and with it the wasm.
  await signIn(page);
  await page.goto('/');
  await waitHydrated(page);
  await expect(page.locator('leptos-island')).toHaveCount(1);
  expect(downloads.some((u) => u.endsWith('.wasm'))).toBeTruthy();
});
