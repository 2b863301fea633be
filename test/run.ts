/**
 * What `npm test` runs: `tsx test/run.ts [ava args...]`.
 *
 * Gives the suite a MariaDB server (PAYGATE_TEST_MYSQL_URL) and then runs ava:
 *   1. PAYGATE_TEST_MYSQL_URL already set -> used as is (a server URL, no database part).
 *   2. else mariadbd installed -> a throwaway server in a temp dir on a free port, torn down at the end.
 *   3. else CI=true -> fail: CI must exercise the MariaDB half of the suite.
 *   4. else -> warn and run the SQLite half only (the MariaDB tests show up as skipped).
 *
 * PAYGATE_TEST_MARIADBD=<path> overrides where mariadbd is looked for (a missing path means
 * "not installed", which is how cases 3 and 4 are tested on a machine that has MariaDB).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants as fsConstants, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { constants as osConstants, tmpdir, userInfo } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

const execFileP = promisify(execFile);
const log = (msg: string): void => console.error(`[test/run] ${msg}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Everything teardown needs; set as soon as it exists so a failure half-way still cleans up.
let dbDir: string | undefined;
let dbProc: ChildProcess | undefined;
let ava: ChildProcess | undefined;
let stopping: Promise<void> | undefined;
let shuttingDown = false;

// ---------------------------------------------------------------------------------------------
// Finding binaries

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First executable among `names` in `dirs`, then on PATH. */
function findBinary(names: string[], dirs: string[]): string | undefined {
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, ...pathDirs]) {
    for (const name of names) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

function findMariadbd(): string | undefined {
  const override = process.env.PAYGATE_TEST_MARIADBD;
  if (override) return isExecutable(override) ? override : undefined;
  const onPath = findBinary(['mariadbd'], []);
  return onPath ?? ['/usr/sbin/mariadbd', '/usr/bin/mariadbd'].find(isExecutable);
}

function findInstallDb(mariadbd: string): string | undefined {
  // Debian puts mariadbd in /usr/sbin and mariadb-install-db in /usr/bin.
  return findBinary(
    ['mariadb-install-db', 'mysql_install_db'],
    [dirname(mariadbd), join(dirname(mariadbd), '..', 'bin'), '/usr/bin', '/usr/sbin'],
  );
}

function avaCli(): string {
  const pkgPath = join(ROOT, 'node_modules', 'ava', 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.ava;
  if (!bin) throw new Error(`${pkgPath} has no "bin" entry for ava`);
  return join(ROOT, 'node_modules', 'ava', bin);
}

// ---------------------------------------------------------------------------------------------
// Child processes

function hasExited(p: ChildProcess): boolean {
  // No pid means spawn itself failed; there is nothing to wait for.
  return p.pid === undefined || p.exitCode !== null || p.signalCode !== null;
}

/** Resolves true when `p` has exited, false after `ms`. */
function waitExit(p: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(p)) return Promise.resolve(true);
  return new Promise((res) => {
    const onExit = (): void => {
      clearTimeout(timer);
      res(true);
    };
    const timer = setTimeout(() => {
      p.off('exit', onExit);
      res(false);
    }, ms);
    p.once('exit', onExit);
  });
}

function signalExitCode(signal: NodeJS.Signals | null): number {
  return 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
}

// ---------------------------------------------------------------------------------------------
// Throwaway MariaDB

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? res(port) : rej(new Error('could not read a free port'))));
    });
  });
}

function logTail(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text ? text.split('\n').slice(-lines).join('\n') : '(empty)';
  } catch {
    return '(no log written)';
  }
}

/**
 * mariadbd is started in its own process group (detached) so a Ctrl-C in the terminal reaches ava
 * but not the database under it; we stop the database ourselves after ava is done. If this process
 * is SIGKILLed, nothing here runs, so a tiny detached watchdog stops mariadbd and removes the temp
 * dir once our pid is gone.
 */
