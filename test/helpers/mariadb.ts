/**
 * A throwaway MariaDB server: a fresh datadir in a temp dir (mariadb-install-db), mariadbd on a free
 * 127.0.0.1 port, a `paygate` user with a random password. test/run.ts starts one for the whole
 * suite; a test that needs a server of its own (one it may stop and start again, e.g. the DB outage
 * test) starts another.
 *
 *   const server = new ThrowawayMariaDb(findMariadbd()!);
 *   const url = await server.start();   // mysql://paygate:<pw>@127.0.0.1:<port> (no database part)
 *   await server.stop();                // SIGTERM, datadir kept
 *   await server.restart();             // same datadir, port, user
 *   await server.destroy();             // stopped and its temp dir removed (idempotent)
 *
 * mariadbd runs in its own process group (detached) so a Ctrl-C in the terminal reaches the tests
 * but not the database under them; it is stopped by whoever started it. If that process is
 * SIGKILLed, nothing here runs, so a tiny detached watchdog stops mariadbd and removes the temp dir
 * once the starting process is gone.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants as fsConstants, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const READY_TIMEOUT_MS = 60_000;
export const STOP_GRACE_MS = 10_000;

const execFileP = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Finding binaries

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First executable among `names` in `dirs`, then on PATH. */
export function findBinary(names: string[], dirs: string[]): string | undefined {
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, ...pathDirs]) {
    for (const name of names) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * mariadbd, on PATH or in the usual sbin dirs. PAYGATE_TEST_MARIADBD=<path> overrides where it is
 * looked for (a missing path means "not installed").
 */
export function findMariadbd(): string | undefined {
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

// ---------------------------------------------------------------------------------------------
// Child processes

export function hasExited(p: ChildProcess): boolean {
  // No pid means spawn itself failed; there is nothing to wait for.
  return p.pid === undefined || p.exitCode !== null || p.signalCode !== null;
}

/** Resolves true when `p` has exited, false after `ms`. */
export function waitExit(p: ChildProcess, ms: number): Promise<boolean> {
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

export function freePort(): Promise<number> {
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

// ---------------------------------------------------------------------------------------------
// The server

export interface ThrowawayMariaDbOptions {
  /** Progress and problems, one line each (default: nothing). */
  log?: (msg: string) => void;
  /** Polled between steps of start(): when it returns true, start() gives up with Error('interrupted'). */
  interrupted?: () => boolean;
}

export class ThrowawayMariaDb {
  /** The temp dir holding datadir, socket and error log; set as soon as it exists. */
  dir: string | undefined;
  /** The running (or last) mariadbd. */
  proc: ChildProcess | undefined;
  port: number | undefined;
  /** `mysql://paygate:<pw>@127.0.0.1:<port>`, no database part; set once start() has succeeded. */
  url: string | undefined;
  private destroying: Promise<void> | undefined;
  private readonly log: (msg: string) => void;
  private readonly interrupted: () => boolean;

  constructor(
    readonly mariadbd: string,
    options: ThrowawayMariaDbOptions = {},
  ) {
    this.log = options.log ?? (() => {});
    this.interrupted = options.interrupted ?? (() => false);
  }

  get dataDir(): string {
    return join(this.requireDir(), 'data');
  }

  get socket(): string {
    return join(this.requireDir(), 'sock'); // unix socket paths are limited to ~107 bytes; tmpdir is short here
  }

  private get errLog(): string {
    return join(this.requireDir(), 'mariadbd.err');
  }

  private requireDir(): string {
    if (!this.dir) throw new Error('the MariaDB temp dir does not exist yet');
    return this.dir;
  }

  /** Creates the datadir, starts mariadbd on a free port, adds the `paygate` user; returns the server URL. */
  async start(): Promise<string> {
    const installDb = findInstallDb(this.mariadbd);
    if (!installDb) throw new Error(`found ${this.mariadbd} but no mariadb-install-db next to it or on PATH`);

    this.dir = await mkdtemp(join(tmpdir(), 'paygate-mariadb-'));
    // --user names the account mariadbd runs as; only root may switch, so use whoever we are.
    const user = userInfo().username;

    try {
      await execFileP(
        installDb,
        [
          '--no-defaults',
          `--datadir=${this.dataDir}`,
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
    if (this.interrupted()) throw new Error('interrupted');

    this.port = await freePort();
    const conn = await this.spawnAndConnect();

    const password = randomBytes(18).toString('hex'); // hex: nothing to escape in SQL or in the URL
    try {
      await conn.query(`CREATE USER 'paygate'@'127.0.0.1' IDENTIFIED BY '${password}'`);
      await conn.query(`GRANT ALL ON *.* TO 'paygate'@'127.0.0.1' WITH GRANT OPTION`);
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
      this.log(`MariaDB ${String(rows[0]?.v)} on 127.0.0.1:${this.port} (pid ${this.proc?.pid}, datadir ${this.dataDir})`);
    } finally {
      await conn.end();
    }
    this.url = `mysql://paygate:${password}@127.0.0.1:${this.port}`;
    return this.url;
  }

  /** Starts mariadbd again on the same datadir and port after stop(); resolves once it takes logins. */
  async restart(): Promise<void> {
    if (this.proc && !hasExited(this.proc)) throw new Error('mariadbd is still running');
    if (this.port === undefined) throw new Error('restart() before start()');
    const conn = await this.spawnAndConnect();
    await conn.end();
  }

  /** Spawns mariadbd (not waiting for it); restart() = this + waiting for logins. */
  spawnServer(): ChildProcess {
    const user = userInfo().username;
    const errFd = openSync(this.errLog, 'a');
    const proc = spawn(
      this.mariadbd,
      [
        '--no-defaults',
        `--datadir=${this.dataDir}`,
        `--socket=${this.socket}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--user=${user}`,
        '--skip-log-bin',
        '--innodb-buffer-pool-size=128M',
        '--max-connections=500',
        // A handshake may wait on a starved client when suites share the machine (10 s by default).
        '--connect-timeout=60',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_bin',
        // Test data is disposable: don't fsync the redo log on every commit.
        '--innodb-flush-log-at-trx-commit=2',
        '--skip-name-resolve',
      ],
      { stdio: ['ignore', errFd, errFd], detached: true },
    );
    closeSync(errFd);
    this.proc = proc;
    proc.once('error', (err) => this.log(`mariadbd: ${err.message}`));
    if (proc.pid !== undefined) startWatchdog(proc.pid, this.requireDir());
    return proc;
  }

  /** Resolves with a root connection over the socket once the running mariadbd takes logins. */
  async waitReady(): Promise<mysql.Connection> {
    const proc = this.proc;
    if (!proc) throw new Error('mariadbd was not started');
    // Ready = accepts a root login over the socket. Stop early if mariadbd has already died
    // (e.g. the port was taken between freePort() and its bind).
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError = '';
    for (;;) {
      if (this.interrupted()) throw new Error('interrupted');
      if (hasExited(proc)) {
        throw new Error(
          `mariadbd exited (code ${proc.exitCode}, signal ${proc.signalCode}) before it was ready; ` +
            `its error log (removed at teardown) ends with:\n${logTail(this.errLog)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `mariadbd was not ready after ${READY_TIMEOUT_MS / 1000} s (last error: ${lastError}); ` +
            `its error log (removed at teardown) ends with:\n${logTail(this.errLog)}`,
        );
      }
      try {
        return await mysql.createConnection({ socketPath: this.socket, user: 'root', connectTimeout: 2_000 });
      } catch (err) {
        lastError = (err as Error).message;
        await sleep(200);
      }
    }
  }

  private async spawnAndConnect(): Promise<mysql.Connection> {
    this.spawnServer();
    return this.waitReady();
  }

  /** Stops mariadbd (SIGTERM, SIGKILL after a grace period); the datadir stays for restart(). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || hasExited(proc)) return;
    proc.kill('SIGTERM');
    if (!(await waitExit(proc, STOP_GRACE_MS))) {
      this.log(`mariadbd did not stop within ${STOP_GRACE_MS / 1000} s; sending SIGKILL`);
      proc.kill('SIGKILL');
      await waitExit(proc, 5_000);
    }
  }

  /** Stops mariadbd and removes its temp dir. Idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      await this.stop();
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.destroying;
  }

  /** Last resort for a process 'exit' handler (synchronous): SIGKILL and remove the temp dir. */
  killNow(): void {
    if (this.proc && !hasExited(this.proc)) this.proc.kill('SIGKILL');
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
