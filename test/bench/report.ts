/**
 * What a run found: floors, paths, targets. Printed as tables and written as JSON under
 * bench-results/ (git-ignored).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './options.ts';

export interface Machine {
  date: string;
  nproc: number;
  memTotalGb: number;
  memFreeGb: number;
  cpuModel: string;
  node: string;
  mariadb: string | null;
  sqlite: string | null;
  loadAvgStart: number[];
  loadAvgEnd: number[];
}

export interface FloorEntry {
  /** rsa2-verify, rsa2-sign, sinopac-aes-sign, http, db-notify-tx, db-inbox-insert (the driver's), db-notify-tx-knex, db-inbox-insert-knex */
  name: string;
  db: string | null;
  connections: number | null;
  /** Worker threads for the crypto floors. */
  threads?: number;
  rate: number;
  p50?: number;
  p99?: number;
  /** CPU time per operation of the process doing it (and of mariadbd), ms. */
  cpuMsPerOp?: number;
  dbCpuMsPerOp?: number | null;
}

/** Cores busy with work that is not the run's: other processes on the machine. */
export function othersCores(c: NonNullable<PathEntry['cores']>): number {
  return Math.max(0, c.machine - c.server - (c.db ?? 0) - c.bench - (c.bank ?? 0) - (c.worker ?? 0));
}

export interface Bound {
  name: string;
  rate: number;
}

export interface PathEntry {
  db: string;
  /** notify, notify-dup, sinopac-ack, create-alipay, create-sinopac, naive, notify-cluster */
  path: string;
  connections: number;
  /** Server processes (the cluster comparison); 1 otherwise. */
  processes: number;
  /** null: every connection sends its next request as soon as it has an answer (saturation); else the requests per second offered (paced). */
  offeredRate: number | null;
  rate: number;
  count: number;
  seconds: number;
  p50: number;
  p99: number;
  /** Peak RSS of the server (its whole process tree) during the measured window, MB. */
  rssMb: number;
  /** CPU time per request of the server, and of mariadbd on MariaDB, ms. */
  cpuMsPerReq: number;
  dbCpuMsPerReq: number | null;
  /**
   * Cores busy during the window (CPU time ÷ wall time): the whole machine (/proc/stat, everyone's
   * work, steal apart), the server's process tree, mariadbd (when this run owns it), this
   * process (the load generator), the SinoPac simulator, and the gateway's worker process (its job
   * runner, when it runs apart).
   */
  cores?: { machine: number; steal: number; server: number; db: number | null; bench: number; bank?: number; worker?: number };
  bound: Bound | null;
  /** rate ÷ the binding floor. */
  ofBound: number | null;
  /** Cost per request relative to the naive peer at the same connections: naive rate ÷ this rate. */
  costVsNaive: number | null;
  bad: number;
  badSamples: string[];
  errors: number;
  exhaustedAtSec: number | null;
  /** Path-specific figures (the provider round trip, the background drain). */
  extra: Record<string, number | string>;
  /** The gateway's V8 heap right after the window (GET /metrics), MB; null when it has no such route. */
  heap: { totalMb: number; usedMb: number; newSpaceMb: number; externalMb: number } | null;
}

export interface Target {
  name: string;
  met: boolean | null;
  measured: string;
  why?: string;
  /** What bounds it: printed when the target is missed. */
  bound?: string;
  /** A target of the previous round (issue 15), printed apart. */
  round?: 'previous';
}

export interface ServerRss {
  db: string;
  run: string;
  /** The largest process's peak (VmHWM, kept by the kernel), and the sampled peak of all its processes. */
  peakProcessMb: number;
  peakTreeMb: number;
  /** What the gateway was doing at the sampled peak. */
  peakDuring: string;
  /** The largest process once it answered its first request, before any load. */
  readyMb?: number | null;
}

export interface BenchReport {
  machine: Machine;
  options: BenchOptions;
  floors: FloorEntry[];
  paths: PathEntry[];
  /** Peak RSS of each gateway run (largest single process, and the tree), MB. */
  serverRss: ServerRss[];
  targets: Target[];
  notes: string[];
  /** The run this one was compared with (its date and file), when bench-results/latest.json existed. */
  previous?: { date: string; quick: boolean; file: string } | null;
}

