import { test, expect, Browser } from '@playwright/test';
import { firstOfferedName, issuedTokens, SANDBOX_ADMIN, signIn, startPortal, waitHydrated } from './support';

test('sign in through the sandbox, see the dashboard with a ticking countdown', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('sign-in').first().click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  const name = await firstOfferedName(page);
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId('profile-name')).toHaveText(name);
  await expect(page.getByTestId('signed-in-as')).toHaveText(name);
  await expect(page.getByTestId('dashboard-upstream')).toHaveText('Sandbox');
  await expect(page.getByTestId('scopes')).toContainText('users:readonly');
  await expect(page.getByTestId('presence')).not.toBeEmpty();
  await waitHydrated(page);
  const countdown = page.getByTestId('countdown');
  const first = Number(await countdown.getAttribute('data-seconds'));
  expect(first).toBeGreaterThan(0);
  await expect.poll(async () => Number(await countdown.getAttribute('data-seconds')), { timeout: 5_000 }).toBeLessThan(first);
});

test('Deny on the sign-in page ends on a friendly page', async ({ page }) => {
  await page.goto('/');
  await signIn(page, { deny: true });
  await expect(page).toHaveURL(/\/auth\/failed$/);
  await expect(page.getByTestId('error')).toHaveAttribute('data-kind', 'access-denied');
  await expect(page.getByTestId('error')).toHaveAttribute('data-status', '403');
  await expect(page.getByTestId('sign-in').first()).toBeVisible();
});

test('a tampered state is refused and nobody is signed in', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('sign-in').first().click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  // Answer the sign-in page without following its redirect, to get hold of the callback URL.
  const form = page.locator('form');
  const answer = await page.request.post(new URL('authorize', page.url()).toString(), {
    form: {
      pending: await form.locator('input[name=pending]').inputValue(),
      user: await form.locator('input[name=user]').first().inputValue(),
      decision: 'allow',
    },
    maxRedirects: 0,
  });
  expect(answer.status()).toBe(302);
  const callback = new URL(answer.headers()['location']);
  expect(callback.pathname).toBe('/auth/callback');
  callback.searchParams.set('state', callback.searchParams.get('state') + 'x');
  await page.goto(callback.toString());
  await expect(page).toHaveURL(/\/auth\/failed$/);
  await expect(page.getByTestId('error')).toHaveAttribute('data-kind', 'forged-callback');
  await page.goto('/dashboard');
  await expect(page.getByTestId('error')).toHaveAttribute('data-kind', 'not-signed-in');
});

test('a callback replayed after use redeems nothing, says the sign-in was completed, and leaves it standing', async ({ page }) => {
  let callback = '';
  page.on('request', (r) => {
    if (r.url().includes('/auth/callback?')) callback = r.url();
  });
  await page.goto('/');
  await signIn(page);
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.goto(callback);
  await expect(page).toHaveURL(/\/auth\/failed\?reason=completed$/);
  await expect(page.getByTestId('error')).toHaveAttribute('data-kind', 'sign-in-completed');
  await page.goto('/dashboard');
  await expect(page.getByTestId('profile-name')).toBeVisible();
});

test('logout revokes the session: the old cookie is useless', async ({ page, browser, baseURL }) => {
  await page.goto('/');
  await signIn(page);
  await expect(page.getByTestId('profile-name')).toBeVisible();
  const cookies = await page.context().cookies();
  expect(cookies.length).toBeGreaterThan(0);
  for (const c of cookies) {
    expect(c.httpOnly).toBeTruthy();
    expect(c.sameSite).toBe('Lax');
  }
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(page.getByTestId('sign-in').first()).toBeVisible();

  const replay = await browser.newContext();
  await replay.addCookies(cookies);
  const p2 = await replay.newPage();
  const r = await p2.goto('/dashboard');
  expect(r?.status()).toBe(401);
  await expect(p2.getByTestId('error')).toHaveAttribute('data-kind', 'not-signed-in');
  await replay.close();
});

