/**
 * The gateway under test: the built server `npm start` runs (dist/server/main.js, plain node, no
 * tsx) in its own process, with the flags `npm start` gives it, one process or a cluster, stopped
 * with SIGTERM (optionally after a heap snapshot).
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { freePort } from '../helpers/mariadb.ts';
import type { BenchContext, Database } from './context.ts';
import { Child, ROOT, sleep, startScriptEntry, startScriptNodeFlags } from './processes.ts';
import type { PathEntry } from './report.ts';

export interface Target {
  child: Child;
  base: string;
  processes: number;
  /** Where its profiles and heap snapshots go. */
  profileDir?: string;
  /** The largest process's RSS once it answered, before any load (MB). */
  readyRssMb?: number;
  /**
   * The job runner, `npm run worker` (dist/server/cli.js worker), when the gateway runs without its
   * inline worker: it takes what follows a SinoPac ack (core/deps.ts storedCallbacks), off the
   * gateway's event loop. Its CPU is not the gateway's: the ack path reports it apart.
   */
  worker?: Child;
}

/** GET on a fresh connection (so that each may reach another cluster worker); the worker header. */
function workerOf(base: string): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get(`${base}/healthz`, { agent: false, headers: { connection: 'close' }, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.headers['x-paygate-worker'] as string | undefined) ?? null));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
  });
}

export async function startGateway(ctx: BenchContext, dbase: Database, processes: number, label: string, options: { inlineWorker?: boolean } = {}): Promise<Target> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const profileDir = join(ROOT, 'bench-results', 'profiles', `${dbase.kind}-${label}`);
  if (ctx.options.profile || ctx.options.heapSnapshot) mkdirSync(profileDir, { recursive: true });
  const env = {
    DATABASE_URL: dbase.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    PAYGATE_PUBLIC_URL: base,
    PAYGATE_CONFIG: ctx.configFile,
    PAYGATE_SIMULATORS: 'off',
    PAYGATE_INLINE_WORKER: options.inlineWorker ? 'true' : 'false',
    PAYGATE_DEMO_API_KEY: ctx.apiKey,
    PAYGATE_ADMIN_PASSWORD: ctx.adminPassword,
    PAYGATE_WORKERS: String(processes),
    LOG_LEVEL: 'warn',
  };
  const child = await Child.start({
    name: `gateway (${dbase.kind}, ${label})`,
    script: startScriptEntry(),
    env,
    nodeArgs: [
      ...startScriptNodeFlags(),
      ...ctx.options.serverNodeArgs,
      ...(ctx.options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...(ctx.options.heapSnapshot ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${profileDir}`] : []),
    ],
    readyUrl: `${base}/healthz`,
  });
  ctx.children.add(child);
  if (processes > 1) {
    const seen = new Set<string>();
    const deadline = Date.now() + 30_000;
    while (seen.size < processes && Date.now() < deadline) {
      const id = await workerOf(base);
      if (id) seen.add(id);
      else await sleep(100);
    }
    if (seen.size < processes) throw new Error(`only ${seen.size} of ${processes} workers answered:\n${child.tail()}`);
  }
  const readyRssMb = child.rss.largestNowKb() / 1024;
  // Production's layout without the inline worker: the job runner in a process of its own.
  const worker = options.inlineWorker
    ? undefined
    : await Child.start({ name: `worker (${dbase.kind}, ${label})`, script: startScriptEntry().replace(/main\.js$/, 'cli.js'), args: ['worker'], env });
  if (worker) ctx.children.add(worker);
  return { child, base, processes, profileDir, readyRssMb, worker };
}

export async function stopGateway(ctx: BenchContext, dbase: Database, target: Target, label: string): Promise<void> {
  if (ctx.options.heapSnapshot && target.profileDir) {
    // Written by the process itself after a full GC; done when the file stops growing.
    const dir = target.profileDir;
    const size = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    const before = size();
    target.child.proc.kill('SIGUSR2');
    let last = -1;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(1_000)) {
      const now = size();
      if (now > before && now === last) break;
      last = now;
    }
    ctx.log(`  heap snapshot of ${label} in ${dir}`);
  }
  target.child.rss.phase = 'stopping';
  const code = await target.child.stop();
  ctx.children.delete(target.child);
  if (target.worker) {
    await target.worker.stop();
    ctx.children.delete(target.worker);
    const said = target.worker.warnings();
    if (Object.keys(said).length) ctx.log(`  ${label}'s worker process logged at warn or above: ${JSON.stringify(said)}`);
  }
  const { rss } = target.child;
  ctx.serverRss.push({ db: dbase.kind, run: label, peakProcessMb: rss.peakProcessKb / 1024, peakTreeMb: rss.peakTreeKb / 1024, peakDuring: rss.peakPhase, readyMb: target.readyRssMb ?? null });
  const warnings = target.child.warnings();
  if (Object.keys(warnings).length) {
    // The SinoPac acks carry tokens the bank never issued: each exchange ends "rejected", with a warning.
    const expected = warnings['callback failed verification'] ? ' (failed verifications: the SinoPac acks\' made-up tokens, expected)' : '';
    ctx.log(`  ${label} logged at warn or above: ${JSON.stringify(warnings)}${expected}`);
  }
  if (code !== 0) ctx.log(`  ${label} exited with code ${code}:\n${target.child.tail()}`);
}

/** The gateway's V8 heap figures from its process metrics (one worker's, when clustered). */
export async function heapOf(base: string): Promise<PathEntry['heap']> {
  try {
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    if (res.status !== 200) return null;
    const mb = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
    return {
      totalMb: mb(/^nodejs_heap_size_total_bytes (\S+)$/m),
      usedMb: mb(/^nodejs_heap_size_used_bytes (\S+)$/m),
      newSpaceMb: mb(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)$/m),
      externalMb: mb(/^nodejs_external_memory_bytes (\S+)$/m),
    };
  } catch {
    return null;
  }
}

