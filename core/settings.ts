import { randomBytes } from 'node:crypto';
import type { Db } from './db.ts';
import { isUniqueViolation } from './db.ts';

/**
 * A secret shared by every process on one database, made on first use. The first writer wins;
 * the others read what it wrote.
 */
export async function sharedSecret(db: Db, name: string, now: Date = new Date()): Promise<string> {
  const existing = await db('settings').where({ name }).first();
  if (existing) return existing.value as string;
  try {
    await db('settings').insert({ name, value: randomBytes(32).toString('base64url'), created_at: now.getTime() });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  return ((await db('settings').where({ name }).first()) as { value: string }).value;
}