test('no token reaches the page, its storage, its readable cookies, its network traffic or the log', async ({ browser }) => {
  // Debug logging: the strictest setting a developer would run with.
  const portal = await startPortal({ RUST_LOG: 'debug' });
  try {
    const context = await browser.newContext({ baseURL: portal.url });
    const page = await context.newPage();
    const traffic: string[] = [];
    const pending: Promise<void>[] = [];
    page.on('request', (r) => traffic.push(r.url(), JSON.stringify(r.headers()), r.postData() ?? ''));
    page.on('response', (r) => {
      pending.push((async () => {
        traffic.push(JSON.stringify(await r.allHeaders()));
        try {
          traffic.push(await r.text());
        } catch {
          // redirects have no body
        }
      })());
    });
    const pages: string[] = [];
    const visit = async (path: string, ready: string) => {
      await page.goto(path);
      await expect(page.getByTestId(ready).first()).toBeVisible();
      await waitHydrated(page);
      pages.push(await page.content());
    };
    await page.goto('/');
    const sandbox = await signIn(page);
    await expect(page.getByTestId('profile-name')).toBeVisible();
    await visit('/dashboard', 'profile-name');
    await visit('/users', 'user-row');
    // The service page uses the client-credentials token.
    await visit('/admin/service', 'service-client');
    // Every access token expires: the next pages refresh the user's grant (a new pair).
    expect((await page.request.post(`${sandbox}/sandbox/expire-tokens`, { headers: SANDBOX_ADMIN })).status()).toBe(204);
    await visit('/dashboard', 'profile-name');
    await visit('/users?q=a', 'user-row');
    await Promise.all(pending);
    const tokens = await issuedTokens(sandbox);
    // Sign-in (access + refresh), the refreshed pair, the service token at least.
    expect(tokens.length).toBeGreaterThanOrEqual(5);
    const storage = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, c: document.cookie }));
    expect(JSON.parse(storage).c).toBe('');
    const log = portal.log();
    expect(log.length).toBeGreaterThan(0);
    for (const t of tokens) {
      for (const html of pages) expect(html.includes(t), 'a token in a page').toBe(false);
      expect(storage.includes(t), 'a token in storage').toBe(false);
      expect(traffic.some((x) => x.includes(t)), 'a token in a URL, header or body').toBe(false);
      expect(log.includes(t), 'a token in the portal log').toBe(false);
    }
    await context.close();
  } finally {
    await portal.stop();
  }
});

test('a signed-in user survives a server restart', async ({ browser }) => {
  const portal = await startPortal();
  try {
    const context = await browser.newContext({ baseURL: portal.url });
    const page = await context.newPage();
    await page.goto('/');
    await signIn(page);
    const name = await page.getByTestId('profile-name').innerText();
    await portal.restart();
    await page.goto('/dashboard');
    await expect(page.getByTestId('profile-name')).toHaveText(name);
    await context.close();
  } finally {
    await portal.stop();
  }
});

test('an expired token is refreshed without the user noticing', async ({ page }) => {
  await page.goto('/');
  const sandbox = await signIn(page);
  await expect(page.getByTestId('profile-name')).toBeVisible();
  const before = Number(await page.getByTestId('countdown').getAttribute('data-seconds'));
  const r = await page.request.post(`${sandbox}/sandbox/expire-tokens`, { headers: SANDBOX_ADMIN });
  expect(r.ok()).toBeTruthy();
  // The portal still believes the old expiry, so force the issue: the API now answers 401 for
  // the old token until the portal refreshes. Reloading must still show the dashboard.
  await page.reload();
  await expect(page.getByTestId('profile-name')).toBeVisible();
  expect(before).toBeGreaterThan(0);
});

test('a public PKCE client without refresh tokens sends the user back through sign-in to the page they asked for', async ({ browser }) => {
  const portal = await startPortal({ SANDBOX_CLIENT: 'pkce', SANDBOX_TOKEN_LIFETIME_SECS: '3' });
  try {
    const context = await browser.newContext({ baseURL: portal.url });
    const page = await context.newPage();
    await page.goto('/');
    await signIn(page);
    await expect(page.getByTestId('profile-name')).toBeVisible();
    await expect(page.getByText('This OAuth client issues no refresh token')).toBeVisible();
    await expect.poll(async () => {
      const r = await page.request.get(`${portal.url}/users?page=2`);
      return r.status();
    }, { timeout: 15_000 }).toBe(401);
    await page.goto('/users?page=2');
    await expect(page.getByTestId('error')).toHaveAttribute('data-kind', /^(session-expired|not-signed-in)$/);
    await page.getByTestId('error').getByTestId('sign-in').click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await expect(page).toHaveURL(/\/users\?page=2$/);
    await expect(page.getByTestId('page-number')).toHaveText('2');
    await context.close();
  } finally {
    await portal.stop();
  }
});

test('a client without the users scope gets a clear 403 on the directory', async ({ browser }) => {
  const portal = await startPortal({ SANDBOX_CLIENT: 'limited' });
  try {
    const context = await browser.newContext({ baseURL: portal.url });
    const page = await context.newPage();
    await page.goto('/');
    await signIn(page);
    await expect(page.getByTestId('profile-name')).toBeVisible();
    const r = await page.goto('/users');
    expect(r?.status()).toBe(403);
    await expect(page.getByTestId('error')).toHaveAttribute('data-kind', 'missing-scope');
    await expect(page.getByTestId('error')).toContainText('users:readonly');
    await context.close();
  } finally {
    await portal.stop();
  }
});

async function noJs(browser: Browser, baseURL: string) {
  return browser.newContext({ baseURL, javaScriptEnabled: false });
}

test('sign-in, dashboard and logout work with JavaScript disabled', async ({ browser, baseURL }) => {
  const context = await noJs(browser, baseURL!);
  const page = await context.newPage();
  await page.goto('/');
  await signIn(page);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId('profile-name')).toBeVisible();
  await expect(page.getByTestId('countdown')).toBeVisible();
  await page.getByTestId('sign-out').click();
  await expect(page.getByTestId('sign-in').first()).toBeVisible();
  await context.close();
});
