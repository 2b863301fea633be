/**
 * A throwaway three-node MariaDB Galera cluster with HAProxy in front, on loopback ports, in one
 * temp dir: what `npm run test:cluster` and `npm run cluster:demo` run paygate against
 * (docs/architecture.md#galera). Nothing under /etc is read or written: every mariadbd gets its own
 * `--defaults-file` (it must be the first argument: the SST scripts re-read it), and HAProxy its own
 * config.
 *
 *   const cluster = new GaleraCluster({ log: console.error });
 *   await cluster.start();            // node 1 bootstraps, 2 and 3 join (seeded copies, tiny IST)
 *   cluster.writerUrl                 // mysql://paygate:…@127.0.0.1:<port>: HAProxy, one node at a time
 *   cluster.multiUrl                  // HAProxy, round robin over every Synced node (multi-writer)
 *   cluster.nodeUrl(2)                // straight to node 2
 *   await cluster.kill(2);            // SIGKILL; cluster.restart(2) recovers its position and rejoins by IST
 *   await cluster.freeze(3); …; await cluster.thaw(3);
 *   await cluster.destroy();
 *
 * Start-up follows the loopback recipe measured on this machine (14-18 s on two cores): node 1 is
 * installed and bootstrapped, the users are created, node 1 stops cleanly and its datadir is copied
 * to nodes 2 and 3, node 1 bootstraps again and 2 and 3 join together with a tiny IST. State
 * transfers use mariabackup (rsync SST drops to `nobody` when run as root and fails). HAProxy checks
 * each node by speaking the MySQL protocol itself: it logs in as a password-less `hcheck` user with
 * no grants and expects `Synced` from `SHOW STATUS LIKE 'wsrep_local_state_comment'`, so a donor,
 * desynced or non-primary node leaves the pool.
 *
 * Failure detection is shortened (suspect 1.5 s) so a killed node stalls the survivors' commits
 * for about 2.7 s instead of 6 s; `rise 6` keeps a thawed node (which claims `Synced` for about one
 * suspect timeout before noticing it was evicted) out of the pool until it really is back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { findBinary, findMariadbd, hasExited, waitExit } from './mariadb.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Galera's failure detection, shortened for tests (defaults: suspect 5 s, inactive 15 s). */
export const SHORT_FAILURE_DETECTION =
  'evs.keepalive_period=PT0.5S;evs.inactive_check_period=PT0.5S;evs.suspect_timeout=PT1.5S;evs.inactive_timeout=PT3S;evs.install_timeout=PT3S;gmcast.peer_timeout=PT2S';

export interface GaleraBinaries {
  mariadbd: string;
  installDb: string;
  provider: string;
  haproxy: string;
}

/** What the cluster needs, or the names of the packages that are missing. */
export function findGaleraBinaries(): GaleraBinaries | { missing: string[] } {
  const mariadbd = findMariadbd();
  const installDb = findBinary(['mariadb-install-db'], ['/usr/bin', '/usr/sbin']);
  const provider = ['/usr/lib/galera/libgalera_smm.so', '/usr/lib64/galera-4/libgalera_smm.so', '/usr/lib/galera-4/libgalera_smm.so'].find((p) => existsSync(p));
  const haproxy = findBinary(['haproxy'], ['/usr/sbin', '/usr/bin']);
  const backup = findBinary(['mariadb-backup', 'mariabackup'], ['/usr/bin']);
  const socat = findBinary(['socat'], ['/usr/bin']);
  const missing = [
    ...(mariadbd && installDb ? [] : ['mariadb-server']),
    ...(provider ? [] : ['galera-4']),
    ...(haproxy ? [] : ['haproxy']),
    ...(backup ? [] : ['mariadb-backup']),
    ...(socat ? [] : ['socat']),
  ];
  if (missing.length > 0) return { missing };
  return { mariadbd: mariadbd!, installDb: installDb!, provider: provider!, haproxy: haproxy! };
}

