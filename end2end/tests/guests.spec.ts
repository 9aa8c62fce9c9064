import { test, expect, Page } from '@playwright/test';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SANDBOX_ADMIN, openInvitation, provision, signIn, waitHydrated } from './support';


test('an admin provisions a guest, who signs in once through the invitation link', async ({ page, browser }) => {
  await page.goto('/');
  await signIn(page);
  await expect(page.getByRole('link', { name: 'Guests' })).toBeVisible();
  const link = await provision(page, 'Zoë', 'Okafor', `zoe.okafor+${Date.now()}@example.com`);
  await expect(page.getByTestId('guest-audit')).toContainText('created');
  // Each line names the portal replica that recorded it (the host name by default).
  await expect(page.getByTestId('guest-audit-replica').first()).toHaveText(/ · on \S+/);
  // Shown once: reloading the staff page does not show it again.
  await page.reload();
  await expect(page.getByTestId('invitation-link')).toHaveCount(0);

  const guest = await browser.newContext();
  const guestPage = await guest.newPage();
  expect((await openInvitation(guestPage, link)).status()).toBe(303);
  await expect(guestPage).toHaveURL(/\/guest$/);
  await expect(guestPage.getByTestId('guest-signed-in-as')).toHaveText('Zoë Okafor');
  await guest.close();

  // The link works once.
  const again = await browser.newContext();
  const againPage = await again.newPage();
  expect((await openInvitation(againPage, link)).status()).toBe(410);
  await againPage.goto('/guest');
  await expect(againPage.getByTestId('guest-signed-out')).toBeVisible();
  await again.close();

  // The list finds the guest.
  await page.goto('/guests?q=okafor');
  await expect(page.getByTestId('guest-name').first()).toHaveText('Zoë Okafor');
});

test('a disabled guest is refused at the invitation link', async ({ page, browser }) => {
  await page.goto('/');
  await signIn(page);
  const link = await provision(page, 'Iker', 'Basterra', `iker.basterra+${Date.now()}@example.com`);
  await page.getByTestId('guest-toggle').click();
  await expect(page.getByTestId('guest-state')).toHaveText('disabled');
  await expect(page.getByTestId('guest-audit')).toContainText('disabled');

  const guest = await browser.newContext();
  const guestPage = await guest.newPage();
  expect((await openInvitation(guestPage, link)).status()).toBe(403);
  await guestPage.goto('/guest');
  await expect(guestPage.getByTestId('guest-signed-out')).toBeVisible();
  await guest.close();
});

test('an admin rotates the guest signing key and the JWKS keeps the old one', async ({ page, request }) => {
  await page.goto('/');
  await signIn(page);
  await page.goto('/admin/service');
  const before = (await page.getByTestId('guest-signing-kid').innerText()).trim();
  await waitHydrated(page);
  await page.getByTestId('rotate-guest-key').click();
  await expect(page.getByTestId('guest-signing-kid')).not.toHaveText(before);
  const after = (await page.getByTestId('guest-signing-kid').innerText()).trim();
  const jwks = await (await request.get('/guest-idp/jwks')).json();
  const kids = jwks.keys.map((k: { kid: string }) => k.kid);
  expect(kids).toContain(before);
  expect(kids).toContain(after);
});

test('a guest chats with the sandbox agent as themselves, the history survives a reload and a cut connection, and staff can end the session', async ({ page, browser }) => {
  await page.goto('/');
  const sandbox = await signIn(page);
  const link = await provision(page, 'Amara', 'Nwosu', `amara.nwosu+${Date.now()}@example.com`);
  const guest = await browser.newContext();
  const guestPage = await guest.newPage();
  expect((await openInvitation(guestPage, link)).status()).toBe(303);
  await expect(guestPage.getByTestId('guest-signed-in-as')).toHaveText('Amara Nwosu');
  // Sign-in at the provider (PKCE, nonce), the code exchanged at Genesys, back on the page.
  await guestPage.getByTestId('chat-start').click();
  await expect(guestPage).toHaveURL(/\/guest$/);
  await waitHydrated(guestPage);
  await expect(guestPage.getByTestId('chat-status')).toHaveText('Connected');
  // The agent greets the guest by the name the provider vouched for.
  await expect(guestPage.getByTestId('chat-text').first()).toContainText('Amara');
  await expect(guestPage.getByTestId('agent-present')).toBeVisible();
  await guestPage.getByTestId('chat-input').fill('Where is my parcel?');
  await guestPage.getByTestId('chat-send').click();
  await expect(guestPage.getByTestId('chat-text').filter({ hasText: 'Where is my parcel?' }).first()).toBeVisible();
  const lines = guestPage.getByTestId('chat-line');
  await expect(lines).toHaveCount(3);
  await expect(lines.nth(2)).toContainText('Where is my parcel?');
  // No token in the page's storage or markup.
  const stored = await guestPage.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  expect(stored).toBe('{}{}');
  // Reload: the same gateway session, its history replayed.
  await guestPage.reload();
  await waitHydrated(guestPage);
  await expect(guestPage.getByTestId('chat-status')).toHaveText('Connected');
  await expect(guestPage.getByTestId('chat-line')).toHaveCount(3);
  await expect(guestPage.getByTestId('chat-text').nth(1)).toHaveText('Where is my parcel?');
  // The connection is cut (the gateway drops the socket at the next frame, without a close):
  // the page reconnects and what the guest sent meanwhile is not lost.
  const faults = (rate: number) => page.request.put(`${sandbox}/sandbox/faults`, { data: { socketDropRate: rate }, headers: SANDBOX_ADMIN });
  expect((await faults(1)).ok()).toBeTruthy();
  await guestPage.getByTestId('chat-input').fill('Still there?');
  await guestPage.getByTestId('chat-send').click();
  await expect(guestPage.getByTestId('chat-status')).toContainText('reconnecting');
  expect((await faults(0)).ok()).toBeTruthy();
  await expect(guestPage.getByTestId('chat-status')).toHaveText('Connected', { timeout: 20_000 });
  await expect(guestPage.getByTestId('chat-line')).toHaveCount(5);
  await expect(guestPage.getByTestId('chat-text').nth(3)).toHaveText('Still there?');
  // Staff end the guest's messaging session from the guest's page: the guest's socket is
  // logged out and the page says so.
  await waitHydrated(page);
  await page.getByTestId('guest-end-chats').click();
  await expect(page.getByTestId('guest-chats-ended')).toHaveText('Ended 1 messaging session(s).');
  await expect(guestPage.getByTestId('chat-status')).toHaveText('Your messaging session has ended.');
  await guestPage.reload();
  await expect(guestPage.getByTestId('chat-start')).toBeVisible();
  // A new conversation, then staff disable the guest: it ends at once, not when the jwt
  // next needs the provider, and the guest is signed out of the provider.
  await guestPage.getByTestId('chat-start').click();
  await waitHydrated(guestPage);
  await expect(guestPage.getByTestId('chat-status')).toHaveText('Connected');
  await page.reload();
  await page.getByTestId('guest-toggle').click();
  await expect(page.getByTestId('guest-state')).toHaveText('disabled');
  await expect(guestPage.getByTestId('chat-status')).toHaveText('Your messaging session has ended.');
  await guestPage.reload();
  await expect(guestPage.getByTestId('guest-signed-out')).toBeVisible();
  await guest.close();
});

