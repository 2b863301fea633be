/**
 * The processes under load: each runs on its own (so its RSS is its own and the load generator does
 * not share its event loop), is sampled from /proc while it runs, and is stopped with SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasExited, waitExit } from '../helpers/mariadb.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLK_TCK = 100; // USER_HZ on Linux

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readProc(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

/** kB fields of /proc/<pid>/status (VmRSS, VmHWM). */
function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readProc(pid, 'status') ?? '');
  return m ? Number(m[1]) : 0;
}

/** utime + stime of one process, in ms. */
export function cpuMs(pid: number): number {
  const stat = readProc(pid, 'stat');
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** The whole machine's CPU time so far, all cores (/proc/stat): busy (not idle, not iowait), and steal (taken by the hypervisor). */
export function machineCpuMs(): { busy: number; steal: number } {
  const line = readFileSafe('/proc/stat').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return { busy: ((user + nice + system + irq + softirq) * 1000) / CLK_TCK, steal: (steal * 1000) / CLK_TCK };
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The pid and every descendant (a cluster's workers). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(Number(name), 'stat');
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/**
 * Samples a process tree's RSS every `everyMs`: the peak of the tree's sum, the largest single
 * process (VmHWM, which the kernel keeps between samples), and a window peak that callers reset per
 * measured run.
 */
export class RssSampler {
  peakTreeKb = 0;
  peakProcessKb = 0;
  windowPeakKb = 0;
  /** What the process was doing (set by the bench), and what it was doing at the sampled peak. */
  phase = 'start-up';
  peakPhase = 'start-up';
  private pids: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private treeRefresh = 0;

  constructor(
    private readonly root: number,
    everyMs = 200,
  ) {
    this.pids = [root];
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    this.sample();
  }

  sample(): void {
    if (this.treeRefresh++ % 10 === 0) this.pids = processTree(this.root);
    let sum = 0;
    for (const pid of this.pids) {
      const rss = statusKb(pid, 'VmRSS');
      sum += rss;
      this.peakProcessKb = Math.max(this.peakProcessKb, statusKb(pid, 'VmHWM'), rss);
    }
    if (sum > this.peakTreeKb) {
      this.peakTreeKb = sum;
      this.peakPhase = this.phase;
    }
    this.windowPeakKb = Math.max(this.windowPeakKb, sum);
  }

  /** The largest process's RSS right now (a fresh look at the tree). */
  largestNowKb(): number {
    this.pids = processTree(this.root);
    return Math.max(0, ...this.pids.map((pid) => statusKb(pid, 'VmRSS')));
  }

  /** CPU ms used so far by the whole tree. */
  cpuMs(): number {
    return this.pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  }

  resetWindow(): void {
    this.sample();
    this.windowPeakKb = 0;
    this.sample();
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

export interface ChildOptions {
  name: string;
  /** Script relative to the repository root, run with `node --import=tsx` (TypeScript) or plain `node` (the build's JavaScript). */
  script: string;
  env: Record<string, string>;
  /** Extra node flags (--cpu-prof ...). */
  nodeArgs?: string[];
  /** Arguments after the script (`worker` for the CLI). */
  args?: string[];
  /** Resolves when the child is ready (polled); without one, once it has run for a second. */
  readyUrl?: string;
}

/** A server process under test: started, sampled, stopped. */
export class Child {
  readonly proc: ChildProcess;
  readonly rss: RssSampler;
  private output = '';
  /** Lines logged at warn or above (pino JSON), counted by message over the whole life of the process. */
  private readonly warned: Record<string, number> = {};

  private constructor(
    readonly name: string,
    proc: ChildProcess,
  ) {
    this.proc = proc;
    const keep = () => {
      let partial = '';
      return (c: Buffer) => {
        const text = c.toString();
        this.output = (this.output + text).slice(-20_000);
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.count(line);
      };
    };
    proc.stdout!.on('data', keep());
    proc.stderr!.on('data', keep());
    this.rss = new RssSampler(proc.pid!);
  }

  private count(line: string): void {
    if (!line.startsWith('{')) return;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) >= 40) this.warned[entry.msg ?? '?'] = (this.warned[entry.msg ?? '?'] ?? 0) + 1;
    } catch {
      // not a log line
    }
  }

  static async start(options: ChildOptions): Promise<Child> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    const loader = options.script.endsWith('.ts') ? ['--import=tsx'] : [];
    const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, options.script, ...(options.args ?? [])], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = new Child(options.name, proc);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (hasExited(proc)) throw new Error(`${options.name} exited (code ${proc.exitCode}) before it was ready:\n${child.tail()}`);
      if (Date.now() > deadline) throw new Error(`${options.name} was not ready after 60 s:\n${child.tail()}`);
      if (!options.readyUrl) {
        await sleep(1_000);
        if (hasExited(proc)) throw new Error(`${options.name} exited (code ${proc.exitCode}) at start:\n${child.tail()}`);
        return child;
      }
      try {
        const res = await fetch(options.readyUrl, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        if (res.status === 200) return child;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
  }

  get pid(): number {
    return this.proc.pid!;
  }

  tail(lines = 30): string {
    return this.output.trimEnd().split('\n').slice(-lines).join('\n');
  }

  warnings(): Record<string, number> {
    return { ...this.warned };
  }

  /** SIGTERM (graceful: a profile is written on exit), SIGKILL after 30 s. Returns the exit code. */
  async stop(): Promise<number | null> {
    this.rss.stop();
    if (!hasExited(this.proc)) {
      this.proc.kill('SIGTERM');
      if (!(await waitExit(this.proc, 30_000))) {
        this.proc.kill('SIGKILL');
        await waitExit(this.proc, 5_000);
      }
    }
    return this.proc.exitCode;
  }

  /** Synchronous last resort (process 'exit'). */
  killNow(): void {
    if (!hasExited(this.proc)) this.proc.kill('SIGKILL');
  }
}

export const benchFile = (...parts: string[]): string => join(ROOT, ...parts);

function startScriptTokens(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return (pkg.scripts?.start ?? '').split(/\s+/).filter(Boolean);
}

/**
 * The node flags `npm start` gives the gateway (package.json scripts.start,
 * `node <flags> dist/server/main.js`), so the process under test runs as it would in production.
 */
export function startScriptNodeFlags(): string[] {
  const tokens = startScriptTokens();
  const script = tokens.findIndex((t) => /server\/main\.[cm]?[jt]s$/.test(t));
  if (script < 0 || !['tsx', 'node'].includes(tokens[0] ?? '')) return [];
  return tokens.slice(1, script).filter((t) => t.startsWith('--') && !/^--(import|loader|require)\b/.test(t));
}

/**
 * Where the bench builds the server: the build `npm start` runs (tsconfig.build.json, the same
 * compiler and options), but into a directory of its own under bench-results/ (git-ignored), so
 * that nothing else rebuilding dist/ meanwhile (a test running `npm start`, whose prestart builds,
 * or someone's `npm run build` of work in progress) changes the files under a gateway or worker
 * the bench is about to start. Inside the repository, so node_modules resolves as it does from dist/.
 */
export const BENCH_BUILD_DIR = join('bench-results', 'build');
let builtDir = 'dist';

/**
 * The built server `npm start` runs (scripts.start's dist/server/main.js), relative to the
 * repository root: under the bench's own build once buildServer has made it.
 */
export function startScriptEntry(): string {
  const entry = startScriptTokens().find((t) => /^(\.\/)?dist\/.*server\/main\.[cm]?js$/.test(t))?.replace(/^\.\//, '') ?? 'dist/server/main.js';
  return entry.replace(/^dist\//, `${builtDir}/`);
}

/**
 * Builds the server as `npm start`'s prestart (server/build-if-needed.mjs) does, `tsc -p
 * tsconfig.build.json`, into BENCH_BUILD_DIR (emptied first), unless `skip`: then dist/ is run as
 * it is. Checks the entry is there; returns the seconds the build took (0 when skipped).
 */
export function buildServer(skip: boolean): number {
  const started = performance.now();
  if (!skip) {
    const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
    rmSync(join(ROOT, BENCH_BUILD_DIR), { recursive: true, force: true });
    const built = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(ROOT, BENCH_BUILD_DIR)], { cwd: ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`the build failed (exit ${built.status}): npm run build shows the errors`);
    builtDir = BENCH_BUILD_DIR;
  }
  const entry = startScriptEntry();
  if (!existsSync(join(ROOT, entry))) throw new Error(`${entry} is missing: run npm run build (or drop --no-build)`);
  return skip ? 0 : (performance.now() - started) / 1000;
}
