// Every page, anonymous and signed in, the guest's included: zero axe-core violations (WCAG 2.1
// A and AA, and axe's best practices) in the light and the dark colour scheme, and at a phone's
// 390 px no page scrolls sideways. Then the sign-in and directory flows by keyboard alone.
import { test, expect, Page } from '@playwright/test';
import { checkEverywhere, openInvitation, provision, signIn, waitHydrated } from './support';

test('every anonymous page: no axe-core violation, light or dark, and none scrolls sideways at 390 px', async ({ page }) => {
  await page.goto('/');
  await waitHydrated(page);
  await checkEverywhere(page, 'landing');
  await page.goto('/no-such-page');
  await checkEverywhere(page, '404');
  await page.goto('/guest');
  await checkEverywhere(page, 'guest, signed out');
  await page.goto('/');
  await page.getByTestId('sign-in').first().click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await checkEverywhere(page, 'the sandbox sign-in page');
  await page.getByRole('button', { name: 'Deny' }).click();
  await expect(page).toHaveURL(/\/auth\/failed/);
  await checkEverywhere(page, 'sign-in failed');
});

test('every signed-in page: no axe-core violation, light or dark, and none scrolls sideways at 390 px', async ({ page, browser }) => {
  test.setTimeout(180_000);
  await page.goto('/');
  await signIn(page);
  await expect(page.getByTestId('profile-name')).toBeVisible();
  await waitHydrated(page);
  await checkEverywhere(page, 'dashboard');
  await page.goto('/users');
  await expect(page.getByTestId('user-row').first()).toBeVisible();
  await waitHydrated(page);
  await checkEverywhere(page, 'directory');
  await page.goto('/users?q=smith');
  await expect(page.getByTestId('user-row').first()).toBeVisible();
  await waitHydrated(page);
  await page.waitForLoadState('networkidle');
  await checkEverywhere(page, 'directory with a search');
  await page.goto('/users?q=no-such-person-anywhere');
  await expect(page.getByTestId('empty')).toBeVisible();
  await checkEverywhere(page, 'directory, nothing found');
  await page.goto('/users');
  await page.getByTestId('user-name').first().click();
  await expect(page).toHaveURL(/\/users\/[0-9a-f-]{36}$/);
  await checkEverywhere(page, 'user detail');
  await page.goto('/users');
  await page.getByTestId('export').click();
  await expect(page).toHaveURL(/\/users\/export\/[0-9a-f]+$/);
  // The page on its own load too (once, this page reloaded itself after a client-side
  // navigation: directory.spec.ts guards that bug).
  await page.goto(page.url());
  await expect(page.getByTestId('export-status')).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await checkEverywhere(page, 'export');
  await page.goto('/admin/service');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await waitHydrated(page);
  await checkEverywhere(page, 'service');
  const link = await provision(page, 'Ada', 'Obi', `ada.obi+${Date.now()}@example.com`);
  // On its own load, as the export page (the invitation link is shown once, before this).
  await page.goto(page.url());
  await checkEverywhere(page, 'guest detail');
  await page.goto('/guests');
  await checkEverywhere(page, 'guests');

  const guest = await browser.newContext();
  const guestPage = await guest.newPage();
  await guestPage.goto(link);
  await checkEverywhere(guestPage, 'invitation');
  expect((await openInvitation(guestPage, link)).status()).toBe(303);
  await expect(guestPage.getByTestId('guest-signed-in-as')).toHaveText('Ada Obi');
  await checkEverywhere(guestPage, 'guest, signed in');
  await guestPage.getByTestId('chat-start').click();
  await waitHydrated(guestPage);
  await expect(guestPage.getByTestId('chat-status')).toHaveText('Connected');
  await expect(guestPage.getByTestId('chat-text').first()).toContainText('Ada');
  await checkEverywhere(guestPage, 'guest chat');
  await guest.close();
});

test('sign in and use the directory by keyboard alone, with a skip link and a sortable Name header', async ({ page }) => {
  await page.goto('/');
  await waitHydrated(page);
  // The first Tab reaches the skip link, which moves focus to the content.
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('skip-link')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('main#content')).toBeFocused();
  // Tab to the sign-in button and press it; the sandbox's page, then Allow, by keyboard.
  const signInButton = page.getByTestId('sign-in').first();
  for (let i = 0; i < 30 && !(await signInButton.evaluate((e) => e === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(signInButton).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  const allow = page.getByRole('button', { name: 'Allow' });
  for (let i = 0; i < 60 && !(await allow.evaluate((e) => e === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(allow).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('profile-name')).toBeVisible();

  await page.goto('/users');
  await waitHydrated(page);
  const header = page.locator('th[aria-sort]');
  await expect(header).toHaveAttribute('aria-sort', 'ascending');
  const first = await page.getByTestId('user-name').first().innerText();
  // Focus rings are visible: the focused control has an outline.
  const sortLink = page.getByTestId('sort-by-name');
  await sortLink.focus();
  const outline = await sortLink.evaluate((e) => getComputedStyle(e).outlineStyle);
  expect(outline).not.toBe('none');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/sort=descending/);
  await expect(header).toHaveAttribute('aria-sort', 'descending');
  await expect(page.getByTestId('user-name').first()).not.toHaveText(first);
  // Search by keyboard: type, and the table follows.
  await page.getByTestId('search').focus();
  await page.keyboard.type('Ångström');
  await expect(page.getByTestId('user-name')).toHaveText(['Zoë Ångström-Øster']);
  // A user opens with Enter on its link.
  await page.getByTestId('user-name').first().focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/users\/[0-9a-f-]{36}$/);

  // A form that fails moves focus to its error: a guest with a malformed attribute line,
  // typed and submitted from the keyboard.
  await page.goto('/guests');
  await waitHydrated(page);
  await page.getByTestId('guest-given-name').focus();
  await page.keyboard.type('Kofi');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Mensah');
  await page.keyboard.press('Tab');
  await page.keyboard.type(`kofi.mensah+${Date.now()}@example.com`);
  await page.keyboard.press('Tab');
  await page.keyboard.type('tier gold');
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('guest-create')).toBeFocused();
  await page.keyboard.press('Enter');
  const error = page.getByTestId('error');
  await expect(error).toContainText('has no `=`');
  await expect(error).toBeFocused();
});
