/**
 * `npm start` as an operator meets it: a port already taken, the log format on a terminal or not,
 * and `npm run paygate -- reconcile` against the demo's simulators, which live in the server process.
 */
import test from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { newApiKey } from '../../core/merchants.ts';
import { chooseLogFormat, loadPretty, logDestination } from '../../server/log-format.ts';
import { dbTest } from '../helpers/db.ts';
import { paymentBody } from '../helpers/app.ts';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `npm start` (server/main.ts) as a child process; its output collected. */
function startGateway(env: Record<string, string | undefined>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const full: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [name, value] of Object.entries(full)) if (value === undefined) delete full[name];
  const child = spawn(process.execPath, ['--import=tsx', 'server/main.ts'], { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

test('chooseLogFormat: pretty on a terminal when pino-pretty is there, JSON otherwise', (t) => {
  t.is(chooseLogFormat({ isTTY: true }, true), 'pretty');
  t.is(chooseLogFormat({ isTTY: false }, true), 'json');
  t.is(chooseLogFormat({}, true), 'json', 'a pipe or file has no isTTY');
  t.is(chooseLogFormat({ isTTY: true }, false), 'json', 'a production install without dev dependencies');
});

test('loadPretty finds pino-pretty, and answers undefined (no crash) when it is not installed', (t) => {
  t.is(typeof loadPretty(), 'function');
  const missing = () => {
    throw Object.assign(new Error("Cannot find module 'pino-pretty'"), { code: 'MODULE_NOT_FOUND' });
  };
  t.is(loadPretty(missing), undefined);
  const broken = () => {
    throw Object.assign(new Error('syntax error in pino-pretty'), { code: 'ERR_SOMETHING' });
  };
  t.throws(() => loadPretty(broken), { message: /syntax error/ }, 'a broken install is not hidden');
});

test('logDestination: a pretty stream for a terminal, the default JSON stream otherwise', (t) => {
  const tty = Object.assign(new PassThrough(), { isTTY: true, fd: 1 });
  const pretty = logDestination(tty);
  t.is(pretty.format, 'pretty');
  t.truthy(pretty.stream);
  const pipe = Object.assign(new PassThrough(), { isTTY: false });
  t.deepEqual(logDestination(pipe), { format: 'json' });
  t.deepEqual(logDestination(tty, null), { format: 'json' }, 'no pino-pretty: JSON on the terminal too');
});

dbTest('npm start on a port already in use exits 1 naming the port and PORT, before any password or key is made up', async (t, h) => {
  const dir = await mkdtemp(join(tmpdir(), 'paygate-startup-'));
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as net.AddressInfo;
  try {
    const secretsFile = join(dir, 'secrets.txt');
    const gateway = startGateway({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: h.url,
      // Both would be made up and shown (terminal) were the port free: the test would see them.
      PAYGATE_ADMIN_PASSWORD: undefined,
      PAYGATE_DEMO_API_KEY: undefined,
      PAYGATE_SECRETS_TO: 'terminal',
      PAYGATE_SECRETS_FILE: secretsFile,
      LOG_LEVEL: 'info',
    });
    const code = await gateway.exited;
    const output = gateway.output();
    t.is(code, 1, output);
    t.regex(output, new RegExp(`port ${port} is already in use`));
    t.regex(output, /PORT=\d+ npm start/);
    t.notRegex(output, /password|API key|Demo merchant/i);
    await t.throwsAsync(stat(secretsFile), { code: 'ENOENT' }, 'no secrets file either');
    t.is(await h.db('merchants').count({ n: '*' }).first().then((r) => Number((r as { n: unknown }).n)), 0, 'no demo merchant made');
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  }
});

dbTest('reconcile CLI reaches the demo simulators of a running gateway and finds a payment whose notify was lost', async (t, h) => {
  const dir = await mkdtemp(join(tmpdir(), 'paygate-startup-'));
  const port = await freePort();
  const apiKey = newApiKey();
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: h.url,
    PAYGATE_DEMO_API_KEY: apiKey,
    PAYGATE_ADMIN_PASSWORD: 'fake-admin-password-for-tests',
    PAYGATE_SECRETS_FILE: join(dir, 'secrets.txt'),
    // No background sweep: only the CLI may find the payment.
    PAYGATE_INLINE_WORKER: 'false',
    PAYGATE_PROBE_INTERVAL_SECONDS: '0',
    LOG_LEVEL: 'warn',
  };
  const gateway = startGateway(env);
  const url = `http://127.0.0.1:${port}`;
  try {
    // Ready once the API answers (503 while starting).
    for (let i = 0; ; i++) {
      const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 300) t.fail(`the gateway did not start: ${gateway.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const api = (method: string, path: string, body?: unknown) =>
      fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

    const created = await api('POST', '/v1/payments', paymentBody({ provider: 'sinopac', method: 'atm', merchantOrderId: `M${port}x${Date.now()}` }));
    t.is(created.status, 201, JSON.stringify(created.body));
    const control = (action: string, body: unknown) =>
      fetch(`${url}/sim/sinopac/_control/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as any);
    await control('backend', { down: true }); // the bank's notify never reaches the gateway
    const paid = await control('pay', { orderNo: created.body.orderNo });
    t.is(paid.status, 'S');
    t.is((await api('GET', `/v1/payments/${created.body.id}`)).body.status, 'pending', 'the gateway has not heard');

    const cli = await run(process.execPath, ['--import=tsx', 'server/cli.ts', 'reconcile', '--order', created.body.id], { env: { ...process.env, ...env } });
    t.regex(cli.stdout, new RegExp(`${created.body.id}.*pending -> paid`));
    t.is((await api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');
  } finally {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    await rm(dir, { recursive: true, force: true });
  }
});

test('reconcile CLI in the demo with no gateway running says to start it, and exits 1', async (t) => {
  const port = await freePort();
  const error = await t.throwsAsync(
    run(process.execPath, ['--import=tsx', 'server/cli.ts', 'reconcile'], {
      env: { ...process.env, PORT: String(port), DATABASE_URL: 'sqlite::memory:', PAYGATE_CONFIG: '', PAYGATE_SIMULATORS: 'auto', LOG_LEVEL: 'warn' },
    }),
  );
  const failed = error as unknown as { code: number; stderr: string };
  t.is(failed.code, 1);
  t.regex(failed.stderr, new RegExp(`simulators run inside the gateway started with \`npm start\`.*http://localhost:${port}`, 's'));
  t.regex(failed.stderr, /Start the gateway first/);
});
