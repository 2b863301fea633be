import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import type { ProvidersConfig } from './registry.ts';

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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const fileSchema = z.strictObject({
  providers: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

export interface AppConfig {
  port: number;
  host: string;
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
  /** When set, GET /metrics answers only `Authorization: Bearer <this>`; unset, it is open. */
  metricsToken: string | undefined;
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
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    publicUrl: (e.PAYGATE_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    demoApiKey: e.PAYGATE_DEMO_API_KEY,
    providers,
    // auto: simulators only for a pure demo (no account configured at all), never beside real
    // accounts, where a simulator's control API could mark an order paid.
    simulateUnconfigured: e.PAYGATE_SIMULATORS === 'on' || (e.PAYGATE_SIMULATORS === 'auto' && Object.keys(providers).length === 0),
    trustProxy: e.PAYGATE_TRUST_PROXY === 'true',
    simulatorTimeScale: e.PAYGATE_SIMULATOR_TIME_SCALE,
    inlineWorker: e.PAYGATE_INLINE_WORKER === 'true',
    bodyLimitKb: e.PAYGATE_BODY_LIMIT_KB,
    logLevel: e.LOG_LEVEL,
    adminUser: e.PAYGATE_ADMIN_USER,
    adminPassword: e.PAYGATE_ADMIN_PASSWORD,
    workers: e.PAYGATE_WORKERS,
    metricsToken: e.PAYGATE_METRICS_TOKEN,
  };
}
