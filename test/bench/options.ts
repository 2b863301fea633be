/**
 * `npm run bench [-- --quick] [--db sqlite|mariadb|both] [--profile] [--connections 1,16,64]`.
 * The full run measures every path on both databases in about 10 minutes on a 2-core machine;
 * `--quick` uses short windows and SQLite only (unless --db says otherwise), for development.
 */
export type DbChoice = 'sqlite' | 'mariadb';

export interface BenchOptions {
  quick: boolean;
  dbs: DbChoice[];
  /** Connection counts every path runs at. */
  connections: number[];
  /** Seconds of load before each measured window (discarded), and of the window itself. */
  warmupSec: number;
  durationSec: number;
  /** Seconds each in-process floor (crypto, database writes) runs for. */
  floorSec: number;
  /** Run the 1 vs 2 process comparison (MariaDB only). */
  cluster: boolean;
  /** Server processes run with --cpu-prof, profiles under bench-results/profiles/. */
  profile: boolean;
  /** Only these paths (comma-separated path ids), for profiling one path. */
  only: string[] | null;
  /** Write a heap snapshot of each gateway (after a full GC) just before it is stopped. */
  heapSnapshot: boolean;
  /** Run the gateway from dist/ as it is, without building first (the build is server/build-if-needed.mjs, npm start's prestart). */
  noBuild: boolean;
  /** The run to compare with (a bench-results/*.json); bench-results/latest.json when not given. */
  compare: string | null;
  /** Extra node flags for the gateway processes (e.g. "--max-semi-space-size=4"), for experiments. */
  serverNodeArgs: string[];
}

export function usage(): string {
  return [
    'usage: npm run bench -- [--quick] [--db sqlite|mariadb|both] [--connections 1,16,64]',
    '                        [--warmup <s>] [--duration <s>] [--no-cluster] [--profile] [--only <path,...>]',
    '                        [--server-node-args "<node flags>"] [--heap-snapshot] [--no-build]',
    '                        [--compare bench-results/<earlier run>.json]   (default: bench-results/latest.json)',
    'paths: notify, notify-dup, sinopac-ack, create-alipay, create-sinopac, naive',
  ].join('\n');
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const args = [...argv];
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return false;
    args.splice(i, 1);
    return true;
  };
  const value = (name: string, dashes = false) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || (!dashes && v.startsWith('--'))) throw new Error(`${name} needs a value\n${usage()}`);
    args.splice(i, 2);
    return v;
  };
  if (flag('--help') || flag('-h')) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const quick = flag('--quick');
  const dbArg = value('--db') ?? (quick ? 'sqlite' : 'both');
  if (!['sqlite', 'mariadb', 'both'].includes(dbArg)) throw new Error(`--db must be sqlite, mariadb or both\n${usage()}`);
  const dbs: DbChoice[] = dbArg === 'both' ? ['sqlite', 'mariadb'] : [dbArg as DbChoice];
  const connections = (value('--connections') ?? '1,16,64').split(',').map((s) => Number(s.trim()));
  if (connections.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) throw new Error('--connections takes integers 1-1024');
  const num = (name: string, fallback: number) => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!(n > 0)) throw new Error(`${name} takes a positive number of seconds`);
    return n;
  };
  const options: BenchOptions = {
    quick,
    dbs,
    connections,
    warmupSec: num('--warmup', quick ? 0.5 : 2),
    durationSec: num('--duration', quick ? 2 : 7),
    floorSec: quick ? 1 : 2.5,
    cluster: !flag('--no-cluster'),
    profile: flag('--profile'),
    heapSnapshot: flag('--heap-snapshot'),
    noBuild: flag('--no-build'),
    compare: value('--compare') ?? null,
    only: value('--only')?.split(',').map((s) => s.trim()) ?? null,
    serverNodeArgs: value('--server-node-args', true)?.split(/\s+/).filter(Boolean) ?? [],
  };
  if (args.length > 0) throw new Error(`unknown arguments: ${args.join(' ')}\n${usage()}`);
  return options;
}

export const wants = (options: BenchOptions, path: string): boolean => options.only === null || options.only.includes(path);
