/**
 * Every document the code cites is in the repository: `docs/….md#anchor` references resolve to a
 * file and a heading in it, nothing points outside the repository any more, and the protocol
 * section numbers used in provider code are each covered by that provider's page
 * (docs/protocols/<id>.md#section-numbers-in-the-code).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import test from 'ava';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SCANNED = ['core', 'server', 'providers', 'test', 'migrations', 'knexfile.ts'];

function files(path: string): string[] {
  const full = join(ROOT, path);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return /\.(ts|cjs|mjs)$/.test(path) ? [path] : [];
  return readdirSync(full).flatMap((name) => (name === 'node_modules' ? [] : files(join(path, name))));
}

const sources = SCANNED.flatMap(files).filter((f) => f !== relative(ROOT, import.meta.filename));

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(doc: string): Set<string> {
  const text = readFileSync(join(ROOT, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

test('no comment cites a document outside the repository', (t) => {
  const outside: string[] = [];
  for (const file of sources) {
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/DESIGN §|shared\/specs|\.\.\/shared\//.test(line)) outside.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  t.deepEqual(outside, []);
});

test('every docs/…md reference in the code names a file in the repository and, with #anchor, a heading in it', (t) => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of sources) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/\bdocs\/[\w./-]+?\.md(?:#[\p{L}\p{N}_-]+)?/gu)) {
      const [doc, anchor] = m[0].split('#') as [string, string | undefined];
      checked++;
      if (!existsSync(join(ROOT, doc))) broken.push(`${file}: ${m[0]} (no such file)`);
      else if (anchor && !anchorsOf(doc).has(anchor)) broken.push(`${file}: ${m[0]} (no such heading)`);
    }
  }
  t.true(checked > 40, `only ${checked} references found: the scan is broken`);
  t.deepEqual(broken, []);
});

/** The section numbers a provider page's table covers: `§7.1`, and every number of a range `§3.1-§3.5`. */
function coveredNumbers(doc: string): Set<string> {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  const start = text.indexOf('## Section numbers in the code');
  const numbers = new Set<string>();
  if (start < 0) return numbers;
  for (const row of text.slice(start).split('\n').filter((l) => l.startsWith('| §'))) {
    const cell = row.split('|')[1]!;
    for (const m of cell.matchAll(/§(\d+)\.(\d+)\s*[-–]\s*§\1\.(\d+)/g)) {
      for (let i = Number(m[2]); i <= Number(m[3]); i++) numbers.add(`${m[1]}.${i}`);
    }
    for (const m of cell.matchAll(/§(\d+(?:\.\d+)*)/g)) numbers.add(m[1]!);
  }
  return numbers;
}

test("section numbers in a provider's code are covered by its protocol page", (t) => {
  const uncovered: string[] = [];
  for (const id of ['sinopac', 'alipay', 'ecpay', 'newebpay', 'linepay']) {
    const covered = coveredNumbers(`docs/protocols/${id}.md`);
    t.true(covered.size > 10, `docs/protocols/${id}.md has no section table`);
    for (const file of sources.filter((f) => f.startsWith(`providers/${id}/`) || f.startsWith(`test/providers/${id}/`))) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/§\s?(\d+(?:\.\d+)*)/g)) {
        const parts = m[1]!.split('.');
        // §7.1.2 is covered by §7.1 (or §7).
        const ok = parts.some((_, i) => covered.has(parts.slice(0, i + 1).join('.')));
        if (!ok) uncovered.push(`${file}: §${m[1]}`);
      }
    }
  }
  t.deepEqual([...new Set(uncovered)], []);
});
