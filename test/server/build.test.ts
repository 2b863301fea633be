/**
 * What production runs: `npm run build` compiles to dist/, and `node dist/server/main.js` serves
 * with Node alone: no tsx, no TypeScript source loaded, migrations named as when run from source.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

// One build for the file: both databases run the same dist/.
let built: { status: number | null; output: string } | undefined;
function build() {
  built ??= (() => {
    const r = spawnSync(process.execPath, ['server/build-if-needed.mjs'], { cwd: ROOT, encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  })();
  return built;
}

dbTest('the build runs on Node alone: no tsx, no .ts module loaded; it serves the API and names migrations as the sources do', async (t, h) => {
  t.timeout(120_000);
  const b = build();
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
