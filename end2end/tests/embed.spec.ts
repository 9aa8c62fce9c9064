// The portal as a Genesys Cloud Client App: a host page on a second loopback origin plays
// Genesys' apps host and frames the portal with Genesys' iframe sandbox and an interpolated
// URL. Chromium blocks third-party cookies here (checked below), so the frame only works
// through the popup sign-in and the partitioned cookie.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { test, expect, Page, Frame, BrowserContext } from '@playwright/test';
import { axe, checkEverywhere, fitsWidth, provision, openInvitation, signIn, startPortal, waitHydrated, SANDBOX_ADMIN, Portal } from './support';

const SANDBOX_ATTRS = 'allow-forms allow-modals allow-popups allow-same-origin allow-scripts allow-downloads';

interface Host {
  origin: string;
  server: Server;
}

/** A page on `ip` that frames `?src=` the way Genesys does, 320 px wide (a sidebar). */
async function startHost(ip: string): Promise<Host> {
  const server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
    const esc = src.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!DOCTYPE html><html lang="en"><head><title>Genesys Cloud (test host)</title></head><body>
      <nav aria-label="Genesys Cloud"><h1>Test host</h1></nav>
      <aside aria-label="Apps"><iframe id="app" title="genesys-portal" src="${esc}" sandbox="${SANDBOX_ATTRS}" style="width:320px;height:720px;border:1px solid #ccc"></iframe></aside>
      </body></html>`);
  });
  await new Promise<void>((ok) => server.listen(0, ip, ok));
  const port = (server.address() as AddressInfo).port;
  return { origin: `http://${ip}:${port}`, server };
}

let host: Host;
let evil: Host;
let portal: Portal;

test.beforeAll(async () => {
  host = await startHost('127.0.0.2');
  evil = await startHost('127.0.0.3');
  portal = await startPortal({ PORTAL_EMBED: 'true', PORTAL_EMBED_ORIGINS: host.origin });
});

test.afterAll(async () => {
  await portal?.stop();
  host?.server.close();
  evil?.server.close();
});

function entry(params: Record<string, string>): string {
  const q = new URLSearchParams({ gcHostOrigin: host.origin, gcTargetEnv: 'local', gcLangTag: 'en-US', ...params });
  return `${portal.url}/embed?${q}`;
}

async function framed(page: Page, src: string, hostOrigin = host.origin): Promise<Frame> {
  await page.goto(`${hostOrigin}/?src=${encodeURIComponent(src)}`);
  const handle = await page.locator('#app').elementHandle();
  const frame = await handle!.contentFrame();
  return frame!;
}

/** The agent signs in inside the frame through the popup; returns the frame, on its landing page. */
async function signInFramed(page: Page, context: BrowserContext, src: string): Promise<Frame> {
  const frame = await framed(page, src);
  await expect(frame.getByTestId('embed-signin')).toBeVisible();
  const [popup] = await Promise.all([context.waitForEvent('page'), frame.getByTestId('embed-signin').click()]);
  // The popup is top-level: the sandbox's sign-in page, then back to the portal, which hands the
  // sign-in to the frame and closes.
  await expect(popup.getByRole('button', { name: 'Allow' })).toBeVisible({ timeout: 5000 }).catch(async (e) => {
    throw new Error(`popup at ${popup.url()}: ${await popup.content()}`);
  });
  await popup.getByRole('button', { name: 'Allow' }).click();
  await popup.waitForEvent('close');
  await expect(frame.locator('body[data-hydrated="true"]')).toHaveCount(1);
  return frame;
}

