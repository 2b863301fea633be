import { createHash, timingSafeEqual } from 'node:crypto';
import type { Db } from './db.ts';
import { ValidationError } from './errors.ts';
import { newId, randomString } from './ids.ts';

export interface Merchant {
  id: string;
  name: string;
  webhookUrl: string | null;
  createdAt: Date;
}

interface MerchantRow {
  id: string;
  name: string;
  api_key_hash: string;
  webhook_url: string | null;
  webhook_secret: string;
  created_at: number | string;
}

const toMerchant = (r: MerchantRow): Merchant => ({
  id: r.id,
  name: r.name,
  webhookUrl: r.webhook_url,
  createdAt: new Date(Number(r.created_at)),
});

/** API keys are stored as SHA-256: they are long random strings, so a slow hash adds nothing. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

export function newApiKey(): string {
  return `pgk_${randomString(40)}`;
}

const API_KEY = /^[\x21-\x7e]{20,200}$/;

export async function createMerchant(
  db: Db,
  input: { name: string; webhookUrl?: string | null; apiKey?: string; now?: Date },
): Promise<{ merchant: Merchant; apiKey: string; webhookSecret: string }> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw ValidationError.field('name', 'must be 1-200 characters');
  const apiKey = input.apiKey ?? newApiKey();
  if (!API_KEY.test(apiKey)) throw ValidationError.field('apiKey', 'must be 20-200 printable ASCII characters');
  const row: MerchantRow = {
    id: newId('mch'),
    name,
    api_key_hash: hashApiKey(apiKey),
    webhook_url: input.webhookUrl ?? null,
    webhook_secret: `whsec_${randomString(40)}`,
    created_at: (input.now ?? new Date()).getTime(),
  };
  await db('merchants').insert(row);
  return { merchant: toMerchant(row), apiKey, webhookSecret: row.webhook_secret };
}

/** Finds the merchant whose key this is; the stored hash is compared in constant time. */
export async function authenticateMerchant(db: Db, apiKey: string): Promise<Merchant | undefined> {
  if (!API_KEY.test(apiKey)) return undefined;
  const hash = hashApiKey(apiKey);
  const row = (await db('merchants').where({ api_key_hash: hash }).first()) as MerchantRow | undefined;
  if (!row) return undefined;
  const ok = timingSafeEqual(Buffer.from(row.api_key_hash, 'hex'), Buffer.from(hash, 'hex'));
  return ok ? toMerchant(row) : undefined;
}

export async function listMerchants(db: Db): Promise<Merchant[]> {
  const rows = (await db('merchants').orderBy('created_at')) as MerchantRow[];
  return rows.map(toMerchant);
}

export async function countMerchants(db: Db): Promise<number> {
  const row = (await db('merchants').count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** Issues a new key; the old one stops working at once. */
export async function rotateApiKey(db: Db, merchantId: string): Promise<string | undefined> {
  const apiKey = newApiKey();
  const updated = await db('merchants').where({ id: merchantId }).update({ api_key_hash: hashApiKey(apiKey) });
  return updated === 1 ? apiKey : undefined;
}
