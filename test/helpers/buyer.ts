/**
 * What the browser journeys (test/e2e) wait for: the payment's status through the API while the
 * provider's notify travels on its own, and the status a result page shows.
 */
import type { Page } from 'playwright-core';
import type { TestApp } from './app.ts';

/** The payment's status once the app's background work (a notify acknowledged on store) is done. */
export async function statusOf(app: TestApp, id: string): Promise<string> {
  await app.background.drain();
  return (await app.api('GET', `/v1/payments/${id}`)).body.status;
}

/** Waits until the API shows `status` (notifies travel on their own), then returns it; what it shows after ~10 s otherwise. */
export async function eventually(app: TestApp, id: string, status: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const now = await statusOf(app, id);
    if (now === status) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
  return statusOf(app, id);
}

/** The result page's status, reloading while the provider's notify is still on its way. */
export async function resultStatus(page: Page, want: string): Promise<string | null> {
  for (let i = 0; i < 30; i++) {
    const shown = await page.locator('[data-status]').getAttribute('data-status');
    if (shown === want) return shown;
    await new Promise((r) => setTimeout(r, 200));
    await page.reload();
  }
  return page.locator('[data-status]').getAttribute('data-status');
}
