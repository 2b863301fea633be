import type { AppConfig } from '../../core/config.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { migrateLatest, openDb } from '../../core/db.ts';
import { ConfigError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { buildRegistry, ProviderRegistry, type ProvidersConfig } from '../../core/registry.ts';
import { providerModules } from '../../providers/index.ts';
import { createLogger, type AppLogger } from '../logger.ts';

export interface CliRuntime {
  deps: CoreDeps;
  logger: AppLogger;
  close(): Promise<void>;
}

/**
 * What an operator's command needs: the database (migrated, as `npm start` does) and the configured
 * provider accounts. Unlike the server's bootstrap, logs go to stderr so stdout carries only the
 * command's own output, and no simulator is ever started here. In the demo (no account configured,
 * simulators on) the simulators live inside the running `npm start`, with keys it made up: the
 * accounts are then the ones it uses, fetched from its simulators over HTTP (demoAccounts).
 * `providers: false` skips the accounts entirely (a command that never calls a provider).
 */
export async function openCliRuntime(config: AppConfig, options: { providers: boolean }): Promise<CliRuntime> {
  // The default `info` would narrate every step; a command prints its own account of what it did.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const demo = options.providers && config.simulateUnconfigured;
  const accounts = demo ? await demoAccounts(config.publicUrl, logger) : config.providers;
  const registry = options.providers
    ? (await buildRegistry({ modules: providerModules, config: accounts, publicUrl: config.publicUrl, logger, simulateUnconfigured: false })).registry
    : new ProviderRegistry(providerModules);
  const db = openDb(config.databaseUrl);
  try {
    const applied = await migrateLatest(db);
    if (applied.length > 0) logger.warn({ migrations: applied }, 'migrations applied');
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return {
    deps: { db, registry, logger, now: () => new Date(), webhookAllowPrivate: config.webhookAllowPrivate },
    logger,
    close: () => db.destroy(),
  };
}

const FETCH_TIMEOUT_MS = 5_000;

/**
 * The demo's accounts, as the running gateway at `publicUrl` uses them: each simulator there answers
 * GET /sim/<id>/_control/account with the config (its made-up demo keys) of an account the gateway
 * has used. A simulator whose account was never used (the gateway has not started since) is skipped.
 * Nothing answering is an error that says what to do: the simulators exist only inside `npm start`.
 */
export async function demoAccounts(publicUrl: string, logger: Logger): Promise<ProvidersConfig> {
  const accounts: ProvidersConfig = {};
  for (const module of providerModules) {
    if (!module.simulator) continue;
    const url = `${publicUrl}/sim/${encodeURIComponent(module.id)}/_control/account?account=default`;
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch (err) {
      throw new ConfigError(
        `No provider account is configured (PAYGATE_CONFIG), so this is the demo: the providers' simulators run inside ` +
          `the gateway started with \`npm start\`, and this command reaches them over HTTP at ${publicUrl}. Nothing answered ` +
          `there (${(err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message}). Start the gateway first, ` +
          `or set PORT / PAYGATE_PUBLIC_URL to where it runs.`,
        [{ path: 'PAYGATE_PUBLIC_URL', message: `no gateway answered at ${publicUrl}` }],
      );
    }
    if (response.status === 404) {
      logger.warn({ provider: module.id }, 'the running gateway has no simulator account for this provider; skipped');
      continue;
    }
    const body = (await response.json().catch(() => null)) as { config?: unknown } | null;
    if (!response.ok || !body || typeof body.config !== 'object' || body.config === null) {
      throw new ConfigError(`The gateway at ${publicUrl} answered ${url.replace(publicUrl, '')} with HTTP ${response.status}, not a simulator account: is it paygate's demo?`, [
        { path: 'PAYGATE_PUBLIC_URL', message: `not a paygate demo at ${publicUrl}` },
      ]);
    }
    accounts[module.id] = { default: body.config };
  }
  return accounts;
}
