/**
 * `npm run bench`: paygate (the built server, dist/server/main.js, with npm start's node flags)
 * against this machine's own floors and a naive handler, in one run.
 * A benchmark, not a test: it prints figures and checks the issue's targets, and nothing in
 * `npm test` depends on it. See README.md, "Performance", for what each figure means.
 *
 *   npm run bench                      # both databases, every path, about 10 minutes on 2 cores
 *   npm run bench -- --quick           # short windows, SQLite only (add --db mariadb|both)
 *   npm run bench -- --profile --only notify --db mariadb   # --cpu-prof of the gateway
 *
 * MariaDB is a throwaway server (test/helpers/mariadb.ts) unless PAYGATE_BENCH_MYSQL_URL names one
 * (a Galera cluster: `npm run cluster:demo` prints the URLs; a query string such as
 * ?wsrep_sync_wait=1 reaches the gateways' DATABASE_URL)
 * (mysql://user:pass@host:port, no database part; a database is created and dropped there).
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { migrateLatest, openDb } from '../../core/db.ts';
import { randomString } from '../../core/ids.ts';
import { signContent, signNotify } from '../../providers/alipay/simulator/sign.ts';
import { findMariadbd, freePort, ThrowawayMariaDb } from '../helpers/mariadb.ts';
import { CryptoPool, type CryptoFloorOp } from './crypto.ts';
import { alipayAccount, alipayKeys, newApiKey, newPassword, notifyParams, startBank, writeGatewayConfig, type Bank } from './fixtures.ts';
import { runLoad } from './load.ts';
import { parseOptions } from './options.ts';
import { BENCH_BUILD_DIR, buildServer, Child, ROOT, startScriptEntry, startScriptNodeFlags } from './processes.ts';
import { readPrevious, render, writeJson, type BenchReport, type FloorEntry, type Machine } from './report.ts';
import { benchDatabase, type BenchContext, type Database } from './suite.ts';
import { evaluateTargets } from './targets.ts';

const log = (line: string) => process.stdout.write(`${line}\n`);

const cleanups: (() => Promise<void> | void)[] = [];
const children = new Set<Child>();
let mariadb: ThrowawayMariaDb | undefined;

function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux
  }
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    memTotalGb: Math.round(totalmem() / 2 ** 30),
    memFreeGb: Math.round(freemem() / 2 ** 30),
    cpuModel,
    node: process.versions.node,
    mariadb: null,
    sqlite: null,
    loadAvgStart: loadavg(),
    loadAvgEnd: [],
  };
}

async function cryptoFloors(pool: CryptoPool, bank: Bank, seconds: number, floors: FloorEntry[]): Promise<void> {
  const sampleText = signContent(notifyParams({ id: 'x', orderNo: '261122000000ABCD1234', amount: 8888 }), true);
  const message = {
    ShopNo: bank.config.ShopNo, OrderNo: '261122000000ABCD1234', TSNo: 'NA000000000012345678', PayToken: 'A'.repeat(64), Amount: '79900',
    Status: 'S', Description: 'S0000 – 處理成功', PayType: 'A', PayDate: '2026/11/22 12:00:00', Date: '2026/11/22 12:00:00', PrdtName: 'Oolong tea 300g',
  };
  const ops: [string, CryptoFloorOp][] = [['rsa2-verify', 'rsa-verify'], ['rsa2-sign', 'rsa-sign'], ['sinopac-aes-sign', 'sinopac']];
  const threadCounts = pool.size > 1 ? [1, pool.size] : [1];
  for (const [name, op] of ops) {
    for (const threads of threadCounts) {
      const rate = await pool.floor(op, threads, seconds * 1000, sampleText, message);
      floors.push({ name, db: null, connections: null, threads, rate, cpuMsPerOp: (1000 * threads) / rate });
      log(`  floor ${name} on ${threads} thread${threads > 1 ? 's' : ''}: ${Math.round(rate)}/s`);
    }
  }
}

async function httpFloor(ctx: BenchContext, sampleBody: string): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = await Child.start({ name: 'http floor', script: 'test/bench/http-floor-server.ts', env: { PORT: String(port) }, readyUrl: `${base}/healthz` });
  children.add(child);
  try {
    for (const c of ctx.options.connections) {
      let cpu0 = 0;
      const r = await runLoad({
        base,
        connections: c,
        warmupSec: ctx.options.warmupSec,
        durationSec: ctx.options.durationSec,
        next: () => ({ method: 'POST', path: '/callbacks/alipay/default/notify', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: sampleBody }),
        ok: (status, body) => status === 200 && body === 'success',
        onMeasureStart: () => (cpu0 = child.rss.cpuMs()),
      });
      const cpuMsPerOp = (child.rss.cpuMs() - cpu0) / Math.max(1, r.count);
      ctx.floors.push({ name: 'http', db: null, connections: c, rate: r.rate, p50: r.p50, p99: r.p99, cpuMsPerOp });
      log(`  floor http c=${c}: ${Math.round(r.rate)}/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms`);
    }
  } finally {
    await child.stop();
    children.delete(child);
  }
}

async function sqliteDatabase(dir: string, report: BenchReport): Promise<Database> {
  const url = `sqlite:${join(dir, 'bench.sqlite')}`;
  const db = openDb(url);
  await migrateLatest(db);
  const [row] = (await db.raw('select sqlite_version() as v')) as { v: string }[];
  report.machine.sqlite = row?.v ?? null;
  cleanups.push(() => db.destroy());
  return { kind: 'sqlite', url, db, dbPid: null };
}

async function mariaDatabase(report: BenchReport): Promise<Database | null> {
  let serverUrl = process.env.PAYGATE_BENCH_MYSQL_URL;
  let dbPid: number | null = null;
  if (!serverUrl) {
    const mariadbd = findMariadbd();
    if (!mariadbd) {
      report.notes.push('MariaDB skipped: mariadbd is not installed and PAYGATE_BENCH_MYSQL_URL is not set');
      return null;
    }
    mariadb = new ThrowawayMariaDb(mariadbd, { log: (m) => log(`  ${m}`) });
    serverUrl = await mariadb.start();
    dbPid = mariadb.proc?.pid ?? null;
    cleanups.push(() => mariadb!.destroy());
  }
  const server = new URL(serverUrl);
  const name = `paygate_bench_${randomString(8, 'abcdefghijklmnopqrstuvwxyz0123456789')}`;
  const admin = await mysql.createConnection({ host: server.hostname, port: Number(server.port || 3306), user: decodeURIComponent(server.username), password: decodeURIComponent(server.password) });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
  report.machine.mariadb = String(rows[0]?.v);
  // A query string on PAYGATE_BENCH_MYSQL_URL (e.g. ?wsrep_sync_wait=1 for a Galera cluster) is kept.
  const url = `mysql://${server.username}:${server.password}@${server.host}/${name}${server.search}`;
  const db = openDb(url);
  await migrateLatest(db);
  cleanups.push(async () => {
    await db.destroy();
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
    await admin.end();
  });
  return { kind: 'mariadb', url, db, dbPid };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const report: BenchReport = { machine: machine(), options, floors: [], paths: [], serverRss: [], targets: [], notes: [] };
  log(`paygate bench${options.quick ? ' (quick)' : ''}: ${options.dbs.join(' + ')}, connections ${options.connections.join('/')}, ${options.warmupSec} s warm-up + ${options.durationSec} s per run`);
  const previous = readPrevious(ROOT, options.compare);
  report.previous = previous ? { date: previous.machine.date, quick: Boolean(previous.options?.quick), file: options.compare ?? 'bench-results/latest.json' } : null;
  // The gateway runs as `npm start` runs it: the build (its prestart) first, then plain node on dist/.
  if (!options.noBuild) log(`building the server (tsc -p tsconfig.build.json, as npm start's prestart does, into ${BENCH_BUILD_DIR}/: dist/ may be rebuilt by others meanwhile)`);
  const buildSec = buildServer(options.noBuild);
  const serverFlags = [...startScriptNodeFlags(), ...options.serverNodeArgs];
  log(`gateway: node ${[...serverFlags, startScriptEntry()].join(' ')}${options.noBuild ? ' (not rebuilt: --no-build)' : ` (built in ${buildSec.toFixed(0)} s)`}`);

  const dir = mkdtempSync(join(tmpdir(), 'paygate-bench-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const keys = alipayKeys();
  const bank = await startBank();
  cleanups.push(() => bank.close());
  const configFile = writeGatewayConfig(dir, alipayAccount(keys), bank.config);
  const pool = new CryptoPool({ privateKeyPem: keys.alipayPrivatePem, publicKeyPem: keys.alipayPublicPem, sinopacHashId: bank.hashId });
  cleanups.push(() => pool.close());

  // The workers sign as the simulator does (PKCS#1 v1.5 is deterministic: the bodies must be equal).
  const probe = notifyParams({ id: 'x', orderNo: '261122000000PROBE001', amount: 8888 });
  const [signed] = await pool.signNotifies([probe]);
  if (signed !== new URLSearchParams(signNotify(probe, createPrivateKey(keys.alipayPrivatePem))).toString()) {
    throw new Error('the bench signs notifies differently from providers/alipay/simulator/sign.ts');
  }

  const ctx: BenchContext = { options, pool, bank, configFile, apiKey: newApiKey(), adminPassword: newPassword(), floors: report.floors, paths: report.paths, serverRss: report.serverRss, children, log };

  log('\nfloors');
  await cryptoFloors(pool, bank, options.floorSec, report.floors);
  await httpFloor(ctx, signed!);

  for (const kind of options.dbs) {
    const database = kind === 'sqlite' ? await sqliteDatabase(dir, report) : await mariaDatabase(report);
    if (!database) {
      log(`\n${kind}: skipped (${report.notes.at(-1)})`);
      continue;
    }
    await benchDatabase(ctx, database);
  }

  report.machine.loadAvgEnd = loadavg();
  report.targets = evaluateTargets({ paths: report.paths, floors: report.floors, dbs: options.dbs, connections: options.connections, serverRss: report.serverRss, nproc: report.machine.nproc });
  if (report.paths.some((p) => p.bad > 0)) report.notes.push('Some runs had wrong answers (see "notes"): their figures do not count.');
  if (report.paths.some((p) => p.exhaustedAtSec !== null)) report.notes.push('Some runs used up their pre-signed orders before the window ended; their rate is over the shorter window.');
  report.notes.push(`Took ${Math.round((Date.now() - started) / 1000)} s.`);
  log(`\n${render(report, previous)}`);
  log(`\nJSON: ${writeJson(ROOT, report)}`);
}

async function cleanup(): Promise<void> {
  for (const child of children) await child.stop().catch(() => undefined);
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', () => {
  for (const child of children) child.killNow();
  mariadb?.killNow();
});

main()
  .then(cleanup)
  .then(
    () => process.exit(0),
    async (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      // What the processes under test said last: a gateway's own error is often the reason.
      for (const child of children) {
        process.stderr.write(`\n${child.name}: logged at warn or above ${JSON.stringify(child.warnings())}; its last lines:\n${child.tail(15)}\n`);
      }
      await cleanup();
      process.exit(1);
    },
  );
