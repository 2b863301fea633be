/**
 * Secrets made up at start (the dashboard password, the demo merchant's API key) never reach the
 * log stream when stdout is not a terminal: they go to a 0600 file whose path is logged.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { BackgroundTasks } from '../../server/background.ts';
import { appDeps, bootstrap, ensureDemoMerchant } from '../../server/bootstrap.ts';
import { createLogger } from '../../server/logger.ts';
import { secretsOutput, storeSecret } from '../../server/secrets-output.ts';

/** A stream that remembers what was written to it; `isTTY` as given. */
function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), isTTY ? { isTTY: true } : {});
  let text = '';
  stream.on('data', (chunk) => (text += String(chunk)));
  return { stream, text: () => text };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'paygate-secrets-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What `npm start` does before it listens: the runtime, the demo merchant, the dashboard password. */
async function start(dir: string, isTTY: boolean, env: Record<string, string> = {}) {
  const config = loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'data', 'paygate.sqlite')}`, LOG_LEVEL: 'silent', PAYGATE_SIMULATORS: 'off', ...env });
  const out = capture(isTTY);
  const logs = capture(false);
  const runtime = await bootstrap(config);
  try {
    // The logger writes the JSON log stream; here into `logs` instead of stdout.
    const secrets = secretsOutput({ file: config.secretsFile, to: config.secretsTo, logger: createLogger('info', logs.stream), out: out.stream });
    await ensureDemoMerchant(runtime.db, config.demoApiKey, secrets);
    const deps = await appDeps(config, runtime, new BackgroundTasks(), secrets);
    return { config, out: out.text(), logs: logs.text(), password: deps.admin!.password };
  } finally {
    await runtime.close();
  }
}

test('stdout not a terminal: the made-up password and demo key go to a 0600 file; stdout and the logs get only its path', async (t) => {
  await withTempDir(async (dir) => {
    const { config, out, logs, password } = await start(dir, false);
    t.is(config.secretsFile, join(dir, 'data', 'paygate-secrets.txt'), 'beside the SQLite file by default');
    t.is(out, '', 'nothing on stdout');
    t.false(logs.includes(password));
    const file = await readFile(config.secretsFile, 'utf8');
    t.regex(file, new RegExp(`^admin_password=${password}$`, 'm'));
    const apiKey = /^demo_api_key=(\S+)$/m.exec(file)?.[1];
    t.truthy(apiKey);
    t.false(logs.includes(apiKey!), 'the demo key is not logged either');
    t.is((await stat(config.secretsFile)).mode & 0o777, 0o600);
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; secretsFile?: string });
    t.is(lines.length, 2);
    for (const line of lines) t.is(line.secretsFile, config.secretsFile, line.msg);
    t.regex(lines[1]!.msg, /dashboard password made up/);

    // A restart makes a new password; the demo key from the first start stays in the file.
    const again = await start(dir, false);
    const next = await readFile(config.secretsFile, 'utf8');
    t.regex(next, new RegExp(`^admin_password=${again.password}$`, 'm'));
    t.false(next.includes(password));
    t.true(next.includes(`demo_api_key=${apiKey}`));
    t.is((await stat(config.secretsFile)).mode & 0o777, 0o600);
  });
});

test('on a terminal the banner shows the secrets, framed, and no file is written', async (t) => {
  await withTempDir(async (dir) => {
    const { config, out, logs, password } = await start(dir, true);
    t.true(out.includes(`password (this run only): ${password}`));
    t.regex(out, /API key \(shown once\): \S+/);
    t.regex(out, /={20,}\n {2}Admin dashboard/);
    t.false(logs.includes(password));
    t.false(existsSync(config.secretsFile));
  });
});

test('a secrets file that cannot be written stops the start, naming the variable, without the secret', async (t) => {
  const logs = capture(false);
  const secrets = secretsOutput({ file: '/dev/null/not-a-directory/paygate-secrets.txt', logger: createLogger('info', logs.stream), out: capture(false).stream });
  const value = 'made-up-value-for-tests-0000';
  const err = t.throws(() =>
    secrets.reveal({ name: 'admin_password', value, context: {}, banner: [value], logMessage: 'dashboard password made up', setting: 'PAYGATE_ADMIN_PASSWORD' }),
  );
  t.true(err instanceof ConfigError);
  t.regex(err!.message, /PAYGATE_ADMIN_PASSWORD/);
  t.regex(err!.message, /PAYGATE_SECRETS_FILE/);
  t.false(err!.message.includes(value));
  t.false(logs.text().includes(value));
});

test('PAYGATE_SECRETS_FILE: beside a SQLite file by default, ./data for MariaDB, or where it says', (t) => {
  t.is(loadConfig({ DATABASE_URL: 'sqlite:/srv/paygate/db.sqlite' }).secretsFile, '/srv/paygate/paygate-secrets.txt');
  t.is(loadConfig({ DATABASE_URL: 'mysql://u:p@db:3306/paygate' }).secretsFile, resolve('data', 'paygate-secrets.txt'));
  t.is(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).secretsFile, resolve('data', 'paygate-secrets.txt'));
  t.is(loadConfig({ PAYGATE_SECRETS_FILE: '/run/secrets/paygate.txt' }).secretsFile, '/run/secrets/paygate.txt');
});

test('npm start with stdout into a pipe (as under systemd or Docker): the password is in the file, never in the output', async (t) => {
  await withTempDir(async (dir) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'db', 'paygate.sqlite')}`, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
    for (const name of ['PAYGATE_ADMIN_PASSWORD', 'PAYGATE_DEMO_API_KEY', 'PAYGATE_SECRETS_FILE', 'PAYGATE_CONFIG', 'PAYGATE_WORKERS']) delete env[name];
    const child = spawn(process.execPath, ['--import=tsx', 'server/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += String(c)));
    child.stderr.on('data', (c) => (output += String(c)));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes('paygate listening') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      t.true(output.includes('paygate listening'), output.slice(0, 2000));
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const file = join(dir, 'db', 'paygate-secrets.txt');
    const text = await readFile(file, 'utf8');
    const password = /^admin_password=(\S+)$/m.exec(text)?.[1];
    const apiKey = /^demo_api_key=(\S+)$/m.exec(text)?.[1];
    t.truthy(password);
    t.truthy(apiKey);
    t.false(output.includes(password!), 'the password is not in stdout or stderr');
    t.false(output.includes(apiKey!), 'nor the demo key');
    t.true(output.includes(file), 'the path is logged');
    t.is((await stat(file)).mode & 0o777, 0o600);
    // Every stdout line is still a JSON log line: no banner broke the stream.
    for (const line of output.split('\n').filter((l) => l.startsWith('{'))) t.notThrows(() => JSON.parse(line));
  });
});

