#!/usr/bin/env node
import { hostname } from 'node:os';
import { loadConfig } from '../core/config.ts';
import { migrateLatest, openDb, rollbackConfig } from '../core/db.ts';
import { ConfigError } from '../core/errors.ts';
import { JobRunner } from '../core/jobs/runner.ts';
import { createMerchant, listMerchants, rotateApiKey } from '../core/merchants.ts';
import { createMerchantInput } from '../core/api-schemas.ts';
import { parseWith } from '../core/validation.ts';
import { webhookUrlProblem } from '../core/webhook-target.ts';
import { bootstrap } from './bootstrap.ts';
import { parseFlags, str, UsageError, type FlagValues, type Flags } from './cli/args.ts';
import { MERCHANT_UPDATE_USAGE, merchantUpdateFlags, runMerchantUpdate } from './cli/merchant-update.ts';
import { RECONCILE_USAGE, reconcileFlags, runReconcile } from './cli/reconcile.ts';
import { runSimulate, SIMULATE_USAGE, simulateFlags } from './cli/simulate.ts';
import { runWebhookReplay, WEBHOOK_REPLAY_USAGE, webhookReplayFlags } from './cli/webhook-replay.ts';
import { MERCHANT_WEBHOOK_USAGE, merchantWebhookFlags, runMerchantWebhook } from './cli/merchant-webhook.ts';
import { LISTEN_USAGE, listenFlags, runListen } from './cli/listen.ts';
import { runTrigger, TRIGGER_USAGE, triggerFlags } from './cli/trigger.ts';
import { NEW_PROVIDER_USAGE, newProviderFlags, runNewProvider } from './cli/new-provider.ts';
import { backgroundJobs } from './jobs.ts';

const USAGE = `usage: npm run paygate -- <command> [options]      (--help after a command: its options)

  migrate                         apply every pending migration
  migrate:rollback [--all]        undo the last batch (or every migration)
  merchant:create --name <name> [--webhook-url <url>]
                                  create a merchant and print its API key once
  merchant:list                   list merchants (never their keys)
  merchant:rotate-key --id <id>   issue a new API key; the old one stops working
${MERCHANT_UPDATE_USAGE}${MERCHANT_WEBHOOK_USAGE}  worker                          run the background jobs in this process only
${RECONCILE_USAGE}${WEBHOOK_REPLAY_USAGE}${LISTEN_USAGE}${TRIGGER_USAGE}${SIMULATE_USAGE}${NEW_PROVIDER_USAGE}
Configuration comes from the environment (DATABASE_URL, PAYGATE_CONFIG, LOG_LEVEL...; see README).
Logs go to stderr; exit codes: 0 done, 1 failed (or, for reconcile, a provider could not be asked), 2 usage.
`;

interface Command {
  flags: Flags;
  /** This command's lines of USAGE, shown with --help and after a usage error. */
  usage: string;
  run(values: FlagValues): Promise<number>;
  /** The flag a first bare argument stands for (`trigger payment.paid` is `trigger --event payment.paid`). */
  positional?: string;
}

const line = (name: string) => USAGE.split('\n').filter((l) => l.trimStart().startsWith(`${name} `) || l.trim() === name);

