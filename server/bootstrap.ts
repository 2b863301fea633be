import { CallbackGuard } from '../core/callback-guard.ts';
import type { AppConfig } from '../core/config.ts';
import type { CoreDeps } from '../core/deps.ts';
import { isUniqueViolation, migrateLatest, openDb, type Db } from '../core/db.ts';
import { countMerchants, createMerchant } from '../core/merchants.ts';
import { buildRegistry, type MountedSimulator } from '../core/registry.ts';
import { loadSimulatorBooks, SimulatorBooksSaver } from '../core/simulator-books.ts';
import { sharedSecret } from '../core/settings.ts';
import { startCheckpointer } from '../core/sqlite-checkpoint.ts';
import { randomBytes } from 'node:crypto';
import type { AppDeps } from './app.ts';
import type { BackgroundTasks } from './background.ts';
import { providerModules } from '../providers/index.ts';
import { closeSignPool } from '../providers/kit/sign-pool.ts';
import { logDestination } from './log-format.ts';
import { createLogger, type AppLogger } from './logger.ts';
import { GatewayMetrics } from './metrics.ts';
import { secretsOutput, type SecretsOutput } from './secrets-output.ts';

export interface Runtime {
  deps: CoreDeps;
  db: Db;
  logger: AppLogger;
  simulators: MountedSimulator[];
  /** Also `deps.metrics`: what core counts and GET /metrics serves. */
  metrics: GatewayMetrics;
  /** Where secrets made up at start are shown or stored (PAYGATE_SECRETS_FILE). */
  secrets: SecretsOutput;
  close(): Promise<void>;
}