test('inside the host frame, with third-party cookies blocked, the agent signs in through the popup and uses the dashboard and directory', async ({ page, context }) => {
  const frame = await signInFramed(page, context, entry({ gcUseDarkTheme: 'true', gcLangTag: 'de-DE' }));
  await expect(frame.getByTestId("profile-name")).toBeVisible();
  // The host's theme and language.
  await expect(frame.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(frame.locator('html')).toHaveAttribute('lang', 'de-DE');
  // The frame's session cookie is partitioned under the host; no unpartitioned cookie of the
  // portal reaches the frame (the browser blocks third-party cookies).
  const cookies = await context.cookies(portal.url);
  const framedCookie = cookies.find((c) => c.name === '__Host-portal-embed');
  expect(framedCookie?.partitionKey).toBe('http://127.0.0.2');
  expect(framedCookie?.sameSite).toBe('None');
  expect(framedCookie?.httpOnly).toBe(true);
  // No token crossed into the frame's storage.
  // (Chromium may deny a third-party frame its storage altogether: nothing stored either way.)
  const stored = await frame.evaluate(() => {
    try {
      return JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage });
    } catch {
      return 'no storage';
    }
  });
  expect(['{}{}', 'no storage']).toContain(stored);
  // The directory, inside the frame, at sidebar width.
  await frame.getByRole('link', { name: 'Directory' }).click();
  await expect(frame.getByTestId('user-row').first()).toBeVisible();
  const wide = await frame.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(wide).toBeLessThanOrEqual(0);
  // The same portal opened top-level is another browsing context: not signed in there, and
  // the framed cookie is not sent (it belongs to the host's partition).
  const top = await context.newPage();
  await top.goto(`${portal.url}/dashboard`);
  await expect(top.getByTestId('sign-in').first()).toBeVisible();
  await top.close();
  // Signing out inside the frame lands on a page the host may frame.
  await frame.getByTestId('sign-out').click();
  await expect(frame.getByTestId('embed-signed-out')).toBeVisible();
});