test('PAYGATE_SECRETS_TO=file: on a terminal too (docker run -t makes stdout a terminal that is still the log), nothing is printed', async (t) => {
  await withTempDir(async (dir) => {
    const { config, out, logs, password } = await start(dir, true, { PAYGATE_SECRETS_TO: 'file' });
    t.is(out, '', 'no banner');
    t.false(logs.includes(password));
    t.regex(await readFile(config.secretsFile, 'utf8'), new RegExp(`^admin_password=${password}$`, 'm'));
    t.is((await stat(config.secretsFile)).mode & 0o777, 0o600);
  });
});

test('PAYGATE_SECRETS_TO=terminal: the banner even when stdout is not a terminal; auto by default; other values refused', async (t) => {
  await withTempDir(async (dir) => {
    const { config, out, password } = await start(dir, false, { PAYGATE_SECRETS_TO: 'terminal' });
    t.true(out.includes(`password (this run only): ${password}`));
    t.false(existsSync(config.secretsFile));
  });
  t.is(loadConfig({}).secretsTo, 'auto');
  t.throws(() => loadConfig({ PAYGATE_SECRETS_TO: 'stdout' }), { message: /PAYGATE_SECRETS_TO/ });
});

test('a key set in PAYGATE_DEMO_API_KEY is never printed: the banner names the variable instead, and no file keeps it', async (t) => {
  const key = 'demo-key-chosen-by-the-operator-0123456789';
  await withTempDir(async (dir) => {
    const { config, out, logs } = await start(dir, true, { PAYGATE_DEMO_API_KEY: key, PAYGATE_ADMIN_PASSWORD: 'an-admin-password-set-0001' });
    t.regex(out, /Demo merchant created: \S+/);
    t.regex(out, /the key you set in PAYGATE_DEMO_API_KEY/);
    t.false(out.includes(key), out);
    t.false(logs.includes(key));
    t.false(existsSync(config.secretsFile));
  });
  // Whatever banner a caller writes, a chosen value in it is masked.
  const out = capture(true);
  secretsOutput({ file: '/nonexistent/never-written', logger: createLogger('silent', capture(false).stream), out: out.stream }).reveal({
    chosen: true,
    name: 'demo_api_key',
    value: key,
    context: {},
    banner: [`key: ${key}`, `again ${key}!`],
    logMessage: 'demo merchant created',
    setting: 'PAYGATE_DEMO_API_KEY',
  });
  t.false(out.text().includes(key));
  t.is(out.text().split('<the key you set in PAYGATE_DEMO_API_KEY>').length, 3);
});

test('the secrets file is 0600 whatever its directory: a directory paygate creates is 0700, one that exists (./data at 0755) is left as it is', async (t) => {
  await withTempDir(async (dir) => {
    const made = join(dir, 'new', 'deeper', 'paygate-secrets.txt');
    storeSecret(made, { name: 'admin_password', value: 'v1-made-up-for-tests', context: {} });
    t.is((await stat(join(dir, 'new', 'deeper'))).mode & 0o777, 0o700);
    t.is((await stat(made)).mode & 0o777, 0o600);

    const existing = join(dir, 'data');
    await mkdir(existing, { mode: 0o755 });
    await chmod(existing, 0o755);
    storeSecret(join(existing, 'paygate-secrets.txt'), { name: 'admin_password', value: 'v2-made-up-for-tests', context: {} });
    t.is((await stat(existing)).mode & 0o777, 0o755, 'not changed under whatever else lives there');
    t.is((await stat(join(existing, 'paygate-secrets.txt'))).mode & 0o777, 0o600);
  });
});
