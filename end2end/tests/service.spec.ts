import { test, expect } from '@playwright/test';
import { signIn, waitHydrated } from './support';

test('the service page shows the token manager live and a rotation draining', async ({ page }) => {
  await page.goto('/');
  await signIn(page);
  await expect(page.getByRole('link', { name: 'Service' })).toBeVisible();
  await page.getByRole('link', { name: 'Service' }).click();
  await expect(page).toHaveURL(/\/admin\/service$/);
  await expect(page.getByTestId('manager-state')).toHaveText('healthy');
  await expect(page.getByTestId('service-client')).toHaveText('portal-service');
  await expect(page.getByTestId('upstream-health')).toContainText('Reachable');
  await expect(page.getByTestId('audit-events')).toContainText('acquired');
  const generation = Number(await page.getByTestId('generation').innerText());
  await waitHydrated(page);
  await page.getByTestId('rotate').click();
  await expect(page.getByTestId('rotation')).toContainText(`Rotated generation ${generation} → ${generation + 1}`);
  await expect(page.getByTestId('rotation')).toContainText('drained');
  await expect(page.getByTestId('generation')).toHaveText(String(generation + 1));
  // The panel after the rotation is the server's HTML put in place: its countdown ticks too.
  const countdown = page.getByTestId('service-countdown');
  const left = Number(await countdown.getAttribute('data-seconds'));
  await expect.poll(async () => Number(await countdown.getAttribute('data-seconds')), { timeout: 5_000 }).toBeLessThan(left);
  await expect(page.getByTestId('audit-events')).toContainText('rotated');
  // No secret or token on the page.
  const html = await page.content();
  expect(html).not.toContain('sandbox-service-secret');
});

test('metrics and health endpoints answer', async ({ request }) => {
  expect((await request.get('/healthz')).status()).toBe(200);
  expect((await request.get('/readyz')).status()).toBe(200);
  const metrics = await (await request.get('/metrics')).text();
  expect(metrics).toContain('portal_up 1');
  expect(metrics).toMatch(/genesys_token_manager_acquisitions_total\{[^}]*\} [1-9]/);
  expect(metrics).toContain('genesys_token_manager_token_expiry_seconds');
  expect(metrics).toContain('genesys_token_manager_in_flight_guards');
});
