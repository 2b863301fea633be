/**
 * A real Chromium (Debian's /usr/bin/chromium through playwright-core) for end-to-end tests. Where
 * the binary is missing the tests are skipped, except under CI=true where that is a failure.
 * A failing test leaves a screenshot under test-results/screenshots/ (git-ignored).
 */
import type { ExecutionContext } from 'ava';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.PAYGATE_CHROMIUM ?? '/usr/bin/chromium';

export function browserAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

let shared: Promise<Browser> | null = null;

/** One browser per test process; each test gets its own context (no cookies shared). */
export function launchBrowser(): Promise<Browser> {
  shared ??= chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return shared;
}

export async function closeBrowser(): Promise<void> {
  if (!shared) return;
  const browser = await shared;
  shared = null;
  await browser.close();
}

/**
 * Runs `fn` with a fresh page; on failure saves a screenshot named after the test, then rethrows.
 */
export async function withPage(t: ExecutionContext, fn: (page: Page) => Promise<void>, options: { locale?: string } = {}): Promise<void> {
  const browser = await launchBrowser();
  const context = await browser.newContext({ locale: options.locale ?? 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  try {
    await fn(page);
  } catch (err) {
    const dir = join('test-results', 'screenshots');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${t.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 120)}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    t.log(`screenshot: ${file}`);
    throw err;
  } finally {
    await context.close();
  }
}

/** Registers the e2e tests of a file only where a browser exists (always under CI=true). */
export function requireBrowser(): boolean {
  if (browserAvailable()) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true but no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium`);
  return false;
}