// The official Genesys Cloud JavaScript SDK (installed for the SDK smoke test) calls the
// sandbox's three Web Messaging token endpoints with a real code from the portal's provider,
// the way a Messenger integration would: exchange, refresh, revoke.
test('the official SDK WebDeploymentsApi exchanges a provider code, refreshes and revokes the jwt', async ({ page, browser, baseURL }) => {
  const sdkRequire = createRequire(join(__dirname, '..', '..', 'sandbox', 'sdk-smoke', 'package.json'));
  const platformClient = sdkRequire('purecloud-platform-client-v2');
  await page.goto('/');
  const sandbox = new URL(await signIn(page));
  const link = await provision(page, 'Tomás', 'Reyes', `tomas.reyes+${Date.now()}@example.com`);
  const guest = await browser.newContext();
  const guestPage = await guest.newPage();
  expect((await openInvitation(guestPage, link)).status()).toBe(303);

  // The guest's authorization at the provider: PKCE S256 and a nonce, as the Messenger sends.
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const redirectUri = new URL('/guest/callback', baseURL).toString();
  const discovery = await (await guest.request.get('/guest-idp/.well-known/openid-configuration')).json();
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: 'genesys-webmessaging',
    redirect_uri: redirectUri,
    scope: 'openid email profile offline_access',
    state: 'sdk-state',
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const answer = await guest.request.get(authorize.toString(), { maxRedirects: 0 });
  expect([302, 303]).toContain(answer.status());
  const back = new URL(answer.headers()['location']);
  expect(back.searchParams.get('state')).toBe('sdk-state');
  const code = back.searchParams.get('code');
  expect(code).toBeTruthy();
  await guest.close();

  const client = new platformClient.ApiClientClass();
  client.setGateway({
    host: sandbox.hostname,
    protocol: sandbox.protocol.replace(':', ''),
    port: Number(sandbox.port),
    path_params_login: '',
    path_params_api: '',
  });
  const api = new platformClient.WebDeploymentsApi(client);
  // The sandbox's seeded deployment (sandbox::WEB_DEPLOYMENT_ID), as its public config says.
  const deploymentId = '5b8c3a2e-7f41-4d0a-9c6e-2f1b8d4e6a70';
  const config = await page.request.get(`${sandbox.origin}/webdeployments/v1/deployments/${deploymentId}/config.json`);
  expect(config.ok()).toBeTruthy();

  const exchanged = await api.postWebdeploymentsTokenOauthcodegrantjwtexchange({
    deploymentId,
    oauth: { code, redirectUri, nonce, codeVerifier: verifier },
  });
  expect(exchanged.jwt.split('.')).toHaveLength(3);
  expect(exchanged.refreshToken).toBeTruthy();
  const claims = JSON.parse(Buffer.from(exchanged.jwt.split('.')[1], 'base64url').toString());
  expect(claims.exp - claims.iat).toBeLessThanOrEqual(15 * 60);

  // The same code a second time is refused with a Genesys error body.
  const again = await api
    .postWebdeploymentsTokenOauthcodegrantjwtexchange({ deploymentId, oauth: { code, redirectUri, nonce, codeVerifier: verifier } })
    .then(() => null, (e: { status: number; code?: string; message?: string; contextId?: string }) => e);
  expect(again?.status).toBe(401);
  expect(again?.code).toBe('bad.credentials');
  expect(again?.message).toContain('already used');
  expect(again?.contextId).toBeTruthy();

  const refreshed = await api.postWebdeploymentsTokenRefresh({ body: { refreshToken: exchanged.refreshToken, deploymentId } });
  expect(refreshed.jwt.split('.')).toHaveLength(3);
  expect(refreshed.jwt).not.toBe(exchanged.jwt);

  client.setAccessToken(refreshed.jwt);
  await api.deleteWebdeploymentsTokenRevoke();
  // Revoked: the refresh token is dead too.
  const dead = await api
    .postWebdeploymentsTokenRefresh({ body: { refreshToken: exchanged.refreshToken, deploymentId } })
    .then(() => null, (e: { status: number }) => e);
  expect(dead?.status).toBe(401);
});
