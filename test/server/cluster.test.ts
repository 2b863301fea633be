/**
 * PAYGATE_WORKERS=2 (node:cluster): `server/main.ts` as `npm start` runs it, with two HTTP workers
 * behind one port. Both workers answer, what must happen once happens once, and SIGTERM stops the
 * whole tree with exit code 0.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dbTest } from '../helpers/db.ts';
import { freePort, hasExited, waitExit } from '../helpers/mariadb.ts';

interface Started {
  proc: ChildProcess;
  output: () => { stdout: string; stderr: string };
}

function startGateway(env: Record<string, string>): Started {
  const full: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PAYGATE_SIMULATORS: 'off', LOG_LEVEL: 'warn', ...env };
  // Unset, so the primary makes one up and hands it to the workers.
  if (!env.PAYGATE_ADMIN_PASSWORD) delete full.PAYGATE_ADMIN_PASSWORD;
  const proc = spawn(process.execPath, ['--import=tsx', 'server/main.ts'], { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return { proc, output: () => ({ stdout, stderr }) };
}

/** GET on a connection of its own, so that each request may land on another worker. */
function get(port: number, path: string): Promise<{ status: number; worker: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' }, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, worker: res.headers['x-paygate-worker'] as string | undefined }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A dashboard sign-in on a connection of its own (any worker). */
function signIn(port: number, password: string): Promise<{ status: number }> {
  const body = new URLSearchParams({ username: 'admin', password }).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/admin/login', method: 'POST', agent: false, headers: { connection: 'close', 'content-type': 'application/x-www-form-urlencoded' }, timeout: 2_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

dbTest('PAYGATE_WORKERS=2: both workers answer /healthz; demo merchant and password made once; SIGTERM exits 0', async (t, h) => {
  t.timeout(90_000);
  const port = await freePort();
  // stdout is a pipe here, so made-up secrets go to this file (server/secrets-output.ts).
  const secretsDir = await mkdtemp(join(tmpdir(), 'paygate-cluster-secrets-'));
  const secretsFile = join(secretsDir, 'paygate-secrets.txt');
  const gateway = startGateway({ PORT: String(port), DATABASE_URL: h.url, PAYGATE_WORKERS: '2', PAYGATE_INLINE_WORKER: 'true', PAYGATE_SECRETS_FILE: secretsFile });
  try {
    const workers = new Set<string>();
    const deadline = Date.now() + 60_000;
    while (workers.size < 2 && Date.now() < deadline) {
      if (hasExited(gateway.proc)) break;
      const answer = await get(port, '/healthz').catch(() => null);
      if (answer?.status === 200 && answer.worker) workers.add(answer.worker);
      else await new Promise((r) => setTimeout(r, 100));
    }
    t.deepEqual([...workers].sort(), ['1', '2'], `both workers answered; output: ${JSON.stringify(gateway.output())}`);

    const { stdout } = gateway.output();
    t.is(count(stdout, 'created with a made-up API key'), 1, 'the demo merchant is created by the primary alone');
    t.is(count(stdout, 'dashboard password made up'), 1, 'one made-up dashboard password for every worker');
    const password = /^admin_password=(\S+)$/m.exec(await readFile(secretsFile, 'utf8'))?.[1];
    t.truthy(password);
    t.false(stdout.includes(password!), 'the password is in the file, not in the log stream');
    for (let i = 0; i < 4; i++) t.is((await signIn(port, password!)).status, 303, 'every worker takes the password from the primary');
    t.is((await h.db('merchants').where({ name: 'Demo shop' })).length, 1);

    gateway.proc.kill('SIGTERM');
    t.true(await waitExit(gateway.proc, 40_000), 'the primary exits after SIGTERM');
    t.is(gateway.proc.exitCode, 0, gateway.output().stderr);
    const refused = await get(port, '/healthz').then(
      () => false,
      () => true,
    );
    t.true(refused, 'no worker is left listening');
  } finally {
    if (!hasExited(gateway.proc)) gateway.proc.kill('SIGKILL');
    await rm(secretsDir, { recursive: true, force: true });
  }
});

test('PAYGATE_WORKERS=2 refuses to start with simulators, saying why', async (t) => {
  t.timeout(60_000);
  const dir = await mkdtemp(join(tmpdir(), 'paygate-cluster-'));
  const port = await freePort();
  const gateway = startGateway({ PORT: String(port), DATABASE_URL: `sqlite:${join(dir, 'x.sqlite')}`, PAYGATE_WORKERS: '2', PAYGATE_SIMULATORS: 'on' });
  try {
    t.true(await waitExit(gateway.proc, 45_000), 'it stops by itself');
    t.is(gateway.proc.exitCode, 1);
    const { stderr } = gateway.output();
    t.regex(stderr, /PAYGATE_WORKERS=2 cannot run with provider simulators/);
    t.regex(stderr, /PAYGATE_SIMULATORS=off/);
  } finally {
    if (!hasExited(gateway.proc)) gateway.proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
