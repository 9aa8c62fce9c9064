#!/usr/bin/env node
// Drives the Genesys Cloud sandbox with the official Genesys Cloud JavaScript SDK
// (purecloud-platform-client-v2), pointed at it with setGateway.
//
//   node smoke.mjs                  starts ../../target/debug/sandbox on a free port
//   node smoke.mjs --bin PATH       starts that sandbox binary
//   node smoke.mjs --url URL        uses a sandbox already running at URL
//
// Exits non-zero when any check fails; the last line reads "N passed, N failed".

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import platformClient from 'purecloud-platform-client-v2';

const here = path.dirname(fileURLToPath(import.meta.url));
const REDIRECT = 'http://127.0.0.1:3000/auth/callback';
const SERVICE = ['portal-service', 'sandbox-service-secret'];
const WEB = ['portal-web', 'sandbox-portal-secret'];
const PKCE = 'portal-pkce';

function parseArgs(argv) {
  const opts = { url: process.env.SANDBOX_URL || null, bin: path.resolve(here, '../../target/debug/sandbox') };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--url' && value) { opts.url = value; i++; }
    else if (flag === '--bin' && value) { opts.bin = path.resolve(value); i++; }
    else { throw new Error(`unknown or incomplete option ${flag}; use --url URL or --bin PATH`); }
  }
  return opts;
}

/** Starts the sandbox binary on a free port and resolves with [url, child]. */
function startSandbox(bin) {
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: run "cargo build -p sandbox" first, or pass --url`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--port', '0', '--users', '1250', '--seed', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('the sandbox did not print its URL within 20 s')), 20000);
    child.on('exit', (code) => reject(new Error(`the sandbox exited early with ${code}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve([m[1], child]);
      }
    });
  });
}

/** A fresh SDK client pointed at the sandbox (login and API on the same host). */
function sdkClient(base) {
  const client = new platformClient.ApiClientClass();
  client.setGateway({
    host: base.hostname,
    protocol: base.protocol.replace(':', ''),
    port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
    path_params_login: '',
    path_params_api: '',
  });
  client.setReturnExtendedResponses(true);
  if (process.env.SMOKE_DEBUG) {
    const http = client.getHttpClient();
    const original = http.request.bind(http);
    http.request = (o) => original(o).then(
      (r) => { console.log('   ', o.method, o.url, r.status); return r; },
      (e) => { console.log('   ', o.method, o.url, e.response && e.response.status); throw e; });
  }
  return client;
}

/** Signs a seeded user in through the sandbox's HTML form, as a browser with JS off would. */
async function signIn(base, clientId, challenge) {
  const authorize = new URL('/oauth/authorize', base);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    state: 'smoke-state',
    ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
  }).toString();
  const page = await fetch(authorize, { redirect: 'manual' });
  if (page.status !== 200) throw new Error(`authorize answered ${page.status}`);
  const html = await page.text();
  const pending = html.match(/name="pending" value="([^"]+)"/)?.[1];
  const user = html.match(/name="user" value="([^"]+)"/)?.[1];
  if (!pending || !user) throw new Error('the sign-in page has no pending id or user choice');
  const answer = await fetch(new URL('/oauth/authorize', base), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ pending, user, decision: 'allow' }).toString(),
  });
  const location = answer.headers.get('location');
  if (answer.status !== 302 || !location) throw new Error(`the sign-in form answered ${answer.status}`);
  const callback = new URL(location);
  if (callback.searchParams.get('state') !== 'smoke-state') throw new Error('state did not come back');
  return { code: callback.searchParams.get('code'), userId: user };
}

