/**
 * The README's screenshots, taken from the demo as the browser tests run it: the real app on a
 * throwaway SQLite database with the SinoPac, Alipay and ECPay simulators, in Debian's Chromium.
 * Run with `npm run screenshots`; it writes docs/screenshots/*.png (phone width, 390 px, device
 * scale factor 1, each cut to at most MAX_HEIGHT px so the files stay small).
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { migrateLatest, openDb } from '../../core/db.ts';
import { alipayModule } from '../../providers/alipay/index.ts';
import { ecpayModule } from '../../providers/ecpay/index.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import { ADMIN, paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { closeBrowser, launchBrowser } from '../helpers/browser.ts';
import type { TestDbHandle } from '../helpers/db.ts';

const OUT = join('docs', 'screenshots');
const PHONE = { width: 390, height: 844 };
const MAX_HEIGHT = 1500;

async function create(app: TestApp, body: Record<string, unknown>) {
  const res = await app.api('POST', '/v1/payments', body);
  if (res.status !== 201) throw new Error(`creating a payment: ${res.status} ${res.text}`);
  return res.body as { id: string; orderNo: string; checkoutUrl: string; action?: { url?: string } };
}

/** The page's status once the provider's notify has arrived (the result page reloads until then). */
async function waitForStatus(app: TestApp, page: Page, want: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await page.locator('[data-status]').getAttribute('data-status')) === want) return;
    await app.background.drain();
    await new Promise((r) => setTimeout(r, 200));
    await page.reload();
  }
  throw new Error(`${page.url()} never showed ${want}: ${(await page.locator('main, body').first().textContent())?.slice(0, 300)}`);
}

async function shoot(page: Page, name: string): Promise<void> {
  const height = Math.min(MAX_HEIGHT, await page.evaluate(() => document.documentElement.scrollHeight));
  const file = join(OUT, name);
  await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y: 0, width: PHONE.width, height } });
  console.log(`${file}: ${PHONE.width}×${height}, ${Math.round(statSync(file).size / 1024)} KB`);
}

/** A throwaway migrated SQLite database (test/helpers/db.ts's needs ava's runner; this is a plain script). */
async function throwawayDb(): Promise<TestDbHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'paygate-screenshots-'));
  const url = `sqlite:${join(dir, 'demo.sqlite')}`;
  const db = openDb(url);
  await migrateLatest(db);
  return { db, kind: 'sqlite', url, close: async () => (await db.destroy(), await rm(dir, { recursive: true, force: true })) };
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const db = await throwawayDb();
  const app = await startApp(db, { modules: [sinopacModule({ simulator: { atmAutoPayMs: null } }), alipayModule(), ecpayModule()] });
  const browser = await launchBrowser();
  try {
    const phone = (locale: string) => browser.newContext({ locale, viewport: PHONE, deviceScaleFactor: 1 });
    const items = [
      { sku: 'TEA-OOLONG', name: '凍頂烏龍茶 150g', unitAmount: 48000, quantity: 1 },
      { sku: 'CAKE-PINE', name: '土鳳梨酥 (12 入)', unitAmount: 39000, quantity: 2 },
    ];

    // 1. The hosted checkout, in zh-TW, waiting for the buyer's choice.
    const hostedBody = paymentBody({ amount: 126000, items, subject: '茶與蛋糕 訂單' });
    delete hostedBody.provider;
    delete hostedBody.method;
    const hosted = await create(app, hostedBody);
    const zh = await phone('zh-TW');
    const checkout = await zh.newPage();
    await checkout.goto(`${hosted.checkoutUrl}${hosted.checkoutUrl.includes('?') ? '&' : '?'}lang=zh-TW`);
    await shoot(checkout, 'checkout-390-zh-TW.png');
    await zh.close();

    // 2. A declined card: the result page, in English.
    const en = await phone('en-US');
    const declined = await create(app, paymentBody({ provider: 'sinopac', method: 'card', amount: 79900, items: [{ sku: 'TEE-1', name: 'T-shirt', unitAmount: 39950, quantity: 2 }] }));
    const result = await en.newPage();
    await result.goto(declined.action!.url!);
    await result.getByRole('button', { name: 'Decline' }).click();
    await result.waitForSelector('[data-status]');
    await waitForStatus(app, result, 'failed');
    await shoot(result, 'result-failed-390-en.png');

    // A paid order too, so the dashboard's list shows more than one status.
    const paid = await create(app, paymentBody({ provider: 'sinopac', method: 'card', amount: 48000, items: [items[0]] }));
    await result.goto(paid.action!.url!);
    await result.getByLabel('CVV').fill('123');
    await result.getByRole('button', { name: 'Pay', exact: true }).click();
    await result.waitForSelector('[data-status]');
    await waitForStatus(app, result, 'paid');
    await en.close();

    // 3. The dashboard's orders list on a phone.
    const ops = await phone('en-US');
    const admin = await ops.newPage();
    await admin.goto(`${app.url}/admin/login`);
    await admin.getByLabel('Username').fill(ADMIN.username);
    await admin.getByLabel('Password').fill(ADMIN.password);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await admin.waitForURL(/\/admin$/);
    await admin.goto(`${app.url}/admin/orders`);
    await shoot(admin, 'admin-orders-390.png');
    await ops.close();
  } finally {
    await closeBrowser();
    await app.close();
    await db.close();
  }
}

await main();