/** Opens the database, migrates it, and builds the provider registry from configuration. */
export async function bootstrap(config: AppConfig, options: { migrate?: boolean } = {}): Promise<Runtime> {
  // Readable lines on a terminal, JSON elsewhere (server/log-format.ts).
  const logger = createLogger(config.logLevel, logDestination().stream);
  const db = openDb(config.databaseUrl);
  if (options.migrate !== false) {
    const applied = await migrateLatest(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
  }
  // SQLite's WAL checkpoints in a thread of their own, never inside a request's commit.
  const checkpointer = await startCheckpointer(db, logger);
  const metrics = new GatewayMetrics({ db, logger, token: config.metricsToken, open: config.metricsPublic, publicUrl: config.publicUrl });
  // The simulators' books from the last run, so in-flight demo payments survive a restart.
  const simulatorBooks = config.simulateUnconfigured ? await loadSimulatorBooks(db, logger) : undefined;
  const { registry, simulators } = await buildRegistry({
    metrics,
    modules: providerModules,
    config: config.providers,
    publicUrl: config.publicUrl,
    logger,
    simulateUnconfigured: config.simulateUnconfigured,
    simulatorTimeScale: config.simulatorTimeScale,
    simulatorBooks,
  });
  const books = new SimulatorBooksSaver(db, simulators, logger, simulatorBooks);
  books.start();
  for (const account of registry.list()) {
    logger.info({ provider: account.provider, account: account.account, methods: account.methods, simulated: account.simulated }, 'provider account ready');
  }
  const deps: CoreDeps = { db, registry, logger, now: () => new Date(), metrics, webhookAllowPrivate: config.webhookAllowPrivate, timeZone: config.timeZone };
  return {
    deps,
    db,
    logger,
    simulators,
    metrics,
    secrets: secretsOutput({ file: config.secretsFile, to: config.secretsTo, logger }),
    async close() {
      await Promise.allSettled(simulators.map((s) => s.instance.close()));
      // After close: the books hold the last state, with no timer left to change it.
      await books.stop();
      await checkpointer?.stop();
      await db.destroy();
      // Idle, the pool's threads hold nothing; stopped here so a shutdown leaves no thread behind.
      await closeSignPool();
    },
  };
}

const DEMO_MERCHANT_NAME = 'Demo shop';

/** A shown-once key that is lost is replaced, not recovered. */
const rotateHint = (merchantId: string): string => `Lost the key? A new one (the old one stops working): npm run paygate -- merchant:rotate-key --id ${merchantId}`;

/**
 * `npm start` on an empty database creates a demo merchant and shows a key it made up once: on the
 * terminal, or in the secrets file when stdout is not a terminal (never into the log stream).
 */
export async function ensureDemoMerchant(db: Db, demoApiKey: string | undefined, secrets: SecretsOutput): Promise<void> {
  if ((await countMerchants(db)) > 0) {
    // Its key was shown once, at the first start: say how to get another one.
    const demo = (await db('merchants').where({ name: DEMO_MERCHANT_NAME }).orderBy('created_at').first('id')) as { id: string } | undefined;
    if (demo) secrets.note([`Demo merchant: ${demo.id} (its API key was shown at the first start)`, rotateHint(demo.id)]);
    return;
  }
  let created;
  try {
    created = await createMerchant(db, { name: DEMO_MERCHANT_NAME, apiKey: demoApiKey });
  } catch (err) {
    if (isUniqueViolation(err)) return; // another process created it first
    throw err;
  }
  const { merchant, apiKey } = created;
  secrets.reveal({
    // A key from PAYGATE_DEMO_API_KEY was not made up: no terminal shows it, no file keeps it.
    chosen: demoApiKey !== undefined,
    name: 'demo_api_key',
    value: apiKey,
    context: { demo_merchant: merchant.id },
    // A key the operator chose is never printed (secrets-output masks it too): they have it already.
    banner: [
      `Demo merchant created: ${merchant.id}`,
      demoApiKey !== undefined ? 'API key: the key you set in PAYGATE_DEMO_API_KEY' : `API key (shown once): ${apiKey}`,
      `Try: curl -H "Authorization: Bearer ${demoApiKey !== undefined ? '$PAYGATE_DEMO_API_KEY' : apiKey}" http://localhost:${process.env.PORT ?? 3000}/v1/payments`,
      rotateHint(merchant.id),
    ],
    logMessage: `demo merchant ${merchant.id} created with ${demoApiKey ? 'the API key in PAYGATE_DEMO_API_KEY' : 'a made-up API key (PAYGATE_DEMO_API_KEY is not set)'}`,
    setting: 'PAYGATE_DEMO_API_KEY',
  });
}

/**
 * Everything createApp needs in a running server. Without PAYGATE_ADMIN_PASSWORD the dashboard
 * gets a password made up for this run, shown once on the terminal or, when stdout is not a
 * terminal, stored in the secrets file (never into the log stream).
 */
export async function appDeps(config: AppConfig, runtime: Runtime, background: BackgroundTasks, secrets: SecretsOutput = runtime.secrets): Promise<AppDeps> {
  let adminPassword = config.adminPassword;
  if (!adminPassword) {
    adminPassword = randomBytes(12).toString('base64url');
    secrets.reveal({
      name: 'admin_password',
      value: adminPassword,
      context: { admin_url: `${config.publicUrl}/admin`, admin_user: config.adminUser },
      banner: [`Admin dashboard: ${config.publicUrl}/admin  user ${config.adminUser}  password (this run only): ${adminPassword}`],
      logMessage: 'dashboard password made up for this run (PAYGATE_ADMIN_PASSWORD is not set)',
      setting: 'PAYGATE_ADMIN_PASSWORD',
    });
  }
  return {
    ...runtime.deps,
    metrics: runtime.metrics,
    simulators: runtime.simulators,
    background,
    bodyLimitKb: config.bodyLimitKb,
    trustProxy: config.trustProxy,
    callbackGuard: new CallbackGuard(config.callbackGuard),
    linkSecret: await sharedSecret(runtime.db, 'link_secret'),
    publicUrl: config.publicUrl,
    admin: { username: config.adminUser, password: adminPassword },
  };
}