const COMMANDS: Record<string, Command> = {
  migrate: {
    flags: {},
    usage: line('migrate').join('\n'),
    async run() {
      const db = openDb(loadConfig().databaseUrl);
      try {
        // The same safe migrate every gateway and worker runs at boot (several processes, Galera nodes).
        const applied = await migrateLatest(db);
        console.log(applied.length ? `applied:\n  ${applied.join('\n  ')}` : 'already up to date');
      } finally {
        await db.destroy();
      }
      return 0;
    },
  },
  'migrate:rollback': {
    flags: { all: { type: 'boolean' } },
    usage: line('migrate:rollback').join('\n'),
    async run(values) {
      const db = openDb(loadConfig().databaseUrl);
      try {
        const [, undone] = (await db.migrate.rollback(rollbackConfig(db), values.all === true)) as [number, string[]];
        console.log(undone.length ? `rolled back:\n  ${undone.join('\n  ')}` : 'nothing to roll back');
      } finally {
        await db.destroy();
      }
      return 0;
    },
  },
  'merchant:create': {
    flags: { name: { type: 'string' }, 'webhook-url': { type: 'string' } },
    usage: '  merchant:create --name <name> [--webhook-url <url>]',
    async run(values) {
      const name = str(values, 'name');
      const webhookUrl = str(values, 'webhook-url');
      if (!name) throw new UsageError('--name is required');
      parseWith(createMerchantInput, { name, ...(webhookUrl ? { webhookUrl } : {}) });
      const config = loadConfig();
      // Checked again on every delivery, after DNS (core/webhook-target.ts); here what needs no DNS.
      const problem = webhookUrl ? webhookUrlProblem(webhookUrl, config.webhookAllowPrivate) : null;
      if (problem) throw new UsageError(`--webhook-url ${problem}`);
      const runtime = await bootstrap({ ...config, simulateUnconfigured: false, logLevel: 'warn' });
      try {
        const { merchant, apiKey, webhookSecret } = await createMerchant(runtime.db, { name, webhookUrl: webhookUrl ?? null });
        console.log(`merchant:        ${merchant.id} (${merchant.name})`);
        console.log(`API key:         ${apiKey}`);
        console.log(`webhook secret:  ${webhookSecret}`);
        console.log('Store both now: the API key is kept only as a hash and is not shown again.');
      } finally {
        await runtime.close();
      }
      return 0;
    },
  },
  'merchant:list': {
    flags: {},
    usage: line('merchant:list').join('\n'),
    async run() {
      const config = loadConfig();
      const runtime = await bootstrap({ ...config, simulateUnconfigured: false, logLevel: 'warn' });
      try {
        for (const m of await listMerchants(runtime.db)) {
          console.log(`${m.id}\t${m.name}\t${m.webhookUrl ?? '-'}\t${m.createdAt.toISOString()}`);
        }
      } finally {
        await runtime.close();
      }
      return 0;
    },
  },
  'merchant:rotate-key': {
    flags: { id: { type: 'string' } },
    usage: line('merchant:rotate-key').join('\n'),
    async run(values) {
      const id = str(values, 'id');
      if (!id) throw new UsageError('--id is required');
      const config = loadConfig();
      const runtime = await bootstrap({ ...config, simulateUnconfigured: false, logLevel: 'warn' });
      try {
        const key = await rotateApiKey(runtime.db, id);
        if (!key) {
          console.error(`no merchant ${id}`);
          return 1;
        }
        console.log(`new API key: ${key}`);
      } finally {
        await runtime.close();
      }
      return 0;
    },
  },
  worker: {
    flags: {},
    usage: line('worker').join('\n'),
    async run() {
      // Told to stop at any time, the boot included (a boot waiting on a database that went away
      // must still end cleanly on SIGTERM, not die of the signal's default action).
      const stopped = new Promise<'stop'>((resolve) => {
        process.once('SIGINT', () => resolve('stop'));
        process.once('SIGTERM', () => resolve('stop'));
      });
      // The job timers are unref'd and the database's sockets may all be gone (a failover): this
      // keeps the process up until it is told to stop, so a database outage never ends the worker.
      const keepAlive = setInterval(() => undefined, 60_000);
      try {
        // Simulators live in the server process (their state and keys are its own); a worker only
        // serves configured accounts.
        const config = loadConfig();
        const booting = bootstrap({ ...config, simulateUnconfigured: false });
        const booted = await Promise.race([booting, stopped]);
        if (booted === 'stop') {
          booting.then((runtime) => runtime.close()).catch(() => undefined);
          return 0;
        }
        const runtime = booted;
        if (runtime.deps.registry.list().length === 0) runtime.logger.warn({}, 'no provider account is configured; this worker has nothing to retry');
        const runner = new JobRunner(backgroundJobs(runtime.deps, `${hostname()}:${process.pid}:worker`, config), runtime.logger);
        runner.start();
        runtime.logger.info({}, 'worker started');
        await stopped;
        await runner.stop();
        await runtime.close();
        return 0;
      } finally {
        clearInterval(keepAlive);
      }
    },
  },
  'merchant:update': { flags: merchantUpdateFlags, usage: MERCHANT_UPDATE_USAGE.trimEnd(), run: (values) => runMerchantUpdate(values, loadConfig()) },
  reconcile: { flags: reconcileFlags, usage: RECONCILE_USAGE.trimEnd(), run: (values) => runReconcile(values, loadConfig()) },
  'webhook:replay': { flags: webhookReplayFlags, usage: WEBHOOK_REPLAY_USAGE.trimEnd(), run: (values) => runWebhookReplay(values, loadConfig()) },
  'merchant:webhook': { flags: merchantWebhookFlags, usage: MERCHANT_WEBHOOK_USAGE.trimEnd(), run: (values) => runMerchantWebhook(values, loadConfig()) },
  listen: { flags: listenFlags, usage: LISTEN_USAGE.trimEnd(), run: (values) => runListen(values, loadConfig()) },
  trigger: { flags: triggerFlags, usage: TRIGGER_USAGE.trimEnd(), positional: 'event', run: (values) => runTrigger(values, loadConfig()) },
  simulate: { flags: simulateFlags, usage: SIMULATE_USAGE.trimEnd(), run: (values) => runSimulate(values) },
  'new-provider': { flags: newProviderFlags, usage: NEW_PROVIDER_USAGE.trimEnd(), positional: 'id', run: (values) => runNewProvider(values) },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    // Asked for: stdout. Nothing asked: the usage is the answer, but on stderr as before.
    (name === undefined ? process.stderr : process.stdout).write(USAGE);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`paygate: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  try {
    const bare = command.positional !== undefined && rest[0] !== undefined && !rest[0].startsWith('-');
    const values = bare ? { ...parseFlags(rest.slice(1), command.flags), [command.positional!]: rest[0] } : parseFlags(rest, command.flags);
    if (values.help === true) {
      process.stdout.write(`usage: npm run paygate -- ${name} [options]\n\n${command.usage}\n`);
      return 0;
    }
    return await command.run(values);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`paygate ${name}: ${err.message}\n\nusage:\n${command.usage}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    // Expected failures (bad configuration, a database that is down) in words, never a stack trace.
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`paygate: ${message}\n`);
    process.exit(1);
  },
);