const f0 = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'));
const f1 = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? '—' : n.toFixed(1));
const f2 = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? '—' : n.toFixed(2));

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w, i) => (i <= 1 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function floorsTable(floors: readonly FloorEntry[]): string {
  return table(
    ['floor', 'db', 'conns / threads', 'per second', 'p50 ms', 'p99 ms', 'CPU ms/op'],
    floors.map((f) => [
      f.name,
      f.db ?? '—',
      f.threads ? `${f.threads} thr` : String(f.connections ?? '—'),
      f0(f.rate),
      f2(f.p50),
      f2(f.p99),
      f.cpuMsPerOp === undefined ? '—' : f.dbCpuMsPerOp == null ? f2(f.cpuMsPerOp) : `${f2(f.cpuMsPerOp)}+${f2(f.dbCpuMsPerOp)} db`,
    ]),
  );
}

/** What the query builder costs: each database floor through the driver against the same through knex. */
export function queryBuilderCost(floors: readonly FloorEntry[]): string {
  const lines: string[] = [];
  for (const f of floors) {
    if (!f.name.startsWith('db-') || f.name.endsWith('-knex')) continue;
    const k = floors.find((g) => g.name === `${f.name}-knex` && g.db === f.db && g.connections === f.connections);
    if (!k) continue;
    const cpu = (e: FloorEntry) => `${f2(e.cpuMsPerOp)}${e.dbCpuMsPerOp == null ? '' : `+${f2(e.dbCpuMsPerOp)} db`}`;
    lines.push(
      `- ${f.db} ${f.name.slice(3)} c=${f.connections}: driver ${f0(f.rate)}/s, knex ${f0(k.rate)}/s (${f2(f.rate / Math.max(1e-9, k.rate))}× the rate with the driver); ` +
        `CPU ms/op ${cpu(f)} vs ${cpu(k)}; p99 ${f2(f.p99)} vs ${f2(k.p99)} ms`,
    );
  }
  return lines.join('\n');
}

export const PATH_LABEL: Record<string, string> = {
  notify: 'Alipay notify, distinct orders',
  'notify-dup': 'Alipay notify, duplicate',
  'sinopac-ack': 'SinoPac BackendURL ack (exchange in the worker process)',
  'sinopac-ack-here': 'SinoPac BackendURL ack (exchange in the gateway, inline worker)',
  'create-alipay': 'create: Alipay page',
  'create-sinopac': 'create: SinoPac ATM',
  naive: 'naive peer notify',
  'notify-cluster': 'Alipay notify, distinct',
};

export function pathsTable(paths: readonly PathEntry[]): string {
  return table(
    ['db', 'path', 'conns', 'procs', 'load', 'req/s', 'p50 ms', 'p99 ms', 'RSS MB', 'CPU ms/req', 'bound', '× bound', 'cost × naive', 'notes'],
    paths.map((p) => {
      const notes: string[] = [];
      if (p.bad) notes.push(`${p.bad} wrong answers`);
      if (p.errors) notes.push(`${p.errors} socket errors`);
      if (p.exhaustedAtSec !== null) notes.push(`orders ran out at ${f1(p.exhaustedAtSec)} s`);
      for (const [k, v] of Object.entries(p.extra)) notes.push(`${k} ${typeof v === 'number' ? f1(v) : v}`);
      // Work that is not this run's (other processes on the machine, the hypervisor's steal) makes its figures noisy.
      const others = p.cores ? othersCores(p.cores) : 0;
      if (others >= 0.25) notes.push(`others used ${f1(others)} cores`);
      if (p.cores && p.cores.steal >= 0.1) notes.push(`steal ${f1(p.cores.steal)} cores`);
      return [
        p.db,
        PATH_LABEL[p.path] ?? p.path,
        String(p.connections),
        String(p.processes),
        p.offeredRate === null ? 'max' : `${f0(p.offeredRate)}/s`,
        f0(p.rate),
        f2(p.p50),
        f2(p.p99),
        f0(p.rssMb),
        p.dbCpuMsPerReq === null ? f2(p.cpuMsPerReq) : `${f2(p.cpuMsPerReq)}+${f2(p.dbCpuMsPerReq)} db`,
        p.bound ? `${p.bound.name} ${f0(p.bound.rate)}` : '—',
        f2(p.ofBound),
        f2(p.costVsNaive),
        notes.join('; '),
      ];
    }),
  );
}

export function targetsList(targets: readonly Target[]): string {
  const line = (t: Target) =>
    `- [${t.met === null ? 'n/a' : t.met ? 'MET' : 'MISSED'}] ${t.name}: ${t.measured}${t.why ? ` (${t.why})` : ''}` +
    (t.met === false && t.bound ? `\n    bound: ${t.bound}` : '');
  const current = targets.filter((t) => t.round !== 'previous');
  const previous = targets.filter((t) => t.round === 'previous');
  return [
    ...current.map(line),
    ...(previous.length ? ['', 'Previous round\'s targets (issue 15), for comparison', ...previous.map(line)] : []),
  ].join('\n');
}

export function machineLine(m: Machine): string {
  return (
    `${m.date}; ${m.nproc} cores (${m.cpuModel}), ${m.memTotalGb} GB RAM; Node ${m.node}; ` +
    `SQLite ${m.sqlite ?? '—'}; MariaDB ${m.mariadb ?? '—'}; load average ${m.loadAvgStart.map((l) => l.toFixed(2)).join(' ')} at start, ` +
    `${m.loadAvgEnd.map((l) => l.toFixed(2)).join(' ')} at end`
  );
}

export function render(report: BenchReport, previous: BenchReport | null = null): string {
  return [
    `Machine: ${machineLine(report.machine)}`,
    '',
    'Floors',
    floorsTable(report.floors),
    '',
    'Paths',
    pathsTable(report.paths),
    '',
    'What the query builder costs (database floors: driver vs knex, same rows, same commits)',
    queryBuilderCost(report.floors),
    '',
    'Server peak RSS (the built server)',
    report.serverRss
      .map(
        (r) =>
          `- ${r.db} ${r.run}: ${f0(r.peakProcessMb)} MB (largest process), ${f0(r.peakTreeMb)} MB (all its processes, sampled; during ${r.peakDuring})` +
          `${r.readyMb ? `; ${f0(r.readyMb)} MB once up, before load` : ''}`,
      )
      .join('\n'),
    '',
    ...(previous ? ['What changed since the previous run', comparison(previous, report), ''] : []),
    'Targets (issue 17)',
    targetsList(report.targets),
    ...(report.notes.length ? ['', 'Notes', ...report.notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}

/**
 * The previous run's report, read before this run writes its own: `file` (--compare), or
 * bench-results/latest.json (whatever ran last, quick or full: the comparison's header says which).
 */
export function readPrevious(root: string, file: string | null = null): BenchReport | null {
  if (file !== null && !existsSync(file)) throw new Error(`--compare: ${file} does not exist`);
  file ??= join(root, 'bench-results', 'latest.json');
  if (!existsSync(file)) return null;
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    return Array.isArray(report.paths) && report.machine ? report : null;
  } catch {
    return null;
  }
}

const runMode = (r: BenchReport) =>
  `${r.options?.quick ? 'quick' : 'full'}, ${r.options?.warmupSec ?? '?'} s + ${r.options?.durationSec ?? '?'} s, ${(r.options?.dbs ?? []).join('+')}`;

/**
 * What changed since the previous run: every path both runs measured (same database, connections,
 * processes, saturation or paced), its rate, CPU per request and p99, then and now.
 */
export function comparison(previous: BenchReport, current: BenchReport): string {
  const key = (p: PathEntry) => `${p.db}|${p.path}|${p.connections}|${p.processes}|${p.offeredRate === null ? 'max' : 'paced'}`;
  const before = new Map(previous.paths.map((p) => [key(p), p]));
  const change = (now: number, then: number) => (then > 0 && Number.isFinite(now) ? `${now >= then ? '+' : '−'}${Math.abs((100 * (now - then)) / then).toFixed(0)} %` : '—');
  const cpu = (p: PathEntry) => p.cpuMsPerReq + (p.dbCpuMsPerReq ?? 0);
  const cpuText = (p: PathEntry) => (p.dbCpuMsPerReq === null ? f2(p.cpuMsPerReq) : `${f2(p.cpuMsPerReq)}+${f2(p.dbCpuMsPerReq)} db`);
  const rows: string[][] = [];
  for (const p of current.paths) {
    const q = before.get(key(p));
    if (!q) continue;
    rows.push([
      p.db,
      PATH_LABEL[p.path] ?? p.path,
      String(p.connections),
      String(p.processes),
      p.offeredRate === null ? 'max' : 'paced',
      f0(q.rate),
      f0(p.rate),
      change(p.rate, q.rate),
      cpuText(q),
      cpuText(p),
      change(cpu(p), cpu(q)),
      f2(q.p99),
      f2(p.p99),
    ]);
  }
  const head = `Previous run: ${previous.machine.date} (${runMode(previous)}, ${current.previous?.file ?? "bench-results/latest.json"}); this run: ${current.machine.date} (${runMode(current)})`;
  if (!rows.length) return `${head}\nno path measured in both runs`;
  return [
    head,
    table(['db', 'path', 'conns', 'procs', 'load', 'req/s then', 'req/s now', 'Δ rate', 'CPU ms/req then', 'CPU ms/req now', 'Δ CPU', 'p99 then', 'p99 now'], rows),
  ].join('\n');
}

/** bench-results/bench-<time>.json and bench-results/latest.json; returns the first path. */
export function writeJson(root: string, report: BenchReport): string {
  const dir = join(root, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${report.machine.date.replace(/[:.]/g, '-')}.json`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(join(dir, 'latest.json'), text);
  return file;
}
