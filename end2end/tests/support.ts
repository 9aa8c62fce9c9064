// Shared helpers: start extra portal instances with their own settings and data, and walk
// through the sandbox's sign-in page.
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

const root = resolve(__dirname, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

export interface Portal {
  url: string;
  dataDir: string;
  port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Everything the portal has written to stdout and stderr since it (re)started. */
  log(): string;
}

async function waitHealthy(url: string, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`portal exited (${child.exitCode}):\n${log()}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`portal did not become healthy:\n${log()}`);
}

/** Starts the built portal binary on a free port with `env` added. */
export async function startPortal(env: Record<string, string> = {}, dataDir?: string): Promise<Portal> {
  const bin = process.env.PORTAL_BIN ?? join(root, 'target', 'debug', 'genesys-portal');
  const port = await freePort();
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'portal-e2e-'));
  let child: ChildProcess;
  let output = '';
  const url = `http://127.0.0.1:${port}`;
  const launch = async () => {
    output = '';
    child = spawn(bin, [], {
      cwd: root,
      env: {
        ...process.env,
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? 'target/site',
        LEPTOS_OUTPUT_NAME: 'genesys-portal',
        LEPTOS_SITE_PKG_DIR: 'pkg',
        PORTAL_DATA_DIR: dir,
        RUST_LOG: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    await waitHealthy(url, child, () => output);
  };
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  await launch();
  return { url, dataDir: dir, port, stop, restart: async () => { await stop(); await launch(); }, log: () => output };
}

/** The header the sandbox's admin endpoint requires (a cross-site page cannot send it). */
export const SANDBOX_ADMIN = { 'X-Sandbox-Admin': '1' };

/** The raw access and refresh tokens a sandbox has issued (its loopback-only test hook). */
export async function issuedTokens(sandboxOrigin: string): Promise<string[]> {
  const r = await fetch(`${sandboxOrigin}/sandbox/issued-tokens`, { headers: SANDBOX_ADMIN });
  if (!r.ok) throw new Error(`issued-tokens answered ${r.status}`);
  return (await r.json()).tokens;
}

/** Clicks "Sign in with Genesys Cloud" and answers the sandbox's sign-in page. */
export async function signIn(page: Page, opts: { deny?: boolean; username?: string } = {}) {
  await page.getByTestId('sign-in').first().click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  const sandboxOrigin = new URL(page.url()).origin;
  if (opts.username) await page.getByLabel('Or type a username').fill(opts.username);
  await page.getByRole('button', { name: opts.deny ? 'Deny' : 'Allow' }).click();
  return sandboxOrigin;
}

/** The name of the first user offered on the sandbox's sign-in page. */
export async function firstOfferedName(page: Page): Promise<string> {
  return (await page.locator('label.user .name').first().innerText()).trim();
}

export async function waitHydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** Opens an invitation link as the guest would: the link's page, then its Continue button. */
export async function openInvitation(page: Page, link: string) {
  const shown = await page.goto(link);
  expect(shown?.status()).toBe(200);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === link),
    page.getByTestId('invitation-continue').click(),
  ]);
  return answer;
}

/** Provisions a guest as the signed-in staff member; returns the invitation link shown once. */
export async function provision(page: Page, given: string, family: string, email: string): Promise<string> {
  await page.goto('/guests');
  await page.getByTestId('guest-given-name').fill(given);
  await page.getByTestId('guest-family-name').fill(family);
  await page.getByTestId('guest-email').fill(email);
  await page.getByTestId('guest-attributes').fill('tier=gold\naccount=A-1001');
  await page.getByTestId('guest-create').click();
  await expect(page).toHaveURL(/\/guests\/[^/]+$/);
  await expect(page.getByTestId('guest-detail-name')).toHaveText(`${given} ${family}`);
  const link = await page.getByTestId('invitation-link').inputValue();
  expect(link).toMatch(/\/guest-idp\/invite\/[A-Za-z0-9_-]{22,}$/);
  return link;
}

// Accessibility checks (axe-core) shared by the specs.
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** axe on the page as it is now; the failure lists each rule with the nodes it found. */
export async function axe(page: Page, what: string) {
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`,
  );
  expect(found, `${what}: axe-core violations`).toEqual([]);
}

/** The page is no wider than the window: nothing scrolls sideways. */
export async function fitsWidth(page: Page, what: string) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  expect(scroll, `${what}: the page is ${scroll}px wide in a ${width}px window`).toBeLessThanOrEqual(width);
}

/** Checks the page at desktop and phone width, light and dark; leaves it at desktop, light. */
export async function checkEverywhere(page: Page, what: string) {
  // A redirect still under way would pull the page from under axe.
  await page.waitForLoadState('networkidle');
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await page.setViewportSize({ width: 1280, height: 900 });
    await axe(page, `${what} (${colorScheme}, 1280 px)`);
    await page.setViewportSize({ width: 390, height: 844 });
    await fitsWidth(page, `${what} (${colorScheme})`);
    await axe(page, `${what} (${colorScheme}, 390 px)`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 900 });
}

