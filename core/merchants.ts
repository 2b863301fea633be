import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Db } from './db.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import { newId, randomString } from './ids.ts';
import { parseWith } from './validation.ts';

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
  display_name?: string | null;
  logo_url?: string | null;
  support_email?: string | null;
  support_url?: string | null;
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

/** What the buyer's pages show about the shop. The name falls back to the merchant's own name. */
export interface MerchantDisplay {
  name: string;
  logoUrl: string | null;
  supportEmail: string | null;
  supportUrl: string | null;
}

const isUrl = (value: string, protocols: readonly string[]): boolean => {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
};

const email = z.email();

/** A trimmed string of at most `max` characters that is '' (clear the field) or passes `ok`. */
const clearable = (max: number, ok: (value: string) => boolean, message: string) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => v === '' || ok(v), message)
    .optional();

/**
 * `merchant:update` input. Each field is optional; an empty string clears it. The logo must be
 * https: the pages are served over https in production and would otherwise mix content; the
 * support page may be http(s) (it is a link the buyer follows, not content we load).
 */
export const merchantDisplayInput = z
  .strictObject({
    displayName: clearable(100, (v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters'),
    logoUrl: clearable(500, (v) => isUrl(v, ['https:']), 'must be an https:// URL with a host (no user name or password)'),
    supportEmail: clearable(254, (v) => email.safeParse(v).success, 'must be an email address'),
    supportUrl: clearable(500, (v) => isUrl(v, ['https:', 'http:']), 'must be an http(s):// URL with a host (no user name or password)'),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'give at least one of displayName, logoUrl, supportEmail, supportUrl' });
export type MerchantDisplayInput = z.infer<typeof merchantDisplayInput>;

const COLUMNS = { displayName: 'display_name', logoUrl: 'logo_url', supportEmail: 'support_email', supportUrl: 'support_url' } as const;

/** Sets (or, with '', clears) the fields given; the others keep their values. */
export async function updateMerchantDisplay(db: Db, merchantId: string, input: unknown): Promise<MerchantDisplay> {
  const parsed = parseWith(merchantDisplayInput, input);
  const changes: Record<string, string | null> = {};
  for (const [field, column] of Object.entries(COLUMNS)) {
    const value = parsed[field as keyof MerchantDisplayInput];
    if (value !== undefined) changes[column] = value === '' ? null : value;
  }
  const updated = await db('merchants').where({ id: merchantId }).update(changes);
  if (updated !== 1) throw new NotFoundError('Merchant');
  return (await findMerchantDisplay(db, merchantId))!;
}

export async function findMerchantDisplay(db: Db, merchantId: string): Promise<MerchantDisplay | undefined> {
  const row = (await db('merchants').where({ id: merchantId }).first('name', 'display_name', 'logo_url', 'support_email', 'support_url')) as MerchantRow | undefined;
  if (!row) return undefined;
  return {
    name: row.display_name ?? row.name,
    logoUrl: row.logo_url ?? null,
    supportEmail: row.support_email ?? null,
    supportUrl: row.support_url ?? null,
  };
}