function startWatchdog(dbPid: number, dir: string): void {
  const script = `
    const [parentPid, dbPid, dir] = process.argv.slice(1).map((v, i) => (i < 2 ? Number(v) : v));
    const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
    const poll = setInterval(() => {
      if (!alive(dbPid)) process.exit(0);
      if (alive(parentPid)) return;
      clearInterval(poll);
      try { process.kill(dbPid, 'SIGTERM'); } catch {}
      const deadline = Date.now() + ${STOP_GRACE_MS};
      setInterval(() => {
        if (alive(dbPid) && Date.now() < deadline) return;
        try { process.kill(dbPid, 'SIGKILL'); } catch {}
        require('node:fs').rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      }, 200);
    }, 1000);`;
  const dog = spawn(process.execPath, ['-e', script, String(process.pid), String(dbPid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  dog.unref();
}

async function startMariaDb(mariadbd: string): Promise<string> {
  const installDb = findInstallDb(mariadbd);
  if (!installDb) throw new Error(`found ${mariadbd} but no mariadb-install-db next to it or on PATH`);

  dbDir = await mkdtemp(join(tmpdir(), 'paygate-mariadb-'));
  const dataDir = join(dbDir, 'data');
  const socket = join(dbDir, 'sock'); // unix socket paths are limited to ~107 bytes; tmpdir is short here
  const errLog = join(dbDir, 'mariadbd.err');
  // --user names the account mariadbd runs as; only root may switch, so use whoever we are.
  const user = userInfo().username;

  try {
    await execFileP(
      installDb,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--auth-root-authentication-method=normal',
        `--user=${user}`,
        '--skip-test-db',
        // Grant rows keyed by IP, not hostname, to match mariadbd --skip-name-resolve (else warnings).
        '--skip-name-resolve',
      ],
      { maxBuffer: 16 << 20 },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trimEnd().split('\n').slice(-30).join('\n');
    throw new Error(`mariadb-install-db failed: ${e.message}\n${out}`);
  }
  if (shuttingDown) throw new Error('interrupted');

  const port = await freePort();
  const errFd = openSync(errLog, 'a');
  const proc = spawn(
    mariadbd,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--user=${user}`,
      '--skip-log-bin',
      '--innodb-buffer-pool-size=128M',
      '--max-connections=500',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_bin',
      // Test data is disposable: don't fsync the redo log on every commit.
      '--innodb-flush-log-at-trx-commit=2',
      '--skip-name-resolve',
    ],
    { stdio: ['ignore', errFd, errFd], detached: true },
  );
  closeSync(errFd);
  dbProc = proc;
  proc.once('error', (err) => log(`mariadbd: ${err.message}`));
  if (proc.pid !== undefined) startWatchdog(proc.pid, dbDir);

  // Ready = accepts a root login over the socket. Stop early if mariadbd has already died
  // (e.g. the port was taken between freePort() and its bind).
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let conn: mysql.Connection | undefined;
  let lastError = '';
  while (!conn) {
    if (shuttingDown) throw new Error('interrupted');
    if (hasExited(proc)) {
      throw new Error(
        `mariadbd exited (code ${proc.exitCode}, signal ${proc.signalCode}) before it was ready; ` +
          `its error log (removed at teardown) ends with:\n${logTail(errLog)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `mariadbd was not ready after ${READY_TIMEOUT_MS / 1000} s (last error: ${lastError}); ` +
          `its error log (removed at teardown) ends with:\n${logTail(errLog)}`,
      );
    }
    try {
      conn = await mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 2_000 });
    } catch (err) {
      lastError = (err as Error).message;
      await sleep(200);
    }
  }

  const password = randomBytes(18).toString('hex'); // hex: nothing to escape in SQL or in the URL
  try {
    await conn.query(`CREATE USER 'paygate'@'127.0.0.1' IDENTIFIED BY '${password}'`);
    await conn.query(`GRANT ALL ON *.* TO 'paygate'@'127.0.0.1' WITH GRANT OPTION`);
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    log(`MariaDB ${String(rows[0]?.v)} on 127.0.0.1:${port} (pid ${proc.pid}, datadir ${dataDir})`);
  } finally {
    await conn.end();
  }
  return `mysql://paygate:${password}@127.0.0.1:${port}`;
}

/** Stops mariadbd (SIGTERM, SIGKILL after a grace period) and removes its temp dir. Idempotent. */
function stopMariaDb(): Promise<void> {
  stopping ??= (async () => {
    const proc = dbProc;
    if (proc && !hasExited(proc)) {
      proc.kill('SIGTERM');
      if (!(await waitExit(proc, STOP_GRACE_MS))) {
        log(`mariadbd did not stop within ${STOP_GRACE_MS / 1000} s; sending SIGKILL`);
        proc.kill('SIGKILL');
        await waitExit(proc, 5_000);
      }
    }
    if (dbDir) rmSync(dbDir, { recursive: true, force: true });
  })();
  return stopping;
}

// ---------------------------------------------------------------------------------------------
// Main

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function runAva(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  const child = spawn(process.execPath, [avaCli(), ...args], { stdio: 'inherit', env });
  ava = child;
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code, signal) => res(code ?? signalExitCode(signal)));
  });
}

async function main(): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const ci = process.env.CI === 'true';

  if (env.PAYGATE_TEST_MYSQL_URL) {
    log(`using PAYGATE_TEST_MYSQL_URL=${redact(env.PAYGATE_TEST_MYSQL_URL)}`);
  } else {
    const mariadbd = findMariadbd();
    if (mariadbd) {
      env.PAYGATE_TEST_MYSQL_URL = await startMariaDb(mariadbd);
    } else if (ci) {
      console.error('MariaDB is required in CI: install mariadb-server or set PAYGATE_TEST_MYSQL_URL');
      return 1;
    } else {
      delete env.PAYGATE_TEST_MYSQL_URL; // may be present but empty
      log('warning: mariadbd not found; the MariaDB half of the suite is skipped on this machine (SQLite only)');
    }
  }
  // In CI a missing MariaDB must fail the suite, never turn into skipped tests.
  if (ci) env.PAYGATE_TEST_REQUIRE_MYSQL = '1';

  if (shuttingDown) return 1;
  return runAva(env, process.argv.slice(2));
}

async function finish(code: number): Promise<void> {
  await stopMariaDb();
  process.exit(code);
}

function onSignal(signal: NodeJS.Signals): void {
  if (shuttingDown) return; // teardown already under way; it is bounded by the grace periods
  shuttingDown = true;
  log(`${signal}: stopping`);
  void (async () => {
    const child = ava;
    if (child && !hasExited(child)) {
      // On Ctrl-C ava got the SIGINT from the terminal too; forwarding covers `kill <our pid>`.
      child.kill(signal);
      if (!(await waitExit(child, STOP_GRACE_MS))) {
        child.kill('SIGKILL');
        await waitExit(child, 2_000);
      }
    }
    await finish(signalExitCode(signal));
  })();
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// Last resort if we exit without going through finish(): never leave mariadbd behind.
process.on('exit', () => {
  if (dbProc && !hasExited(dbProc)) dbProc.kill('SIGKILL');
  if (dbDir) rmSync(dbDir, { recursive: true, force: true });
});

main().then(
  (code) => {
    if (!shuttingDown) void finish(code);
  },
  (err: unknown) => {
    log(`error: ${err instanceof Error ? err.message : String(err)}`);
    if (!shuttingDown) void finish(1);
  },
);