async function expectFailure(promise, status) {
  try {
    await promise;
  } catch (e) {
    if (e && e.status === status) return e;
    throw new Error(`expected HTTP ${status}, got ${e && e.status} ${JSON.stringify(e && e.body)}`);
  }
  throw new Error(`expected HTTP ${status}, but the call succeeded`);
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let child = null;
  let url = opts.url;
  if (!url) [url, child] = await startSandbox(opts.bin);
  const base = new URL(url);
  console.log(`sdk-smoke: purecloud-platform-client-v2 against ${base.origin}`);

  const results = [];
  const check = async (name, fn) => {
    const started = Date.now();
    try {
      const detail = await fn();
      results.push({ name, ok: true });
      console.log(`  ok    ${name}${detail ? ` (${detail})` : ''} [${Date.now() - started} ms]`);
    } catch (e) {
      results.push({ name, ok: false });
      console.log(`  FAIL  ${name}: ${e && e.message ? e.message : JSON.stringify(e)}`);
      if (process.env.SMOKE_DEBUG) console.log(e && e.response ? [e.config && e.config.url, e.response.status, e.response.data] : e && e.body);
    }
  };

  const service = sdkClient(base);
  const serviceUsers = new platformClient.UsersApi(service);
  const serviceTokens = new platformClient.TokensApi(service);
  let firstUser = null;

  try {
    await check('client-credentials login (loginClientCredentialsGrant)', async () => {
      const auth = await service.loginClientCredentialsGrant(...SERVICE);
      assert(auth.accessToken, 'no access token');
      assert(auth.tokenExpiryTime > Date.now(), 'expiry not in the future');
    });

    await check('getTokensMe with the client-credentials token', async () => {
      const r = await serviceTokens.getTokensMe();
      assert(r.body.OAuthClient.id === 'portal-service', `OAuthClient ${JSON.stringify(r.body.OAuthClient)}`);
      assert(r.body.authorizedScope.includes('users:readonly'), 'scope missing');
      return `scopes ${r.body.authorizedScope.join(' ')}`;
    });

    await check('getUsersMe with a client-credentials token is refused (no user)', async () => {
      const e = await expectFailure(serviceUsers.getUsersMe(), 401);
      assert(e.body && e.body.code && e.body.message, 'not a Genesys error body');
      return `${e.status} ${e.body.code}`;
    });

    await check('getUsers: every page, each user once, in name order', async () => {
      const pageSize = 100;
      const seen = new Set();
      const names = [];
      let pageNumber = 1;
      let pageCount = 1;
      let total = 0;
      do {
        const r = await serviceUsers.getUsers({ pageSize, pageNumber, state: 'any', expand: ['presence'] });
        const l = r.body;
        assert(l.pageNumber === pageNumber && l.pageSize === pageSize, 'paging fields');
        assert(l.selfUri === `/api/v2/users?pageSize=${pageSize}&pageNumber=${pageNumber}&state=any&expand=presence`, `selfUri ${l.selfUri}`);
        assert((pageNumber < l.pageCount) === Boolean(l.nextUri), 'nextUri on every page but the last');
        for (const u of l.entities) {
          assert(!seen.has(u.id), `user ${u.id} twice`);
          assert(u.presence && u.presence.presenceDefinition, 'expand=presence');
          seen.add(u.id);
          names.push(u.name.toLowerCase());
        }
        if (!firstUser) firstUser = l.entities[0];
        pageCount = l.pageCount;
        total = l.total;
        pageNumber += 1;
      } while (pageNumber <= pageCount);
      assert(seen.size === total, `${seen.size} users seen, total ${total}`);
      assert(names.every((n, i) => i === 0 || names[i - 1] <= n), 'not in name order');
      return `${pageCount} pages, ${total} users`;
    });

    await check('getUsers with pageSize 501 is a 400 with Genesys error body', async () => {
      const e = await expectFailure(serviceUsers.getUsers({ pageSize: 501 }), 400);
      assert(e.body.code === 'bad.request' && e.body.contextId, JSON.stringify(e.body));
    });

    await check('getUser', async () => {
      const r = await serviceUsers.getUser(firstUser.id, { expand: ['presence'] });
      assert(r.body.id === firstUser.id && r.body.name === firstUser.name, 'another user');
      assert(r.headers['inin-correlation-id'], 'no inin-correlation-id');
      assert(r.headers['inin-ratelimit-allowed'], 'no inin-ratelimit-allowed');
    });

    const serviceSearch = new platformClient.SearchApi(service);
    const searchOf = (query, extra = {}) => serviceSearch.postUsersSearch({ pageSize: 25, pageNumber: 1, sortOrder: 'ASC', sortBy: 'name', query, ...extra });
    await check('postUsersSearch with every query type, operator and group', async () => {
      const totals = [];
      for (const query of [
        [{ type: 'EXACT', fields: ['id'], value: firstUser.id }],
        [{ type: 'CONTAINS', fields: ['name', 'email'], value: 'silva' }],
        [{ type: 'STARTS_WITH', fields: ['name'], value: 'ana' }],
        [{ type: 'QUERY_STRING', value: 'silva' }],
        [{ type: 'TERM', fields: ['name'], value: 'silva' }],
        [{ type: 'TERMS', fields: ['name'], values: ['silva', 'wang'] }],
        [{ type: 'MATCH_ALL' }],
        [{ type: 'REQUIRED_FIELDS', fields: ['name', 'email'] }],
        [{ type: 'RANGE', fields: ['name'], startValue: 'b', endValue: 'd' }],
        [{ type: 'LESS_THAN', fields: ['name'], value: 'c' }],
        [{ type: 'GREATER_THAN', fields: ['name'], value: 't' }],
        [{ type: 'LESS_THAN_EQUAL_TO', fields: ['name'], value: 'c' }],
        [{ type: 'GREATER_THAN_EQUAL_TO', fields: ['name'], value: 't' }],
        [{ group: [{ type: 'TERM', fields: ['name'], value: 'silva', operator: 'OR' }, { type: 'TERM', fields: ['name'], value: 'wang', operator: 'OR' }] },
          { type: 'STARTS_WITH', fields: ['name'], value: 'z', operator: 'NOT' }],
      ]) {
        const r = await searchOf(query, { expand: ['presence'] });
        const b = r.body;
        assert(b.total > 0 && b.results.length > 0, `${JSON.stringify(query)}: nothing found`);
        assert(b.pageSize === 25 && b.pageNumber === 1 && b.types[0] === 'users', 'answer shape');
        assert(b.results.every((u) => u.presence && u.presence.presenceDefinition), 'expand=presence');
        totals.push(b.total);
      }
      assert(totals[0] === 1, `EXACT on id found ${totals[0]}`);
      return `totals ${totals.join(' ')}`;
    });

    await check('getUsersSearch follows the q64 nextPage link of a search', async () => {
      const first = (await searchOf([{ type: 'CONTAINS', fields: ['name'], value: 'a' }])).body;
      assert(first.nextPage, 'no nextPage');
      const q64 = new URL(first.nextPage, base).searchParams.get('q64');
      const second = (await serviceSearch.getUsersSearch(q64)).body;
      assert(second.pageNumber === 2 && second.total === first.total, `page ${second.pageNumber}`);
      const ids = new Set(first.results.map((u) => u.id));
      assert(second.results.every((u) => !ids.has(u.id)), 'page 2 repeats page 1');
      return `${first.total} found, ${first.pageCount} pages`;
    });

    await check("postUsersSearch with a listing's sortOrder is Genesys' 400", async () => {
      const e = await expectFailure(searchOf([{ type: 'MATCH_ALL' }], { sortOrder: 'ascending' }), 400);
      assert(e.body.code === 'bad.request' && e.body.contextId, JSON.stringify(e.body));
    });

    await check('getUsers by jabberId, and every modelled expand', async () => {
      const expand = ['presence', 'routingStatus', 'geolocation', 'station', 'authorization', 'dateLastLogin'];
      const l = (await serviceUsers.getUsers({ pageSize: 10, expand })).body;
      const u = l.entities[0];
      assert(u.chat.jabberId && u.primaryContactInfo[0].mediaType === 'EMAIL' && Array.isArray(u.addresses), 'profile fields');
      assert(u.routingStatus.status && u.geolocation.city && u.authorization.roles.length && u.station, 'expand fields');
      const found = (await serviceUsers.getUsers({ jabberId: [u.chat.jabberId] })).body;
      assert(found.entities.length === 1 && found.entities[0].id === u.id, 'jabberId filter');
      await expectFailure(serviceUsers.getUsers({ id: [u.id], jabberId: [u.chat.jabberId] }), 400);
      return u.chat.jabberId;
    });

    const web = sdkClient(base);
    let signedInAs = null;
    await check('code authorization login through the sign-in form (loginCodeAuthorizationGrant)', async () => {
      const { code, userId } = await signIn(base, WEB[0], null);
      signedInAs = userId;
      const auth = await web.loginCodeAuthorizationGrant(WEB[0], WEB[1], code, REDIRECT);
      assert(auth.accessToken && auth.refreshToken, 'no access or refresh token');
    });

    await check('getUsersMe with the user token', async () => {
      const r = await new platformClient.UsersApi(web).getUsersMe({ expand: ['presence'] });
      assert(r.body.id === signedInAs, `signed in as ${signedInAs}, got ${r.body.id}`);
      return r.body.name;
    });

    await check('getTokensMe with the user token', async () => {
      const r = await new platformClient.TokensApi(web).getTokensMe();
      assert(r.body.OAuthClient.id === WEB[0], 'wrong client');
    });

    await check('expired access token is refreshed by the SDK (refresh rotation)', async () => {
      const before = web.authData.refreshToken;
      const r = await fetch(new URL('/sandbox/expire-tokens', base), { method: 'POST', headers: { 'X-Sandbox-Admin': '1' } });
      assert(r.status === 204, `expire-tokens answered ${r.status}`);
      const users = new platformClient.UsersApi(web);
      // SDK 262 starts the refresh on a 401 but rejects that first call anyway (its callApi
      // falls through to reject); the refresh finishes in the background.
      let first = 'succeeded';
      try {
        await users.getUsersMe();
      } catch (e) {
        first = `failed with ${e.status || (e.response && e.response.status)}`;
      }
      for (let i = 0; i < 100 && web.authData.refreshToken === before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert(web.authData.refreshToken && web.authData.refreshToken !== before, 'refresh token not rotated');
      const me = await users.getUsersMe();
      assert(me.body.id === signedInAs, 'another user after refresh');
      return `first call ${first}`;
    });

    const pkce = sdkClient(base);
    await check('PKCE login with the SDK helpers (generatePKCECodeVerifier, authorizePKCEGrant)', async () => {
      const verifier = pkce.generatePKCECodeVerifier(64);
      const challenge = await pkce.computePKCECodeChallenge(verifier);
      const { code } = await signIn(base, PKCE, challenge);
      const auth = await pkce.authorizePKCEGrant(PKCE, verifier, code, REDIRECT);
      assert(auth.accessToken, 'no access token');
      const me = await new platformClient.UsersApi(pkce).getUsersMe();
      assert(me.body.id, 'no user');
    });

    await check('deleteTokensMe revokes the token', async () => {
      const tokens = new platformClient.TokensApi(pkce);
      await tokens.deleteTokensMe();
      await expectFailure(tokens.getTokensMe(), 401);
    });
  } finally {
    if (child) child.kill('SIGINT');
  }

  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`sdk-smoke: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((e) => {
  console.error(`sdk-smoke: ${e && e.message ? e.message : e}`);
  process.exitCode = 1;
});
