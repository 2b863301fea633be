/**
 * One writer (issue 14): nothing but core/order-writer.ts writes the `orders` table. The test reads
 * every source file of core/, server/ and providers/ and fails on any statement that names the table
 * and inserts, updates, deletes or increments, or on raw SQL that does. core/jobs/lease.ts claims rows of
 * any table by name (only the lease columns) and never names `orders` itself.
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRITER = 'core/order-writer.ts';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Statements (up to the next `;`) that start at a reference to the orders table and write it. */
export function ordersWrites(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/\(\s*['"`]orders['"`]\s*\)/g)) {
    const rest = text.slice(match.index!, text.indexOf(';', match.index!) + 1 || undefined);
    if (/\.(insert|update|delete|del|increment|decrement|upsert|truncate)\s*\(/.test(rest)) found.push(rest.replace(/\s+/g, ' ').slice(0, 120));
  }
  for (const match of text.matchAll(/\b(update|insert\s+into|delete\s+from)\s+`?orders`?\b/gi)) found.push(match[0]);
  // The hot paths' driver statements (core/statements.ts) name the table as an argument.
  for (const match of text.matchAll(/\b(insertRow|updateWhere)\s*\(\s*[^,()]+,\s*['"`]orders['"`]/g)) found.push(match[0]);
  return found;
}

test('the probe finds each kind of write it is looking for', (t) => {
  t.is(ordersWrites("await trx('orders').where({ id }).update({ status: 'paid' });").length, 1);
  t.is(ordersWrites("await db('orders')\n  .insert(row);").length, 1);
  t.is(ordersWrites("db(\"orders\").where({ id }).del();").length, 1);
  t.is(ordersWrites("await db.raw('UPDATE orders SET status = ?', ['x']);").length, 1);
  t.is(ordersWrites("await updateWhere(trx, 'orders', patch, { id });").length, 1);
  t.is(ordersWrites("await insertRow(db, 'orders', row);").length, 1);
  t.is(ordersWrites("await insertRow(db, 'order_items', row);").length, 0);
  t.is(ordersWrites("const row = await db('orders').where({ id }).first();").length, 0);
});

test('only core/order-writer.ts writes the orders table', (t) => {
  const offenders: string[] = [];
  let writerWrites = 0;
  for (const dir of ['core', 'server', 'providers']) {
    for (const file of sources(join(ROOT, dir))) {
      const name = relative(ROOT, file).replace(/\\/g, '/');
      const writes = ordersWrites(readFileSync(file, 'utf8'));
      if (name === WRITER) writerWrites = writes.length;
      else offenders.push(...writes.map((w) => `${name}: ${w}`));
    }
  }
  t.deepEqual(offenders, []);
  t.true(writerWrites > 0, 'the writer itself is found by the probe');
});
