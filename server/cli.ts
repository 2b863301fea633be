import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { openDb } from '../core/db.ts';
import { GatewayError } from '../core/errors.ts';
import { JobRunner } from '../core/jobs/runner.ts';
import { createMerchant, listMerchants, rotateApiKey } from '../core/merchants.ts';
import { createMerchantInput } from '../core/api-schemas.ts';
import { parseWith } from '../core/validation.ts';
import { bootstrap } from './bootstrap.ts';
import { backgroundJobs } from './jobs.ts';

const USAGE = `usage: npm run paygate -- <command> [options]

  migrate                         apply every pending migration
  migrate:rollback [--all]        undo the last batch (or every migration)
  merchant:create --name <name> [--webhook-url <url>]
                                  create a merchant and print its API key once
  merchant:list                   list merchants (never their keys)
  merchant:rotate-key --id <id>   issue a new API key; the old one stops working
  worker                          run the background jobs in this process only
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, 'webhook-url': { type: 'string' }, id: { type: 'string' }, all: { type: 'boolean' } },
    strict: true,
  });
  const config = loadConfig();
  switch (command) {
    case 'migrate': {
      const db = openDb(config.databaseUrl);
      try {
        const [, applied] = (await db.migrate.latest()) as [number, string[]];
        console.log(applied.length ? `applied:\n  ${applied.join('\n  ')}` : 'already up to date');
      } finally {
        await db.destroy();
      }
      return 0;
    }
    case 'migrate:rollback': {
      const db = openDb(config.databaseUrl);
      try {
        const [, undone] = (await db.migrate.rollback(undefined, Boolean(values.all))) as [number, string[]];
        console.log(undone.length ? `rolled back:\n  ${undone.join('\n  ')}` : 'nothing to roll back');
      } finally {
        await db.destroy();
      }
      return 0;
    }
    case 'merchant:create': {
      if (!values.name) throw new GatewayError('usage', '--name is required', { httpStatus: 400 });
      parseWith(createMerchantInput, { name: values.name, ...(values['webhook-url'] ? { webhookUrl: values['webhook-url'] } : {}) });
      const runtime = await bootstrap({ ...config, simulateUnconfigured: false, logLevel: 'warn' });
      try {
        const { merchant, apiKey, webhookSecret } = await createMerchant(runtime.db, { name: values.name, webhookUrl: values['webhook-url'] ?? null });
        console.log(`merchant:        ${merchant.id} (${merchant.name})`);
        console.log(`API key:         ${apiKey}`);
        console.log(`webhook secret:  ${webhookSecret}`);
        console.log('Store both now: the API key is kept only as a hash and is not shown again.');
      } finally {
        await runtime.close();
      }
      return 0;
    }
    case 'merchant:list': {
      const runtime = await bootstrap({ ...config, simulateUnconfigured: false, logLevel: 'warn' });
      try {
        for (const m of await listMerchants(runtime.db)) {
          console.log(`${m.id}\t${m.name}\t${m.webhookUrl ?? '-'}\t${m.createdAt.toISOString()}`);
        }
      } finally {
        await runtime.close();
      }
      return 0;
    }
    case 'merchant:rotate-key': {
      if (!values.id) throw new GatewayError('usage', '--id is required', { httpStatus: 400 });
      const runtime = await bootstrap({ ...config, simulateUnconfigured: false, logLevel: 'warn' });
      try {
        const key = await rotateApiKey(runtime.db, values.id);
        if (!key) {
          console.error(`no merchant ${values.id}`);
          return 1;
        }
        console.log(`new API key: ${key}`);
      } finally {
        await runtime.close();
      }
      return 0;
    }
    case 'worker': {
      // Simulators live in the server process (their state and keys are its own); a worker only
      // serves configured accounts.
      const runtime = await bootstrap({ ...config, simulateUnconfigured: false });
      if (runtime.deps.registry.list().length === 0) runtime.logger.warn({}, 'no provider account is configured; this worker has nothing to retry');
      const runner = new JobRunner(backgroundJobs(runtime.deps, `${hostname()}:${process.pid}:worker`), runtime.logger);
      runner.start();
      runtime.logger.info({}, 'worker started');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await runner.stop();
      await runtime.close();
      return 0;
    }
    default:
      process.stderr.write(USAGE);
      return command ? 2 : 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`paygate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