/** A free loopback port below the ephemeral range, so an outgoing connection cannot take it meanwhile. */
async function pickPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((res) => {
      const srv = createServer();
      srv.once('error', () => res(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
}

interface NodePorts {
  sql: number;
  gcomm: number;
  ist: number;
  sst: number;
}

export interface GaleraClusterOptions {
  log?: (msg: string) => void;
  /** Extra Galera provider options, `;`-separated (default: SHORT_FAILURE_DETECTION). */
  providerOptions?: string;
}

export class GaleraCluster {
  dir: string | undefined;
  readonly nodes: { ports: NodePorts; proc?: ChildProcess }[] = [];
  haproxy: ChildProcess | undefined;
  writerPort = 0;
  multiPort = 0;
  private password = randomBytes(12).toString('hex');
  private readonly log: (msg: string) => void;
  private readonly providerOptions: string;
  private destroying: Promise<void> | undefined;

  constructor(
    readonly bin: GaleraBinaries,
    options: GaleraClusterOptions = {},
  ) {
    this.log = options.log ?? (() => {});
    this.providerOptions = options.providerOptions ?? SHORT_FAILURE_DETECTION;
  }

  private url(port: number): string {
    return `mysql://paygate:${this.password}@127.0.0.1:${port}`;
  }

  /** Through HAProxy's `writer` listener: node 1, else the first Synced backup (single writer). */
  get writerUrl(): string {
    return this.url(this.writerPort);
  }

  /** Through HAProxy's `multi` listener: round robin over the Synced nodes (multi-writer). */
  get multiUrl(): string {
    return this.url(this.multiPort);
  }

  /** Straight to node `n` (1-3). */
  nodeUrl(n: number): string {
    return this.url(this.node(n).ports.sql);
  }

  private node(n: number) {
    const node = this.nodes[n - 1];
    if (!node) throw new Error(`no node ${n}`);
    return node;
  }

  private nodeDir(n: number): string {
    return join(this.dir!, `n${n}`);
  }

  async start(): Promise<void> {
    const started = Date.now();
    this.dir = await mkdtemp(join(tmpdir(), 'paygate-galera-'));
    const taken = new Set<number>();
    for (let n = 1; n <= 3; n++) {
      this.nodes.push({ ports: { sql: await pickPort(taken), gcomm: await pickPort(taken), ist: await pickPort(taken), sst: await pickPort(taken) } });
      mkdirSync(join(this.nodeDir(n), 'data'), { recursive: true });
      mkdirSync(join(this.nodeDir(n), 'tmp'), { recursive: true });
    }
    this.writerPort = await pickPort(taken);
    this.multiPort = await pickPort(taken);
    for (let n = 1; n <= 3; n++) this.writeNodeConfig(n);
    this.startWatchdog();
    try {
      await this.run(this.bin.installDb, ['--no-defaults', `--datadir=${join(this.nodeDir(1), 'data')}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], join(this.nodeDir(1), 'install.log'));
      this.spawnNode(1, ['--wsrep-new-cluster']);
      await this.waitSynced(1, 60_000);
      await this.rootQuery(1, [
        `CREATE USER 'paygate'@'127.0.0.1' IDENTIFIED BY '${this.password}'`,
        `GRANT ALL ON *.* TO 'paygate'@'127.0.0.1'`,
        // The HAProxy check logs in with no password and no grants: it may only read status.
        `CREATE USER 'hcheck'@'127.0.0.1'`,
      ]);
      // Seed 2 and 3 with a clean copy of node 1 (grastate then holds its seqno): they join with a
      // tiny IST instead of a full SST (~20 s each).
      await this.stopNode(1);
      for (const n of [2, 3]) {
        rmSync(join(this.nodeDir(n), 'data'), { recursive: true, force: true });
        cpSync(join(this.nodeDir(1), 'data'), join(this.nodeDir(n), 'data'), { recursive: true });
        rmSync(join(this.nodeDir(n), 'data', 'galera.cache'), { force: true });
        rmSync(join(this.nodeDir(n), 'data', 'gvwstate.dat'), { force: true });
      }
      this.spawnNode(1, ['--wsrep-new-cluster']);
      await this.waitSynced(1, 60_000);
      this.spawnNode(2);
      this.spawnNode(3);
      await Promise.all([this.waitSynced(2, 120_000), this.waitSynced(3, 120_000)]);
      this.startHaproxy();
      await this.waitReachable(this.writerUrl, 20_000);
      await this.waitReachable(this.multiUrl, 20_000);
      this.log(`galera: three nodes Synced behind HAProxy in ${((Date.now() - started) / 1000).toFixed(1)} s (${this.dir})`);
    } catch (err) {
      const logs = [1, 2, 3].map((n) => `--- n${n}/error.log\n${this.tail(join(this.nodeDir(n), 'error.log'))}`).join('\n');
      await this.destroy();
      throw new Error(`the Galera cluster did not start: ${(err as Error).message}\n${logs}`);
    }
  }

  private writeNodeConfig(n: number): void {
    const d = this.nodeDir(n);
    const p = this.node(n).ports;
    const all = this.nodes.map((x) => `127.0.0.1:${x.ports.gcomm}`).join(',');
    const options = [`base_port=${p.gcomm}`, `gmcast.listen_addr=tcp://127.0.0.1:${p.gcomm}`, `ist.recv_addr=127.0.0.1:${p.ist}`, 'gcache.size=32M', this.providerOptions].filter(Boolean).join(';');
    writeFileSync(
      join(d, 'my.cnf'),
      `[mysqld]
user=root
datadir=${d}/data
tmpdir=${d}/tmp
socket=${d}/sock
pid-file=${d}/mariadbd.pid
log-error=${d}/error.log
port=${p.sql}
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
innodb_buffer_pool_size=64M
innodb_log_file_size=16M
innodb_flush_log_at_trx_commit=2
innodb_doublewrite=0
key_buffer_size=1M
aria_pagecache_buffer_size=8M
performance_schema=OFF
max_connections=300
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=${this.bin.provider}
wsrep_cluster_name=paygate-test
wsrep_cluster_address=gcomm://${all}
wsrep_node_name=n${n}
wsrep_node_address=127.0.0.1:${p.gcomm}
wsrep_node_incoming_address=127.0.0.1:${p.sql}
wsrep_provider_options="${options}"
wsrep_sst_method=mariabackup
wsrep_sst_auth=root:
wsrep_sst_receive_address=127.0.0.1:${p.sst}
wsrep_slave_threads=2

[sst]
sst-log-archive=0
`,
    );
  }

  private spawnNode(n: number, extra: string[] = []): void {
    const d = this.nodeDir(n);
    const proc = spawn(this.bin.mariadbd, [`--defaults-file=${join(d, 'my.cnf')}`, ...extra], { stdio: 'ignore', detached: true });
    proc.unref();
    this.node(n).proc = proc;
    this.writePids();
  }

  private writePids(): void {
    const pids = [...this.nodes.map((x) => x.proc?.pid), this.haproxy?.pid].filter((p): p is number => p !== undefined);
    writeFileSync(join(this.dir!, 'pids'), pids.join('\n'));
  }

  /** A detached watchdog: if the process that started the cluster dies, it stops every recorded pid and removes the dir. */
  private startWatchdog(): void {
    const script = `
      const fs = require('node:fs');
      const [parent, dir] = [Number(process.argv[1]), process.argv[2]];
      const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
      const pids = () => { try { return fs.readFileSync(dir + '/pids', 'utf8').split('\\n').filter(Boolean).map(Number); } catch { return null; } };
      setInterval(() => {
        if (pids() === null && !fs.existsSync(dir)) process.exit(0);
        if (alive(parent)) return;
        for (const p of pids() ?? []) { try { process.kill(p, 'SIGCONT'); process.kill(p, 'SIGTERM'); } catch {} }
        setTimeout(() => {
          for (const p of pids() ?? []) { try { process.kill(p, 'SIGKILL'); } catch {} }
          fs.rmSync(dir, { recursive: true, force: true });
          process.exit(0);
        }, 10000);
      }, 1000);`;
    spawn(process.execPath, ['-e', script, String(process.pid), this.dir!], { detached: true, stdio: 'ignore' }).unref();
  }

  private run(cmd: string, args: string[], logFile: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c) => (out += String(c)));
      child.stderr.on('data', (c) => (out += String(c)));
      child.once('error', reject);
      child.once('exit', (code) => {
        writeFileSync(logFile, out);
        if (code === 0) resolve();
        else reject(new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`));
      });
    });
  }

  /** Root over the node's unix socket. */
  async rootQuery(n: number, statements: string[]): Promise<unknown[]> {
    const conn = await mysql.createConnection({ socketPath: join(this.nodeDir(n), 'sock'), user: 'root', connectTimeout: 3000 });
    try {
      const results: unknown[] = [];
      for (const sql of statements) results.push((await conn.query(sql))[0]);
      return results;
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  /** A wsrep status value of node `n` (e.g. `wsrep_local_state_comment`), or undefined when it does not answer. */
  async status(n: number, name: string): Promise<string | undefined> {
    try {
      const [rows] = (await this.rootQuery(n, [`SHOW STATUS LIKE '${name.replace(/[^a-z_]/g, '')}'`])) as { Value: string }[][];
      return rows?.[0]?.Value;
    } catch {
      return undefined;
    }
  }

  /** Until node `n` is Synced in a cluster of `size`. */
  async waitSynced(n: number, ms: number, size?: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const proc = this.node(n).proc;
      if (!proc || hasExited(proc)) throw new Error(`node ${n} exited (see ${join(this.nodeDir(n), 'error.log')})`);
      if ((await this.status(n, 'wsrep_local_state_comment')) === 'Synced') {
        if (size === undefined || Number(await this.status(n, 'wsrep_cluster_size')) === size) return;
      }
      if (Date.now() > deadline) throw new Error(`node ${n} not Synced after ${ms / 1000} s`);
      await sleep(200);
    }
  }

  private async waitReachable(url: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        const conn = await mysql.createConnection({ uri: url, connectTimeout: 2000 });
        await conn.query('SELECT 1');
        await conn.end();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${url.replace(/:[^:@/]+@/, ':***@')} unreachable: ${(err as Error).message}`);
        await sleep(100);
      }
    }
  }

  private startHaproxy(): void {
    const cfg = join(this.dir!, 'haproxy.cfg');
    writeFileSync(cfg, this.haproxyConfig());
    const proc = spawn(this.bin.haproxy, ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'ignore'], detached: true });
    proc.unref();
    this.haproxy = proc;
    this.writePids();
  }

  /**
   * HAProxy speaks just enough MySQL to check a node: a 4.1 handshake response for `hcheck` (no
   * password), a COM_QUERY for the wsrep state, COM_QUIT (before the expect, so a wrong answer fails
   * at once instead of at the check timeout), then expects the length-prefixed `Synced`.
   */
  haproxyConfig(): string {
    const hex = (s: string) => Buffer.from(s).toString('hex');
    const body = `00820000` + `00000001` + `21` + '00'.repeat(23) + `${hex('hcheck')}00` + `00`;
    // A packet: 3-byte little-endian length, 1-byte sequence id, payload (all shorter than 256 bytes).
    const packet = (seq: number, payload: string) => `${(payload.length / 2).toString(16).padStart(2, '0')}0000${seq.toString(16).padStart(2, '0')}${payload}`;
    const auth = packet(1, body);
    const query = packet(0, `03${hex("SHOW STATUS LIKE 'wsrep_local_state_comment'")}`);
    const check = [
      '    option tcp-check',
      '    tcp-check connect',
      `    tcp-check send-binary ${auth}`,
      `    tcp-check send-binary ${query}`,
      '    tcp-check send-binary 0100000001',
      `    tcp-check expect binary 06${hex('Synced')}`,
      '    default-server inter 1s fall 2 rise 6 on-marked-down shutdown-sessions',
    ].join('\n');
    const servers = (backup: boolean) => this.nodes.map((x, i) => `    server n${i + 1} 127.0.0.1:${x.ports.sql} check${backup && i > 0 ? ' backup' : ''}`).join('\n');
    return `global
    maxconn 2000

defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout check 1s
    retries 2
    option redispatch

listen writer
    bind 127.0.0.1:${this.writerPort}
${check}
${servers(true)}

listen multi
    bind 127.0.0.1:${this.multiPort}
    balance roundrobin
${check}
${servers(false)}
`;
  }

  private async stopNode(n: number): Promise<void> {
    const proc = this.node(n).proc;
    if (!proc || hasExited(proc)) return;
    proc.kill('SIGTERM');
    if (!(await waitExit(proc, 30_000))) {
      proc.kill('SIGKILL');
      await waitExit(proc, 5_000);
    }
  }

  /** `kill -9` of node `n`. */
  async kill(n: number): Promise<void> {
    const proc = this.node(n).proc;
    if (!proc || hasExited(proc)) return;
    proc.kill('SIGKILL');
    await waitExit(proc, 10_000);
  }

  /** SIGSTOP: the node is frozen, its peers evict it after the suspect timeout. */
  freeze(n: number): void {
    this.node(n).proc?.kill('SIGSTOP');
  }

  /**
   * SIGCONT, then waits until the node is back in the cluster's current view. A thawed node reports
   * `Synced` at once, in the view it was evicted from, for about one suspect timeout before it
   * notices; so "back" is: Synced, three members, and the same configuration id as a peer's.
   * Resolves with how long that took.
   */
  async thaw(n: number, ms = 120_000): Promise<number> {
    this.node(n).proc?.kill('SIGCONT');
    const started = Date.now();
    const peer = n === 1 ? 2 : 1;
    for (;;) {
      const [state, size, conf, peerConf] = await Promise.all([
        this.status(n, 'wsrep_local_state_comment'),
        this.status(n, 'wsrep_cluster_size'),
        this.status(n, 'wsrep_cluster_conf_id'),
        this.status(peer, 'wsrep_cluster_conf_id'),
      ]);
      if (state === 'Synced' && size === '3' && conf !== undefined && conf === peerConf) return Date.now() - started;
      if (Date.now() - started > ms) throw new Error(`node ${n} not back in the cluster ${ms / 1000} s after SIGCONT (state ${state}, size ${size})`);
      await sleep(200);
    }
  }

  /**
   * Starts a killed node again the way galera_recovery does under systemd: `--wsrep-recover` reads
   * its last committed position from InnoDB, and `--wsrep-start-position` lets it rejoin by IST
   * (about 11 s here) instead of a full SST (25 s). Resolves when it is Synced in a cluster of 3.
   */
  async restart(n: number): Promise<void> {
    await this.stopNode(n);
    const d = this.nodeDir(n);
    const recoverLog = join(d, 'recover.log');
    rmSync(recoverLog, { force: true });
    await this.run(this.bin.mariadbd, [`--defaults-file=${join(d, 'my.cnf')}`, '--wsrep-recover', `--log-error=${recoverLog}`], join(d, 'recover.stdout'));
    const position = /Recovered position: (\S+)/.exec(this.tail(recoverLog, 200))?.[1];
    this.spawnNode(n, position ? [`--wsrep-start-position=${position}`] : []);
    await this.waitSynced(n, 120_000, 3);
  }

  private tail(file: string, lines = 25): string {
    try {
      return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Everything stopped (SIGCONT first, so a frozen node can exit) and the dir removed. Idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      const procs = [this.haproxy, ...this.nodes.map((x) => x.proc)].filter((p): p is ChildProcess => p !== undefined && !hasExited(p));
      for (const p of procs) {
        p.kill('SIGCONT');
        p.kill('SIGTERM');
      }
      await Promise.all(
        procs.map(async (p) => {
          if (!(await waitExit(p, 15_000))) {
            p.kill('SIGKILL');
            await waitExit(p, 5_000);
          }
        }),
      );
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.destroying;
  }
}