test('the frame says so when the popup is blocked, and the button opens it afterwards', async ({ page, context }) => {
  await context.addInitScript(() => {
    // The first attempt is blocked, as a pop-up blocker would.
    const open = window.open.bind(window);
    let blocked = 1;
    window.open = (...args: Parameters<typeof window.open>) => (blocked-- > 0 ? null : open(...args));
  });
  const frame = await framed(page, entry({}));
  await frame.getByTestId('embed-signin').click();
  await expect(frame.getByTestId('embed-status')).toHaveAttribute('data-state', 'blocked');
  await expect(frame.getByTestId('embed-status')).toContainText('blocked the sign-in window');
  await expect(frame.getByTestId('embed-signin')).toBeFocused();
  const [popup] = await Promise.all([context.waitForEvent('page'), frame.getByTestId('embed-signin').click()]);
  await expect(popup.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await popup.close();
});

test('a host not on the allow-list cannot frame the portal: the browser blocks it by CSP', async ({ page }) => {
  const blocked = page.waitForEvent('console', (m) => m.type() === 'error'
    && /violates the following Content Security Policy directive: "frame-ancestors/.test(m.text()));
  const failed = page.waitForEvent('requestfailed', (r) => r.url().startsWith(`${portal.url}/embed`));
  await page.goto(`${evil.origin}/?src=${encodeURIComponent(entry({ gcHostOrigin: evil.origin }))}`);
  await blocked;
  expect((await failed).failure()?.errorText).toBe('net::ERR_BLOCKED_BY_RESPONSE');
  await expect(page.frameLocator('#app').getByTestId('embed-signin')).toHaveCount(0);
  // Pages outside the embedded entry stay unframeable even for the allowed host.
  const home = page.waitForEvent('console', (m) => m.type() === 'error' && /frame-ancestors 'none'|X-Frame-Options/.test(m.text()));
  await page.goto(`${host.origin}/?src=${encodeURIComponent(`${portal.url}/`)}`);
  await home;
});

test('a forged gcHostOrigin and another region\'s gcTargetEnv are refused with what was wrong', async ({ page }) => {
  let frame = await framed(page, entry({ gcHostOrigin: 'https://evil.example' }));
  await expect(frame.getByTestId('embed-error')).toContainText('`https://evil.example` may not frame this portal');
  await expect(frame.getByTestId('embed-signin')).toHaveCount(0);
  frame = await framed(page, entry({ gcTargetEnv: 'prod-euw1' }));
  await expect(frame.getByTestId('embed-error')).toContainText('not `prod-euw1`');
  frame = await framed(page, entry({ gcLangTag: '<script>' }));
  await expect(frame.getByTestId('embed-error')).toContainText('is not a language tag');
});

test('the interaction widget shows the verified guest of a conversation a guest chat created', async ({ page, context, browser }) => {
  // Staff provisions a guest; the guest starts an authenticated chat.
  const staff = await browser.newContext({ baseURL: portal.url });
  const staffPage = await staff.newPage();
  await staffPage.goto(`${portal.url}/`);
  const sandbox = await signIn(staffPage);
  const email = `ines.moreau+${Date.now()}@example.com`;
  const link = await provision(staffPage, 'Inès', 'Moreau', email);
  const guest = await browser.newContext({ baseURL: portal.url });
  const guestPage = await guest.newPage();
  await openInvitation(guestPage, link);
  await guestPage.getByTestId('chat-start').click();
  await waitHydrated(guestPage);
  await expect(guestPage.getByTestId('chat-status')).toHaveText('Connected');
  // Genesys fills {{gcConversationId}}; the sandbox's admin listing tells the test which it is.
  const listed = await (await fetch(`${sandbox}/sandbox/conversations`, { headers: SANDBOX_ADMIN })).json();
  const conversation = listed.conversations.find((c: { participants: { name?: string }[] }) =>
    c.participants.some((p) => p.name === 'Inès Moreau'));
  expect(conversation).toBeTruthy();
  const frame = await signInFramed(page, context, entry({ gcConversationId: conversation.id }));
  await expect(frame.getByTestId('customer-name')).toHaveText('Inès Moreau');
  await expect(frame.getByTestId('verified-guest')).toBeVisible();
  await expect(frame.getByTestId('guest-name')).toHaveText('Inès Moreau');
  await expect(frame.getByTestId('guest-email')).toHaveText(email);
  await expect(frame.getByTestId('guest-attr-tier')).toHaveText('gold');
  await expect(frame.getByTestId('conversation-state')).toHaveText('connected');
  await axe(page, 'interaction widget');
  // Opening the app again for the same agent (Genesys reloads the frame): no second sign-in.
  const again = await framed(page, entry({ gcConversationId: conversation.id }));
  await expect(again.getByTestId('customer-name')).toHaveText('Inès Moreau');
  // An unknown conversation is Genesys' 404, said plainly.
  const missing = await framed(page, entry({ gcConversationId: '00000000-0000-4000-8000-000000000000' }));
  await expect(missing.getByTestId('error')).toBeVisible();
  await staff.close();
  await guest.close();
});

test('the embedded pages: no axe-core violation, light or dark, and each fits a 300 px sidebar', async ({ page, context }) => {
  test.setTimeout(120_000);
  const pages: [string, string][] = [
    [entry({}), 'embedded sign-in'],
    [entry({ gcHostOrigin: 'https://evil.example' }), 'embedded refusal'],
    [`${portal.url}/embed/popup?frame=stale`, 'stale sign-in window'],
    [`${portal.url}/embed/signed-out`, 'embedded signed out'],
  ];
  for (const [url, what] of pages) {
    await page.goto(url);
    await checkEverywhere(page, what);
    await page.setViewportSize({ width: 300, height: 700 });
    await fitsWidth(page, `${what} at 300 px`);
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  // Signed in, inside the host's frame (axe reads the frame through the host page), in the
  // host's dark theme.
  const frame = await signInFramed(page, context, entry({ gcUseDarkTheme: 'true' }));
  await expect(frame.getByTestId('profile-name')).toBeVisible();
  await axe(page, 'framed dashboard, dark');
  await frame.getByRole('link', { name: 'Directory' }).click();
  await expect(frame.getByTestId('user-row').first()).toBeVisible();
  await axe(page, 'framed directory, dark');
});
