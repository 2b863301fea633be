/**
 * What production runs: `npm run build` compiles to dist/, and `node dist/server/main.js` serves
 * with Node alone: no tsx, no TypeScript source loaded, migrations named as when run from source.
 * Then what a merchant installs: the `npm pack` tarball, installed without dev dependencies into an
 * empty folder, serving real (configured) accounts with no simulator code loaded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { createMerchant } from '../../core/merchants.ts';
import { dbTest } from '../helpers/db.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Runs a command to its end without blocking the event loop. A spawnSync here stopped this test
 * file's process for the length of a build or an `npm install`, while the other database's test
 * was opening its database: knex's 10 s wait for a connection ran out inside the block, and CI saw
 * "Timeout acquiring a connection" on MariaDB with nothing wrong with the database.
 */
function runAsync(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ status: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (err) => resolvePromise({ status: null, output: `${output}${err.message}` }));
    child.on('close', (status) => resolvePromise({ status, output }));
  });
}

// One build for the file: both databases run the same dist/.
let built: Promise<{ status: number | null; output: string }> | undefined;
// The tarball and packing happen after (and reuse) that build: two builds at once would race on dist/.
function build() {
  built ??= runAsync(process.execPath, ['server/build-if-needed.mjs'], { cwd: ROOT });
  return built;
}

dbTest('the build runs on Node alone: no tsx, no .ts module loaded; it serves the API and names migrations as the sources do', async (t, h) => {
  t.timeout(120_000);
  const b = await build();
  t.is(b.status, 0, b.output);
  const dir = mkdtempSync(join(tmpdir(), 'paygate-build-'));
  const port = await freePort();
  const moduleLog = join(dir, 'modules.txt');
  const child = spawn(process.execPath, ['--import', './test/fixtures/record-modules.mjs', 'dist/server/main.js'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: h.url,
      PAYGATE_SECRETS_TO: 'file',
      PAYGATE_SECRETS_FILE: join(dir, 'secrets.txt'),
      PAYGATE_ADMIN_PASSWORD: 'fake-admin-password-for-tests',
      PAYGATE_PROBE_INTERVAL_SECONDS: '0',
      PAYGATE_MODULE_LOG: moduleLog,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += String(c)));
  child.stderr.on('data', (c) => (output += String(c)));
  try {
    const base = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 300 && !ready && child.exitCode === null; i++) {
      ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    t.true(ready, output);
    const { apiKey } = await createMerchant(h.db, { name: 'Build check shop' });
    const res = await fetch(`${base}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ merchantOrderId: `B${Date.now()}`, currency: 'TWD', amount: 1200, provider: 'sinopac', method: 'card', items: [{ sku: 'TEA', name: '凍頂烏龍茶', unitAmount: 1200, quantity: 1 }] }),
    });
    const body = (await res.json()) as { status: string; action?: { type: string } };
    t.is(res.status, 201, JSON.stringify(body));
    t.is(body.status, 'pending');
    t.is(body.action?.type, 'redirect');
    // Alipay's hand-off is signed on the sign pool's worker threads (providers/kit/sign-pool.ts):
    // they start from dist/ as well, and the simulator's gateway accepts what they signed.
    const alipay = await fetch(`${base}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ merchantOrderId: `BA${Date.now()}`, currency: 'CNY', amount: 8888, provider: 'alipay', method: 'page', items: [{ sku: 'TEA', name: '西湖龙井', unitAmount: 8888, quantity: 1 }] }),
    });
    const created = (await alipay.json()) as { status: string; action?: { type: string; url: string } };
    t.is(alipay.status, 201, JSON.stringify(created));
    t.is(created.action?.type, 'redirect');
    const handoff = await fetch(created.action!.url.replace(/^https?:\/\/[^/]+/, base), { redirect: 'manual' });
    t.is(handoff.status, 302, `the gateway accepts the signature: ${await handoff.text()}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
  const loaded = readFileSync(moduleLog, 'utf8').split('\n').filter(Boolean);
  t.true(loaded.some((u) => u.endsWith('/dist/server/main.js')), 'the log recorded the entry point');
  t.deepEqual(loaded.filter((u) => /\/node_modules\/(tsx|typescript)\//.test(u)), [], 'no tsx or TypeScript in the process');
  t.deepEqual(loaded.filter((u) => u.startsWith('file:') && /\.ts$/.test(u)), [], 'no TypeScript source loaded');
  const names = (await h.db('knex_migrations').select('name')).map((r: { name: string }) => r.name);
  t.true(names.length > 10 && names.every((n) => n.endsWith('.ts')), 'migration names are the sources\' whatever runs them');
  rmSync(dir, { recursive: true, force: true });
});

/** A child's output, kept for failure messages. */
function collect(child: ChildProcess): () => string {
  let output = '';
  child.stdout?.on('data', (c) => (output += String(c)));
  child.stderr?.on('data', (c) => (output += String(c)));
  return () => output;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

async function waitFor(check: () => Promise<boolean> | boolean, child: ChildProcess, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

interface Installed {
  /** The folder the tarball was installed into; paygate is node_modules/paygate under it. */
  dir: string;
  tarball: string;
  output: string;
}

/**
 * `npm pack`, then `npm install <tarball> --omit=dev` into an empty folder, once for the file. The
 * install takes packages from npm's cache where it can (the registry otherwise) and skips install
 * scripts: the only one is better-sqlite3's native build, which is the very file `npm ci` built for
 * this checkout (same Node, same machine) and is copied in: this test checks what paygate ships,
 * not the compiler (compiling it here costs a minute on two cores).
 */
let installing: Promise<Installed> | undefined;
function installPackage(): Promise<Installed> {
  installing ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paygate-pack-'));
    const run = async (cmd: string, args: string[], cwd: string) => {
      const r = await runAsync(cmd, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.output}`);
      return r.output;
    };
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    // dist/ is what build() made; prepack would build again, so scripts are skipped here.
    const packed = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
    const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string }[];
    const tarball = join(dir, info!.filename);
    const app = join(dir, 'app');
    await run('mkdir', ['-p', app], dir);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'shop-backend', private: true }));
    const output = await run(npm, ['install', '--omit=dev', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], app);
    const native = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    await run('mkdir', ['-p', dirname(join(app, native))], app);
    copyFileSync(join(ROOT, native), join(app, native));
    return { dir: app, tarball, output };
  })();
  return installing;
}

