/**
 * What fills a heap snapshot (`npm run bench -- --heap-snapshot` writes one per gateway before
 * stopping it, after a full GC):
 *
 *   npx tsx test/bench/heap-top.ts bench-results/profiles/sqlite-main/Heap.<...>.heapsnapshot [--top 40]
 *
 * Prints self size and count by node type and constructor (or string / code kind).
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  strings: string[];
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 40;
const file = args[0];
if (!file) throw new Error('usage: heap-top.ts <file.heapsnapshot> [--top N]');
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const iType = fields.indexOf('type');
const iName = fields.indexOf('name');
const iSize = fields.indexOf('self_size');
const groups = new Map<string, { size: number; count: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + iType]!]!;
  const size = snap.nodes[i + iSize]!;
  let name = snap.strings[snap.nodes[i + iName]!] ?? '';
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(strings)';
  else if (type === 'code') name = '(code)';
  else if (type === 'array') name = `(array) ${name}`.slice(0, 60);
  else name = name.slice(0, 80);
  const key = `${type.padEnd(10)} ${name}`;
  const g = groups.get(key) ?? { size: 0, count: 0 };
  g.size += size;
  g.count++;
  groups.set(key, g);
  total += size;
}
process.stdout.write(`${(total / 2 ** 20).toFixed(1)} MB in ${snap.snapshot.node_count} nodes\n`);
for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  process.stdout.write(`${(g.size / 2 ** 20).toFixed(2).padStart(8)} MB ${String(g.count).padStart(9)}  ${k}\n`);
}
