import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { createPayment } from '../../core/checkout.ts';
import { migrateLatest, openDb } from '../../core/db.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { silentLogger } from '../../core/logger.ts';
import { authenticateMerchant, createMerchant } from '../../core/merchants.ts';
import { newOrderNo } from '../../core/order-no.ts';
import { cancelPayment } from '../../core/payments.ts';
import { buildRegistry } from '../../core/registry.ts';
import { providerModules } from '../../providers/index.ts';
import { createSinopacSimulator, type SinopacSimulator } from '../../providers/sinopac/simulator/index.ts';
import { ensureDemoMerchant } from '../../server/bootstrap.ts';
import { secretsOutput } from '../../server/secrets-output.ts';
import { dbTest, openTestDb, testDbKinds, type TestDbHandle, type TestDbKind } from '../helpers/db.ts';
import { mountSimulator, startMerchantServer } from '../helpers/sim-server.ts';

const run = promisify(execFile);

/** A fresh, unmigrated database of the same kind as the test's, closed afterwards. */
async function withFreshDb(kind: TestDbKind, fn: (url: string) => Promise<void>): Promise<void> {
  const fresh = await openTestDb(kind, { migrate: false });
  await fresh.db.destroy();
  try {
    await fn(fresh.url);
  } finally {
    await fresh.close().catch(() => undefined);
  }
}

