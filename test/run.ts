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
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findMariadbd, hasExited, STOP_GRACE_MS, ThrowawayMariaDb, waitExit } from './helpers/mariadb.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const log = (msg: string): void => console.error(`[test/run] ${msg}`);

// Everything teardown needs; set as soon as it exists so a failure half-way still cleans up.
let mariadb: ThrowawayMariaDb | undefined;
let ava: ChildProcess | undefined;
let stopping: Promise<void> | undefined;
let shuttingDown = false;

function avaCli(): string {
  const pkgPath = join(ROOT, 'node_modules', 'ava', 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.ava;
  if (!bin) throw new Error(`${pkgPath} has no "bin" entry for ava`);
  return join(ROOT, 'node_modules', 'ava', bin);
}

function signalExitCode(signal: NodeJS.Signals | null): number {
  return 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
}

// ---------------------------------------------------------------------------------------------
// Throwaway MariaDB (test/helpers/mariadb.ts)

async function startMariaDb(mariadbd: string): Promise<string> {
  mariadb = new ThrowawayMariaDb(mariadbd, { log, interrupted: () => shuttingDown });
  return mariadb.start();
}

/** Stops mariadbd (SIGTERM, SIGKILL after a grace period) and removes its temp dir. Idempotent. */
function stopMariaDb(): Promise<void> {
  stopping ??= mariadb ? mariadb.destroy() : Promise.resolve();
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
  // Test processes block their own event loop for seconds at times (simulators generating RSA keys,
  // several apps per file), which a 5 s connection handshake timer counts against the database.
  env.PAYGATE_DB_CONNECT_TIMEOUT_MS ??= '30000';

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
  mariadb?.killNow();
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
