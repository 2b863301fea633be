/**
 * One measured run of one path: load (at saturation, or paced), the server's RSS, CPU and heap over
 * the window, its binding floor; appended to the run's figures.
 */
import type { BenchContext, Database } from './context.ts';
import { heapOf, type Target } from './gateway.ts';
import { runLoad, runPaced, type LoadRequest } from './load.ts';
import { cpuMs, machineCpuMs } from './processes.ts';
import type { PathEntry } from './report.ts';
import { boundFor } from './targets.ts';

/** Latency targets are checked at this fraction of the path's peak rate (see measure's `paced`). */
export const PACED_FRACTION = 0.5;

/** Requests per second to plan for (orders and signatures are made beforehand), from the run at fewer connections. */
export function estimateRate(ctx: BenchContext, db: string, path: string, connections: number, processes: number): number {
  const http = ctx.floors.find((f) => f.name === 'http' && f.connections === connections);
  const cap = http ? http.rate * processes : Number.POSITIVE_INFINITY;
  let estimate: number;
  if (path === 'notify-cluster') {
    const single = ctx.paths.find((p) => p.db === db && p.path === 'notify' && p.connections === connections && p.offeredRate === null);
    estimate = (single ? single.rate * 1.3 : 1_500) * processes;
  } else {
    const before = ctx.paths
      .filter((p) => p.db === db && p.path === path && p.connections < connections && p.offeredRate === null)
      .sort((a, b) => b.connections - a.connections)[0];
    estimate = before ? before.rate * (connections >= before.connections * 4 ? 5 : 2) : connections === 1 ? 800 : 1_500;
  }
  return Math.max(Math.min(estimate, cap), 200);
}

export async function measure(
  ctx: BenchContext,
  dbase: Database,
  target: Target,
  path: string,
  connections: number,
  source: { next: () => LoadRequest | null; ok: (status: number, body: string) => boolean },
  hooks: { start?: () => void; extra?: () => Record<string, number | string> | Promise<Record<string, number | string>> } = {},
  /** Offered requests per second (an open model), instead of every connection as fast as it can. */
  paced: number | null = null,
): Promise<PathEntry> {
  const { child } = target;
  let cpu0 = 0;
  let db0 = 0;
  let bench0 = process.cpuUsage();
  let bank0 = cpuMs(ctx.bank.pid);
  let worker0 = target.worker ? target.worker.rss.cpuMs() : 0;
  let machine0 = machineCpuMs();
  let window0 = performance.now();
  const spec = {
    base: target.base,
    connections,
    warmupSec: ctx.options.warmupSec,
    durationSec: ctx.options.durationSec,
    next: source.next,
    ok: source.ok,
    onMeasureStart: () => {
      child.rss.phase = `${path} c=${connections}${paced === null ? '' : ' paced'}`;
      child.rss.resetWindow();
      cpu0 = child.rss.cpuMs();
      db0 = dbase.dbPid ? cpuMs(dbase.dbPid) : 0;
      bench0 = process.cpuUsage();
      bank0 = cpuMs(ctx.bank.pid);
      worker0 = target.worker ? target.worker.rss.cpuMs() : 0;
      machine0 = machineCpuMs();
      window0 = performance.now();
      hooks.start?.();
    },
  };
  child.rss.phase = `warm-up of ${path} c=${connections}`;
  const result = paced === null ? await runLoad(spec) : await runPaced({ ...spec, rate: paced });
  child.rss.phase = `after ${path} c=${connections}`;
  const served = Math.max(1, result.count);
  // Cores busy over the window (CPU ms ÷ wall ms): who used the machine while this path ran.
  const wallMs = Math.max(1, performance.now() - window0);
  const benchUsed = process.cpuUsage(bench0);
  const machine1 = machineCpuMs();
  const serverCpuMs = child.rss.cpuMs() - cpu0;
  const dbCpuMs = dbase.dbPid ? cpuMs(dbase.dbPid) - db0 : null;
  const entry: PathEntry = {
    db: dbase.kind,
    path,
    connections,
    processes: target.processes,
    offeredRate: paced,
    rate: result.rate,
    count: result.count,
    seconds: result.seconds,
    p50: result.p50,
    p99: result.p99,
    rssMb: child.rss.windowPeakKb / 1024,
    cpuMsPerReq: serverCpuMs / served,
    dbCpuMsPerReq: dbCpuMs === null ? null : dbCpuMs / served,
    cores: {
      machine: (machine1.busy - machine0.busy) / wallMs,
      steal: (machine1.steal - machine0.steal) / wallMs,
      server: serverCpuMs / wallMs,
      db: dbCpuMs === null ? null : dbCpuMs / wallMs,
      bench: (benchUsed.user + benchUsed.system) / 1000 / wallMs,
      bank: (cpuMs(ctx.bank.pid) - bank0) / wallMs,
      worker: target.worker ? (target.worker.rss.cpuMs() - worker0) / wallMs : 0,
    },
    bound: boundFor(ctx.floors, path, dbase.kind, connections),
    ofBound: null,
    costVsNaive: null,
    bad: result.bad,
    badSamples: result.badSamples,
    errors: result.errors,
    exhaustedAtSec: result.exhaustedAtSec,
    extra: (await hooks.extra?.()) ?? {},
    heap: path === 'naive' ? null : await heapOf(target.base),
  };
  entry.ofBound = entry.bound ? entry.rate / entry.bound.rate : null;
  ctx.paths.push(entry);
  const note = result.bad ? `  ${result.bad} WRONG ANSWERS, e.g. ${result.badSamples[0]}` : '';
  ctx.log(`  ${dbase.kind} ${path} c=${connections}${target.processes > 1 ? ` ×${target.processes}` : ''}${paced === null ? '' : ` paced at ${Math.round(paced)}/s`}: ${Math.round(entry.rate)}/s p50 ${entry.p50.toFixed(2)} p99 ${entry.p99.toFixed(2)} ms, RSS ${Math.round(entry.rssMb)} MB${entry.heap ? ` (heap ${Math.round(entry.heap.totalMb)}, new ${Math.round(entry.heap.newSpaceMb)})` : ''}, CPU ${entry.cpuMsPerReq.toFixed(2)} ms/req${note}`);
  return entry;
}

