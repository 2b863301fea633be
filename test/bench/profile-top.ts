/**
 * Where a server's CPU went, from the profiles `npm run bench -- --profile` writes:
 *
 *   npx tsx test/bench/profile-top.ts bench-results/profiles/sqlite-main [--top 40] [--match <text>] [--skip 5]
 *
 * Prints self time by function and by package (node_modules/<name>, paygate's own folders,
 * node internals, GC / idle), over the main-thread .cpuprofile files in the folder (node names them
 * CPU.<date>.<time>.<pid>.<thread>.<seq>; thread 0 is the main thread, others are the loader's).
 * --skip drops each profile's first seconds (start-up: compiling modules, migrating).
 * --match also prints the total (inclusive) time of frames whose function or file contains the text.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

function bucket(url: string, fn: string): string {
  if (fn === '(garbage collector)' || fn === '(idle)' || fn === '(program)') return fn;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const own = /\/(core|providers|server|migrations|test)\//.exec(url);
  if (own) return `paygate ${own[1]}`;
  if (url.startsWith('node:') || url === '') return 'node internals';
  return url;
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 30;
  const matchAt = args.indexOf('--match');
  const match = matchAt >= 0 ? args.splice(matchAt, 2)[1]! : null;
  const skipAt = args.indexOf('--skip');
  const skipUs = skipAt >= 0 ? Number(args.splice(skipAt, 2)[1]) * 1e6 : 0;
  const target = args[0];
  if (!target) throw new Error('usage: profile-top.ts <dir or .cpuprofile> [--top N] [--match text]');
  const files = statSync(target).isDirectory()
    ? readdirSync(target).filter((f) => /\.0\.\d+\.cpuprofile$/.test(f)).map((f) => join(target, f))
    : [target];
  const selfByFn = new Map<string, number>();
  const selfByPkg = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const selfUs = new Map<number, number>();
    let at = 0;
    profile.samples.forEach((id, i) => {
      at += profile.timeDeltas[i] ?? 0;
      if (at >= skipUs) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    });
    for (const [id, us] of selfUs) {
      const node = byId.get(id)!;
      const { functionName, url, lineNumber } = node.callFrame;
      const fn = functionName || '(anonymous)';
      const key = `${fn}  ${url.replace(/^file:\/\/.*?\/(node_modules|core|providers|server|test)\//, '$1/')}:${lineNumber + 1}`;
      selfByFn.set(key, (selfByFn.get(key) ?? 0) + us);
      const pkg = bucket(url, fn);
      selfByPkg.set(pkg, (selfByPkg.get(pkg) ?? 0) + us);
      if (fn !== '(idle)') total += us;
      if (match) {
        // Each matching frame on the stack counts once per sample.
        const seen = new Set<string>();
        for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
          const f = byId.get(cur)!.callFrame;
          const k = `${f.functionName || '(anonymous)'}  ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
          if ((f.functionName.includes(match) || f.url.includes(match)) && !seen.has(k)) {
            seen.add(k);
            inclusive.set(k, (inclusive.get(k) ?? 0) + us);
          }
        }
      }
    }
  }
  const print = (title: string, map: Map<string, number>, n: number) => {
    process.stdout.write(`\n${title} (of ${(total / 1000).toFixed(0)} ms busy)\n`);
    for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      process.stdout.write(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}\n`);
    }
  };
  process.stdout.write(`${files.length} profile(s)\n`);
  print('self time by package', selfByPkg, 25);
  print('self time by function', selfByFn, top);
  if (match) print(`inclusive time of frames matching "${match}"`, inclusive, top);
}

main();
