import type { AppConfig } from '../core/config.ts';
import type { CoreDeps } from '../core/deps.ts';
import { isUniqueViolation, migrateLatest, openDb, type Db } from '../core/db.ts';
import { countMerchants, createMerchant } from '../core/merchants.ts';
import { buildRegistry, type MountedSimulator } from '../core/registry.ts';
import { sharedSecret } from '../core/settings.ts';
import { randomBytes } from 'node:crypto';
import type { AppDeps } from './app.ts';
import type { BackgroundTasks } from './background.ts';
import { providerModules } from '../providers/index.ts';
import { createLogger, type AppLogger } from './logger.ts';
import { GatewayMetrics } from './metrics.ts';

export interface Runtime {
  deps: CoreDeps;
  db: Db;
  logger: AppLogger;
  simulators: MountedSimulator[];
  /** Also `deps.metrics`: what core counts and GET /metrics serves. */
  metrics: GatewayMetrics;
  close(): Promise<void>;
}

/** Opens the database, migrates it, and builds the provider registry from configuration. */
export async function bootstrap(config: AppConfig, options: { migrate?: boolean } = {}): Promise<Runtime> {
  const logger = createLogger(config.logLevel);
  const db = openDb(config.databaseUrl);
  if (options.migrate !== false) {
    const applied = await migrateLatest(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
  }
  const metrics = new GatewayMetrics({ db, logger, token: config.metricsToken });
  const { registry, simulators } = buildRegistry({
    metrics,
    modules: providerModules,
    config: config.providers,
    publicUrl: config.publicUrl,
    logger,
    simulateUnconfigured: config.simulateUnconfigured,
    simulatorTimeScale: config.simulatorTimeScale,
  });
  for (const account of registry.list()) {
    logger.info({ provider: account.provider, account: account.account, methods: account.methods, simulated: account.simulated }, 'provider account ready');
  }
  const deps: CoreDeps = { db, registry, logger, now: () => new Date(), metrics };
  return {
    deps,
    db,
    logger,
    simulators,
    metrics,
    async close() {
      await Promise.allSettled(simulators.map((s) => s.instance.close()));
      await db.destroy();
    },
  };
}

/**
 * `npm start` on an empty database creates a demo merchant and prints its key once, on the
 * terminal (never into the log stream).
 */
export async function ensureDemoMerchant(db: Db, demoApiKey: string | undefined, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if ((await countMerchants(db)) > 0) return;
  let created;
  try {
    created = await createMerchant(db, { name: 'Demo shop', apiKey: demoApiKey });
  } catch (err) {
    if (isUniqueViolation(err)) return; // another process created it first
    throw err;
  }
  const { merchant, apiKey } = created;
  out.write(
    `\n  Demo merchant created: ${merchant.id}\n` +
      `  API key (shown once): ${apiKey}\n` +
      `  Try: curl -H "Authorization: Bearer ${apiKey}" http://localhost:${process.env.PORT ?? 3000}/v1/payments\n\n`,
  );
}

/**
 * Everything createApp needs in a running server. Without PAYGATE_ADMIN_PASSWORD the dashboard
 * gets a password made up for this run, printed once on the terminal (never into the log stream).
 */
export async function appDeps(config: AppConfig, runtime: Runtime, background: BackgroundTasks, out: NodeJS.WritableStream = process.stdout): Promise<AppDeps> {
  let adminPassword = config.adminPassword;
  if (!adminPassword) {
    adminPassword = randomBytes(12).toString('base64url');
    out.write(`\n  Admin dashboard: ${config.publicUrl}/admin  user ${config.adminUser}  password (this run only): ${adminPassword}\n\n`);
  }
  return {
    ...runtime.deps,
    metrics: runtime.metrics,
    simulators: runtime.simulators,
    background,
    bodyLimitKb: config.bodyLimitKb,
    trustProxy: config.trustProxy,
    linkSecret: await sharedSecret(runtime.db, 'link_secret'),
    publicUrl: config.publicUrl,
    admin: { username: config.adminUser, password: adminPassword },
  };
}