const cli = (url: string, ...args: string[]) =>
  run(process.execPath, ['--import=tsx', 'server/cli.ts', ...args], { env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' } });

dbTest('the CLI migrates, creates a merchant whose printed key works, lists and rotates it', async (t, h) => {
  await withFreshDb(h.kind, async (url) => {
    const migrated = await cli(url, 'migrate');
    t.regex(migrated.stdout, /create_orders/);
    const created = await cli(url, 'merchant:create', '--name', 'Tea shop');
    const key = /API key:\s+(\S+)/.exec(created.stdout)?.[1];
    const id = /merchant:\s+(mch_\S+)/.exec(created.stdout)?.[1];
    t.truthy(key);
    t.truthy(id);
    const db = openDb(url);
    try {
      t.is((await authenticateMerchant(db, key!))?.name, 'Tea shop');
      t.false(JSON.stringify(await db('merchants').select()).includes(key!), 'only the hash is stored');
      const listed = await cli(url, 'merchant:list');
      t.true(listed.stdout.includes(id!));
      t.false(listed.stdout.includes(key!));
      const rotated = await cli(url, 'merchant:rotate-key', '--id', id!);
      const next = /new API key:\s+(\S+)/.exec(rotated.stdout)?.[1];
      t.truthy(next);
      t.is(await authenticateMerchant(db, key!), undefined, 'the old key stops working');
      t.is((await authenticateMerchant(db, next!))?.id, id);
    } finally {
      await db.destroy();
    }
    const usage = await t.throwsAsync(cli(url, 'merchant:create'));
    t.regex(String((usage as { stderr?: string }).stderr), /--name is required/);
  });
});

dbTest('an empty database gets a demo merchant, with PAYGATE_DEMO_API_KEY when given, once', async (t, h) => {
  await withFreshDb(h.kind, async (url) => {
    const db = openDb(url);
    try {
      await migrateLatest(db);
      // A terminal (isTTY): the banner shows there. Not a terminal: test/unit/secrets-output.test.ts.
      const out = Object.assign(new PassThrough(), { isTTY: true });
      const secrets = secretsOutput({ file: join(tmpdir(), 'paygate-cli-test-unused-secrets.txt'), logger: silentLogger, out });
      let printed = '';
      out.on('data', (c) => (printed += String(c)));
      const key = 'pgk_demo_key_for_tests_only_0000000';
      await ensureDemoMerchant(db, key, secrets);
      // The operator chose this key: it works, the banner says where it is, and it is never printed.
      t.false(printed.includes(key));
      t.regex(printed, /PAYGATE_DEMO_API_KEY/);
      t.is((await authenticateMerchant(db, key))?.name, 'Demo shop');
      printed = '';
      await ensureDemoMerchant(db, key, secrets);
      // Not made again; the banner names it and how to get a new key, never the key itself.
      const demo = (await db('merchants').first('id')) as { id: string };
      t.false(printed.includes(key));
      t.regex(printed, new RegExp(`merchant:rotate-key --id ${demo.id}`));
      t.notRegex(printed, /pgk_/, 'no key printed on a later start');
      t.is(Number((await db('merchants').count({ n: '*' }).first())!.n), 1);
    } finally {
      await db.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// reconcile, webhook:replay, simulate: the CLI as its own process, as an operator runs it.

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `env` added; resolves with its exit code whatever it is. */
function runCli(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import=tsx', 'server/cli.ts', ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const ITEMS = [{ sku: 'TEA-1', name: 'Oolong 300g', unitAmount: 39950, quantity: 2 }];

interface BankFixture {
  bank: SinopacSimulator;
  deps: CoreDeps;
  merchantId: string;
  /** DATABASE_URL and a PAYGATE_CONFIG that points at the bank: what the CLI runs with. */
  env: Record<string, string>;
  /** A SinoPac ATM payment created through core, as POST /v1/payments would. */
  order(): Promise<{ id: string; orderNo: string }>;
}

/**
 * The SinoPac simulator on a port of its own (its BackendURL notifications never reach anyone: the
 * "lost notify"), a PAYGATE_CONFIG file pointing at it, and a merchant on the test's database.
 */
async function withBank(h: TestDbHandle, fn: (f: BankFixture) => Promise<void>, options: { webhookUrl?: string } = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'paygate-cli-'));
  const { sim: bank, close } = await mountSimulator('/sim/sinopac', (baseUrl) =>
    createSinopacSimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null }),
  );
  try {
    bank.setBackendUrlDown(true);
    const providers = { sinopac: { default: bank.accountConfig('default') } };
    const configFile = join(dir, 'paygate.json');
    await writeFile(configFile, JSON.stringify({ providers }), { mode: 0o600 });
    const { registry } = await buildRegistry({ modules: providerModules, config: providers, publicUrl: 'http://127.0.0.1:9', logger: silentLogger, simulateUnconfigured: false });
    const deps: CoreDeps = { db: h.db, registry, logger: silentLogger, now: () => new Date() };
    const { merchant } = await createMerchant(h.db, { name: 'CLI shop', webhookUrl: options.webhookUrl ?? null });
    let n = 0;
    await fn({
      bank,
      deps,
      merchantId: merchant.id,
      // The merchant's receiver is on 127.0.0.1: allowed only by this setting (core/webhook-target.ts).
      env: { DATABASE_URL: h.url, PAYGATE_CONFIG: configFile, PAYGATE_WEBHOOK_ALLOW_PRIVATE: 'true' },
      async order() {
        const order = await createPayment(deps, merchant.id, {
          merchantOrderId: `CLI${Date.now()}${++n}`,
          currency: 'TWD',
          amount: 79900,
          items: ITEMS,
          provider: 'sinopac',
          method: 'atm',
        });
        return { id: order.id, orderNo: order.orderNo };
      },
    });
  } finally {
    await bank.close();
    await close();
    await rm(dir, { recursive: true, force: true });
  }
}

const statusOf = async (h: TestDbHandle, id: string) => (await h.db('orders').where({ id }).first()).status as string;

dbTest('reconcile applies a payment the provider has and we missed; --dry-run writes nothing; a provider fault exits 1', async (t, h) => {
  await withBank(h, async ({ bank, deps, merchantId, env, order }) => {
    const lost = await order();
    const waiting = await order();
    const givenUp = await order();
    await cancelPayment(deps, merchantId, givenUp.id, 'buyer gave up');
    // The buyers transfer; the bank's notifications never reach us.
    await bank.pay(lost.orderNo);
    await bank.pay(givenUp.orderNo);
    t.is(await statusOf(h, lost.id), 'pending');
    t.is(await statusOf(h, givenUp.id), 'cancelled');
    const events = async () => Number((await h.db('events').whereIn('order_id', [lost.id, waiting.id, givenUp.id]).count({ n: '*' }).first())!.n);
    const eventsBefore = await events();

    const dry = await runCli(env, 'reconcile', '--merchant', merchantId, '--dry-run');
    t.is(dry.code, 0, dry.stderr);
    t.regex(dry.stdout, /would change: 2 \(paid 2\)/);
    t.regex(dry.stdout, /would flag for attention: 1/);
    t.regex(dry.stdout, /faults: 0/);
    t.is(await statusOf(h, lost.id), 'pending', 'a dry run changes nothing');
    t.is(await statusOf(h, givenUp.id), 'cancelled');
    t.is((await h.db('order_transitions').whereIn('order_id', [lost.id, givenUp.id]).andWhere({ source: 'reconcile' })).length, 0);
    t.is(await events(), eventsBefore);

    const run = await runCli(env, 'reconcile', '--merchant', merchantId);
    t.is(run.code, 0, run.stderr);
    t.regex(run.stdout, /checked: 2 orders asked/, 'the two orders still waiting, one by one');
    t.regex(run.stdout, /changed: 2 \(paid 2\)/);
    t.regex(run.stdout, /flagged for attention: 1/);
    t.regex(run.stdout, new RegExp(`${lost.id} .*pending -> paid\\s+\\(query\\)`));
    t.regex(run.stdout, new RegExp(`${givenUp.id} .*cancelled -> paid\\s+\\(sweep\\)`), 'found by the sweep over payment times');
    t.is(await statusOf(h, lost.id), 'paid');
    t.is(await statusOf(h, waiting.id), 'pending');
    t.is((await h.db('order_transitions').where({ order_id: lost.id, to_status: 'paid' }).first()).source, 'reconcile');
    t.is((await h.db('events').where({ order_id: lost.id, type: 'payment.paid' })).length, 1);
    const flagged = await h.db('orders').where({ id: givenUp.id }).first();
    t.is(flagged.status, 'paid');
    t.truthy(Number(flagged.attention), 'money for a cancelled order asks for a person');

    const again = await runCli(env, 'reconcile', '--merchant', merchantId);
    t.is(again.code, 0);
    t.regex(again.stdout, /changed: 0\n/);

    bank.setOutage(true);
    const down = await runCli(env, 'reconcile', '--merchant', merchantId);
    t.is(down.code, 1, 'a provider that could not be asked fails the run');
    t.regex(down.stdout, /faults: 2/, 'the waiting order and the sweep');
    t.regex(down.stdout, new RegExp(`${waiting.id} .*HTTP 503|${waiting.id} .*503`));
    bank.setOutage(false);
    t.is(await statusOf(h, waiting.id), 'pending');

    const one = await runCli(env, 'reconcile', '--order', lost.orderNo);
    t.is(one.code, 0);
    t.regex(one.stdout, /is paid: reconciliation asks about orders that are/);
  });
}, { serial: true });

dbTest('webhook:replay re-delivers an event now and prints the HTTP status; --all-failed counts first and replays with --yes', async (t, h) => {
  let answer = 200;
  const receiver = await startMerchantServer(() => ({ status: answer, contentType: 'text/plain', body: 'ok' }));
  try {
    await withBank(h, async ({ env, order, merchantId }) => {
      const o = await order();
      const event = await h.db('events').where({ order_id: o.id, type: 'payment.pending' }).first();
      // Delivery had been given up on (a day of retries against a broken endpoint).
      const giveUp = async () => {
        await h.db('events').where({ id: event.id }).update({ delivery_status: 'failed', attempts: 12 });
        await h.db('webhook_attempts').insert({ event_id: event.id, url: `${receiver.base}/hooks`, attempted_at: Date.now() - 1000, duration_ms: 5, response_status: 503, error: null });
      };
      await giveUp();

      const replayed = await runCli(env, 'webhook:replay', '--event', event.public_id);
      t.is(replayed.code, 0, replayed.stderr);
      t.regex(replayed.stdout, new RegExp(`${event.public_id}\\s+payment.pending .*-> delivered, HTTP 200`));
      t.is(receiver.received.length, 1);
      t.is(JSON.parse(receiver.received[0]!.body).id, event.public_id, 'the stored event, byte for byte');
      const delivered = await h.db('events').where({ id: event.id }).first();
      t.is(delivered.delivery_status, 'delivered');
      t.is(Number(delivered.attempts), 1);
      t.is(Number((await h.db('webhook_attempts').where({ event_id: event.id }).orderBy('id', 'desc').first()).response_status), 200);

      answer = 500;
      const refused = await runCli(env, 'webhook:replay', '--order', o.id, '--type', 'payment.pending');
      t.is(refused.code, 1, 'not delivered');
      t.regex(refused.stdout, /-> retry, HTTP 500 .*the worker tries again from/);
      t.is(receiver.received.length, 2);
      t.is((await h.db('events').where({ id: event.id }).first()).delivery_status, 'pending', 'back on the retry schedule');

      await giveUp();
      const since = new Date(Date.now() - 60_000).toISOString();
      const preview = await runCli(env, 'webhook:replay', '--all-failed', '--since', since, '--merchant', merchantId);
      t.is(preview.code, 0);
      t.regex(preview.stdout, /^1 failed event with a delivery attempt since/m);
      t.regex(preview.stdout, /add --yes/);
      t.is(receiver.received.length, 2, 'nothing sent without --yes');
      answer = 200;
      const all = await runCli(env, 'webhook:replay', '--all-failed', '--since', since, '--merchant', merchantId, '--yes');
      t.is(all.code, 0, all.stderr);
      t.regex(all.stdout, /delivered, HTTP 200/);
      t.is(receiver.received.length, 3);
      t.is((await h.db('events').where({ id: event.id }).first()).delivery_status, 'delivered');

      const unknown = await runCli(env, 'webhook:replay', '--event', 'evt_doesnotexist');
      t.is(unknown.code, 1);
      t.regex(unknown.stderr, /no event evt_doesnotexist/);
    }, { webhookUrl: `${receiver.base}/hooks` });
  } finally {
    await receiver.close();
  }
}, { serial: true });

test('simulate serves every provider\'s simulator, prints a config that works against them, and exits 0 on SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'paygate-sim-'));
  const configOut = join(dir, 'sim.json');
  const child = spawn(process.execPath, ['--import=tsx', 'server/cli.ts', 'simulate', '--port', '0', '--config-out', configOut], {
    env: { ...process.env, LOG_LEVEL: 'info', PAYGATE_CONFIG: join(dir, 'not-there.json') },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += String(c)));
  child.stderr.on('data', (c) => (stderr += String(c)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('stops the simulators') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    t.true(stdout.includes('stops the simulators'), `simulate did not come up: ${stderr}`);
    const port = Number(/bound to 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
    const printed = JSON.parse(/^\{[\s\S]*?^\}$/m.exec(stdout)![0]) as { providers: Record<string, { default: Record<string, unknown> }> };
    t.deepEqual(Object.keys(printed.providers).sort(), providerModules.map((m) => m.id).sort(), 'every provider in providers/index.ts');
    t.deepEqual(JSON.parse(await readFile(configOut, 'utf8')), printed);
    t.is((await stat(configOut)).mode & 0o777, 0o600);

    const home = await fetch(`http://127.0.0.1:${port}/`);
    t.is(home.status, 200);
    t.deepEqual(((await home.json()) as { simulators: { provider: string }[] }).simulators.map((s) => s.provider).sort(), Object.keys(printed.providers).sort());

    // The printed accounts are what a gateway would load: each adapter asks its simulator (signed,
    // verified both ways) about an order it has never seen, and gets a proper answer.
    for (const module of providerModules) {
      const config = module.configSchema.parse(printed.providers[module.id]!.default);
      const provider = module.createProvider('default', config, { logger: silentLogger, callbackUrls: { notifyUrl: 'http://127.0.0.1:9/n', returnUrl: 'http://127.0.0.1:9/r' } });
      const answer = await provider.query({
        order: {
          id: 'pay_simulatetest',
          orderNo: newOrderNo(new Date()),
          subject: 'Tea',
          currency: provider.currencies[0]!,
          amount: 79900,
          method: provider.methods[0]!,
          items: [{ ...ITEMS[0]!, amount: 79900 }],
          providerTradeNo: null,
          status: 'pending',
          attempt: 1,
          createdAt: new Date(),
          expiresAt: new Date(Date.now() + 3_600_000),
          returnUrl: null,
        },
      });
      t.false(answer.found && answer.facts.outcome === 'paid', `${module.id} answered about an unknown order`);
    }

    // Keys made for this run reach stdout once and never the log stream.
    const secrets = Object.values(printed.providers).flatMap((p) =>
      Object.entries(p.default).filter(([k, v]) => typeof v === 'string' && /^(A1|A2|B1|B2|KeyID)$|key|secret/i.test(k)).map(([, v]) => String(v)),
    );
    t.true(secrets.length > 0);
    t.true(stderr.includes('simulator'), 'the simulators did log');
    // A PEM key is checked line by line (its armour lines are the same in every key).
    const pieces = secrets.flatMap((s) => s.split('\n')).map((l) => l.trim()).filter((l) => l.length >= 16 && !l.startsWith('-----'));
    for (const piece of pieces) t.false(stderr.includes(piece), 'no secret in the log stream');
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  t.is(await exited, 0);
  await rm(dir, { recursive: true, force: true });
});

test('the CLI refuses unknown flags and bad values with its usage and exit code 2, never a stack trace', async (t) => {
  const env = { DATABASE_URL: 'sqlite:/nonexistent/never-opened.sqlite' };
  const [unknown, noMode, badPort, badWindow, unknownCommand, help] = await Promise.all([
    runCli(env, 'reconcile', '--nope'),
    runCli(env, 'webhook:replay', '--type', 'payment.paid'),
    runCli(env, 'simulate', '--port', 'abc'),
    runCli(env, 'reconcile', '--from', '2026-11-22', '--to', '2026-11-21'),
    runCli(env, 'frobnicate'),
    runCli(env, '--help'),
  ]);
  for (const r of [unknown, noMode, badPort, badWindow, unknownCommand]) {
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /usage/);
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  }
  t.regex(unknown.stderr, /Unknown option '--nope'/);
  t.regex(noMode.stderr, /give one of --event/);
  t.regex(badPort.stderr, /--port must be a whole number/);
  t.regex(badWindow.stderr, /--from .* must be before --to/);
  t.is(help.code, 0);
  for (const command of ['reconcile', 'webhook:replay', 'simulate', 'merchant:create']) t.true(help.stdout.includes(command));
});

// `npm run worker` whose database goes away (a failover, a restart): it logs, keeps trying, and
// stays up until it is told to stop. Its job timers hold nothing, so once every connection had
// dropped it used to exit, with status 0, and a supervisor restarting only failures left it gone.
if (testDbKinds().includes('mysql')) {
  test('the worker stays up while its database is unreachable, and stops on SIGTERM [mariadb]', async (t) => {
    const fresh = await openTestDb('mysql');
    t.teardown(() => fresh.close().catch(() => undefined));
    await fresh.db.destroy();
    const target = new URL(fresh.url);
    // The worker reaches MariaDB through this proxy, which the test then closes: every connection
    // drops and new ones are refused.
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as net.AddressInfo).port;
    const url = `${target.protocol}//${target.username}:${target.password}@127.0.0.1:${port}${target.pathname}`;
    const worker = spawn(process.execPath, ['--import=tsx', 'server/cli.ts', 'worker'], {
      env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'info', PAYGATE_SIMULATORS: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    worker.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    t.teardown(() => {
      if (worker.exitCode === null) worker.kill('SIGKILL');
    });
    // Up: booted through the proxy (its own migrate run, its jobs started: it logs so). Cutting the
    // database during the boot is another matter: a fixed pause here once cut a loaded machine's
    // boot migration short.
    for (const deadline = Date.now() + 60_000; !output.includes('worker started') && worker.exitCode === null && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
    t.true(output.includes('worker started'), `the worker booted:\n${output}`);
    t.true(sockets.size > 0, 'through the proxy');
    t.is(worker.exitCode, null, `the worker is running:\n${output}`);
    await new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    await new Promise((r) => setTimeout(r, 4_000));
    t.is(worker.exitCode, null, `the worker is still up with its database gone:\n${output}`);
    worker.kill('SIGTERM');
    t.is(await exited, 0, `and stops when asked:\n${output}`);
  });
}