dbTest('the npm package installs without dev dependencies and serves a configured account with no simulator, tsx or source loaded', async (t, h) => {
  t.timeout(240_000);
  const b = await build();
  t.is(b.status, 0, b.output);
  const pkg = await installPackage();
  const installed = join(pkg.dir, 'node_modules');
  t.true(existsSync(join(installed, 'paygate', 'dist', 'server', 'main.js')), 'the tarball carries the build');
  for (const dev of ['tsx', 'typescript', 'playwright-core', 'autocannon', 'ava', 'sinon']) {
    t.false(existsSync(join(installed, dev)), `${dev} is not installed by --omit=dev`);
  }
  t.false(existsSync(join(installed, 'paygate', 'test')), 'tests are not shipped');
  const bin = join(installed, '.bin', 'paygate');
  t.true(existsSync(bin), 'the paygate command is installed');

  const work = mkdtempSync(join(tmpdir(), 'paygate-pack-run-'));
  const env = {
    PATH: process.env.PATH,
    DATABASE_URL: h.url,
    PAYGATE_SECRETS_TO: 'file',
    PAYGATE_SECRETS_FILE: join(work, 'secrets.txt'),
    PAYGATE_ADMIN_PASSWORD: 'fake-admin-password-for-tests',
    PAYGATE_PROBE_INTERVAL_SECONDS: '0',
    LOG_LEVEL: 'warn',
  };
  // The provider side: the installed package's own `paygate simulate`, a separate process.
  const configFile = join(work, 'providers.json');
  const simulate = spawn(bin, ['simulate', '--port', '0', '--config-out', configFile], { cwd: pkg.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const simOutput = collect(simulate);
  const moduleLog = join(work, 'modules.txt');
  let gateway: ChildProcess | undefined;
  try {
    t.true(await waitFor(() => existsSync(configFile) && /listening on/.test(simOutput()), simulate, 60_000), simOutput());
    const sinopacBase = (JSON.parse(readFileSync(configFile, 'utf8')) as { providers: { sinopac: { default: { baseUrl: string } } } }).providers.sinopac.default.baseUrl;

    const migrate = await runAsync(bin, ['migrate'], { cwd: pkg.dir, env });
    t.is(migrate.status, 0, migrate.output);

    const port = await freePort();
    gateway = spawn(process.execPath, ['--import', join(ROOT, 'test', 'fixtures', 'record-modules.mjs'), join(installed, 'paygate', 'dist', 'server', 'main.js')], {
      cwd: work,
      env: { ...env, PORT: String(port), HOST: '127.0.0.1', PAYGATE_CONFIG: configFile, PAYGATE_MODULE_LOG: moduleLog },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collect(gateway);
    const base = `http://127.0.0.1:${port}`;
    t.true(await waitFor(() => fetch(`${base}/readyz`).then((r) => r.status === 200, () => false), gateway, 60_000), output());
    t.is((await fetch(`${base}/sim/sinopac/`)).status, 404, 'no simulator is mounted beside configured accounts');

    const { apiKey } = await createMerchant(h.db, { name: 'Packaged shop' });
    const res = await fetch(`${base}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ merchantOrderId: `P${Date.now()}`, currency: 'TWD', amount: 1200, provider: 'sinopac', method: 'card', items: [{ sku: 'TEA', name: '凍頂烏龍茶', unitAmount: 1200, quantity: 1 }] }),
    });
    const body = (await res.json()) as { status: string; action?: { type: string; url?: string } };
    t.is(res.status, 201, `${JSON.stringify(body)}\n${output()}`);
    t.is(body.status, 'pending');
    t.true(body.action?.url?.startsWith(new URL(sinopacBase).origin), `the card page is the separately started simulator's: ${body.action?.url}`);
    const rss = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${gateway.pid}/status`, 'utf8'))?.[1] ?? 0);
    const du = await runAsync('du', ['-sk', installed], { cwd: ROOT });
    t.log(`installed: ${Math.round(Number(du.output.split('\t')[0]) / 1024)} MB node_modules; gateway RSS after one payment: ${Math.round(rss / 1024)} MB`);
  } finally {
    if (gateway) await stop(gateway);
    await stop(simulate);
  }
  const loaded = readFileSync(moduleLog, 'utf8').split('\n').filter((u) => u.startsWith('file:'));
  t.true(loaded.some((u) => u.endsWith('/node_modules/paygate/dist/server/main.js')), 'the log recorded the installed entry point');
  t.deepEqual(loaded.filter((u) => !u.startsWith(pathToFileURL(pkg.dir).href)), [], 'every module comes from the installed folder, none from this checkout');
  t.deepEqual(loaded.filter((u) => /\/(simulator|simulator-kit)\//.test(u)), [], 'no simulator code is loaded when accounts are configured');
  t.deepEqual(loaded.filter((u) => /\.ts$/.test(u) || /\/(tsx|typescript)\//.test(u)), [], 'no TypeScript, no tsx');
  rmSync(work, { recursive: true, force: true });
});

test.after.always(async () => {
  const pkg = await installing?.catch(() => undefined);
  if (pkg) rmSync(dirname(pkg.dir), { recursive: true, force: true });
});
