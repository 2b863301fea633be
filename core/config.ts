import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { SIMULATORS_BESIDE_REAL_ACCOUNTS, type ProvidersConfig } from './registry.ts';

/**
 * Everything paygate reads from its environment, parsed once at start with every problem reported
 * together. README's Configuration section lists the same variables.
 */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().default('sqlite:./data/paygate.sqlite'),
  PAYGATE_PUBLIC_URL: z.string().url().optional(),
  PAYGATE_DEMO_API_KEY: z.string().min(20).max(200).optional(),
  PAYGATE_CONFIG: z.string().optional(),
  PAYGATE_SIMULATORS: z.enum(['auto', 'on', 'off']).default('auto'),
  PAYGATE_TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  PAYGATE_SIMULATOR_TIME_SCALE: z.coerce.number().positive().max(1).default(1),
  PAYGATE_INLINE_WORKER: z.enum(['true', 'false']).default('true'),
  PAYGATE_BODY_LIMIT_KB: z.coerce.number().int().min(1).max(10_240).default(100),
  PAYGATE_ADMIN_USER: z.string().min(1).max(100).default('admin'),
  PAYGATE_ADMIN_PASSWORD: z.string().min(12).max(200).optional(),
  PAYGATE_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  PAYGATE_METRICS_TOKEN: z.string().min(16).max(200).optional(),
  PAYGATE_CALLBACK_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  PAYGATE_CALLBACK_FAILURE_BURST: z.coerce.number().int().min(1).max(100_000).default(20),
  PAYGATE_CALLBACK_FAILURES_PER_MINUTE: z.coerce.number().min(0.1).max(100_000).default(20),
  PAYGATE_CALLBACK_GLOBAL_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(600),
  PAYGATE_METRICS_PUBLIC: z.enum(['true', 'false']).default('false'),
  PAYGATE_SECRETS_FILE: z.string().min(1).optional(),
  PAYGATE_SECRETS_TO: z.enum(['auto', 'file', 'terminal']).default('auto'),
  PAYGATE_PROBE_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  PAYGATE_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  PAYGATE_TIME_ZONE: z
    .string()
    .default('Asia/Taipei')
    .refine(isTimeZone, { message: 'is not an IANA time zone this Node knows (e.g. Asia/Taipei, Asia/Shanghai, UTC)' }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const fileSchema = z.strictObject({
  providers: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export interface AppConfig {
  /** IANA zone for every date a person reads (pages, dashboard, CLI) and for the dashboard's day boundaries. */
  timeZone: string;
  /** How often each HTTP process probes every provider account's credentials; 0 = never (not even at start). */
  probeIntervalMs: number;
  port: number;
  host: string;
  /** PAYGATE_WEBHOOK_ALLOW_PRIVATE=true: merchant webhooks may go to loopback/private/metadata addresses (local development only; core/webhook-target.ts). */
  webhookAllowPrivate: boolean;
  databaseUrl: string;
  publicUrl: string;
  demoApiKey: string | undefined;
  providers: ProvidersConfig;
  simulateUnconfigured: boolean;
  trustProxy: boolean;
  simulatorTimeScale: number;
  inlineWorker: boolean;
  bodyLimitKb: number;
  logLevel: string;
  /** Dashboard credentials; without a password `npm start` makes one up and prints it once. */
  adminUser: string;
  adminPassword: string | undefined;
  /** HTTP server processes (node:cluster) `npm start` runs. */
  workers: number;
  /** Rejected and unverified callback rows older than this are deleted; verified ones are kept. */
  callbackRetentionDays: number;
  /**
   * Failed callback requests an address may make at once, and earns back per minute; the same for
   * all untrusted addresses together (burst = one minute's worth) (core/callback-guard.ts).
   */
  callbackGuard: { burst: number; refillPerMinute: number; globalBurst: number; globalRefillPerMinute: number };
  /** When set, GET /metrics answers only `Authorization: Bearer <this>`, from anywhere. */
  metricsToken: string | undefined;
  /** PAYGATE_METRICS_PUBLIC=true: /metrics open to every client without a token (else loopback only, and only with a localhost publicUrl: server/metrics.ts). */
  metricsPublic: boolean;
  /** Where secrets made up at start go when stdout is not a terminal (server/secrets-output.ts). */
  secretsFile: string;
  /** PAYGATE_SECRETS_TO: `auto` (the file unless stdout is a terminal), `file` always, `terminal` always. */
  secretsTo: 'auto' | 'file' | 'terminal';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ConfigError(`Environment is invalid:\n${details.map((d) => `  ${d.path}: ${d.message}`).join('\n')}`, details);
  }
  const e = parsed.data;
  let providers: ProvidersConfig = {};
  if (e.PAYGATE_CONFIG) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(e.PAYGATE_CONFIG, 'utf8'));
    } catch (err) {
      throw new ConfigError(`PAYGATE_CONFIG ${e.PAYGATE_CONFIG} cannot be read as JSON: ${(err as Error).message}`);
    }
    const file = fileSchema.safeParse(raw);
    if (!file.success) {
      const details = file.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new ConfigError(`PAYGATE_CONFIG is invalid:\n${details.map((d) => `  ${d.path}: ${d.message}`).join('\n')}`, details);
    }
    providers = file.data.providers;
  }
  const configured = Object.entries(providers).filter(([, accounts]) => Object.keys(accounts).length > 0).map(([id]) => id);
  if (e.PAYGATE_SIMULATORS === 'on' && configured.length > 0) {
    throw new ConfigError(SIMULATORS_BESIDE_REAL_ACCOUNTS(configured), [
      { path: 'PAYGATE_SIMULATORS', message: 'simulators cannot run beside configured provider accounts' },
    ]);
  }
  return {
    timeZone: e.PAYGATE_TIME_ZONE,
    probeIntervalMs: e.PAYGATE_PROBE_INTERVAL_SECONDS * 1000,
    port: e.PORT,
    host: e.HOST,
    webhookAllowPrivate: e.PAYGATE_WEBHOOK_ALLOW_PRIVATE === 'true',
    databaseUrl: e.DATABASE_URL,
    publicUrl: (e.PAYGATE_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    demoApiKey: e.PAYGATE_DEMO_API_KEY,
    providers,
    // auto: simulators only for a pure demo (no account configured at all); never beside real
    // accounts (refused above), where a simulator's control API could mark an order paid.
    simulateUnconfigured: e.PAYGATE_SIMULATORS === 'on' || (e.PAYGATE_SIMULATORS === 'auto' && configured.length === 0),
    trustProxy: e.PAYGATE_TRUST_PROXY === 'true',
    simulatorTimeScale: e.PAYGATE_SIMULATOR_TIME_SCALE,
    inlineWorker: e.PAYGATE_INLINE_WORKER === 'true',
    bodyLimitKb: e.PAYGATE_BODY_LIMIT_KB,
    logLevel: e.LOG_LEVEL,
    adminUser: e.PAYGATE_ADMIN_USER,
    adminPassword: e.PAYGATE_ADMIN_PASSWORD,
    workers: e.PAYGATE_WORKERS,
    metricsToken: e.PAYGATE_METRICS_TOKEN,
    callbackRetentionDays: e.PAYGATE_CALLBACK_RETENTION_DAYS,
    callbackGuard: {
      burst: e.PAYGATE_CALLBACK_FAILURE_BURST,
      refillPerMinute: e.PAYGATE_CALLBACK_FAILURES_PER_MINUTE,
      globalBurst: e.PAYGATE_CALLBACK_GLOBAL_FAILURES_PER_MINUTE,
      globalRefillPerMinute: e.PAYGATE_CALLBACK_GLOBAL_FAILURES_PER_MINUTE,
    },
    metricsPublic: e.PAYGATE_METRICS_PUBLIC === 'true',
    secretsFile: e.PAYGATE_SECRETS_FILE ?? defaultSecretsFile(e.DATABASE_URL),
    secretsTo: e.PAYGATE_SECRETS_TO,
  };
}

/**
 * Beside the data: the SQLite file's directory, or ./data for a server database (and for
 * `sqlite::memory:`), so the secrets stay with the installation they open.
 */
export function defaultSecretsFile(databaseUrl: string): string {
  const file = databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length).replace(/^\/\//, '') : '';
  const dir = file && file !== ':memory:' ? dirname(file) : './data';
  return resolve(dir, 'paygate-secrets.txt');
}
