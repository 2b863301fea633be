import type { AppConfig } from '../../core/config.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { migrateLatest, openDb } from '../../core/db.ts';
import { buildRegistry, ProviderRegistry } from '../../core/registry.ts';
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
 * command's own output, and no simulator is ever started: these commands talk to real accounts.
 * `providers: false` skips the accounts entirely (a command that never calls a provider).
 */
export async function openCliRuntime(config: AppConfig, options: { providers: boolean }): Promise<CliRuntime> {
  // The default `info` would narrate every step; a command prints its own account of what it did.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const registry = options.providers
    ? buildRegistry({ modules: providerModules, config: config.providers, publicUrl: config.publicUrl, logger, simulateUnconfigured: false }).registry
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
