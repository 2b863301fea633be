import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { AppConfig } from '../../core/config.ts';
import { errorSummary } from '../../core/db.ts';
import type { CoreDeps } from '../../core/deps.ts';
import type { EventRow } from '../../core/events.ts';
import { claimRows } from '../../core/jobs/lease.ts';
import { toDecimalString } from '../../core/money.ts';
import { signingSecrets, type WebhookSecretColumns } from '../../core/webhook-secrets.ts';
import { SIGNATURE_HEADER, verifyWebhook } from '../../core/webhook-signature.ts';
import { deliverEvent, WEBHOOK_LEASE_MS, WEBHOOK_TIMEOUT_MS } from '../../core/webhooks.ts';
import { parseIntFlag, str, UsageError, type FlagValues, type Flags } from './args.ts';
import { openCliRuntime } from './runtime.ts';

/**
 * `paygate listen` (docs/webhooks.md, "Trying it locally"): for a merchant's developer, in the spirit
 * of `stripe listen`. It starts a receiver on 127.0.0.1, points the merchant's webhook URL at it,
 * and delivers that merchant's new events to it itself, through the same signing and delivery code
 * as the server (core/webhooks.ts). Each event is printed with its signature check and forwarded,
 * raw body and original headers, to --forward-to. On SIGINT or SIGTERM the previous webhook URL is
 * put back (unless someone changed it meanwhile).
 *
 * Why it delivers itself: the server refuses to POST to loopback unless PAYGATE_WEBHOOK_ALLOW_PRIVATE
 * is set (core/webhook-target.ts), and that guard must stay on in production. This process may
 * deliver to exactly the receiver it started (`ownReceiverUrl`) and nowhere else, so the guard is
 * never widened: a server that tries the same event first records a refused attempt, and listen
 * delivers the event anyway.
 */

export const listenFlags: Flags = {
  'forward-to': { type: 'string' },
  merchant: { type: 'string' },
  port: { type: 'string' },
};

export const LISTEN_USAGE = `  listen [--forward-to <url>] [--merchant <id>] [--port 0]
                                  receive the merchant's webhooks here (default: the first merchant,
                                  the demo one), print each with its signature check and forward it to
                                  --forward-to; restores the previous webhook URL on Ctrl-C
`;

/** How often the merchant's new events are looked for. */
const POLL_MS = 250;
const BODY_LIMIT = 1024 * 1024;
const FORWARD_TIMEOUT_MS = 10_000;
/** Not forwarded: they describe the connection to this receiver, not the webhook. */
const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

interface MerchantRow extends WebhookSecretColumns {
  id: string;
  name: string;
  webhook_url: string | null;
}

/** One line about a received webhook: what happened to which payment. */
export function describeEvent(raw: string): string {
  try {
    const event = JSON.parse(raw) as { id?: string; type?: string; data?: { payment?: Record<string, any>; refund?: Record<string, any> } };
    const p = event.data?.payment;
    const parts = [event.type ?? '?', event.id ?? '?'];
    if (p) parts.push(String(p.id), String(p.status), typeof p.amount === 'number' && typeof p.currency === 'string' ? `${p.currency} ${toDecimalString(p.amount, p.currency)}` : '');
    const r = event.data?.refund;
    if (r) parts.push(`refund ${String(r.id)} ${String(r.status)} ${typeof r.amount === 'number' ? `${r.currency} ${toDecimalString(r.amount, String(r.currency))}` : ''}`.trim());
    return parts.filter(Boolean).join('  ');
  } catch {
    return '(not JSON)';
  }
}

async function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `npm run paygate -- listen ...`; runs until SIGINT or SIGTERM, then returns the exit code. */
export async function runListen(values: FlagValues, config: AppConfig, signals: NodeJS.EventEmitter = process): Promise<number> {
  const forwardTo = str(values, 'forward-to');
  if (forwardTo !== undefined) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(forwardTo).protocol);
    } catch {
      // not a URL
    }
    if (!ok) throw new UsageError('--forward-to must be an http(s) URL (e.g. http://localhost:4242/hook)');
  }
  const port = parseIntFlag('port', str(values, 'port'), 0, 0, 65535);
  // listen takes a merchant's webhook URL over: for the demo and development only. Where real
  // provider accounts are configured, a forgotten listen would swallow real merchants' events.
  if (!config.simulateUnconfigured) {
    console.error(
      'paygate listen: refused: provider accounts are configured (or PAYGATE_SIMULATORS=off), so this looks like a real installation. ' +
        'listen points a merchant\'s webhook URL at this terminal; use it on a demo or development gateway running on its simulators.',
    );
    return 1;
  }

  const runtime = await openCliRuntime(config, { providers: false });
  const { deps } = runtime;
  const merchantId = str(values, 'merchant');
  const merchant = (merchantId
    ? await deps.db('merchants').where({ id: merchantId }).first()
    : await deps.db('merchants').orderBy('created_at').orderBy('id').first()) as MerchantRow | undefined;
  if (!merchant) {
    await runtime.close();
    console.error(merchantId ? `paygate listen: no merchant ${merchantId}` : 'paygate listen: there is no merchant yet (npm start makes the demo one)');
    return 1;
  }

  const receiver = http.createServer((req, res) => {
    void receive(req, res).catch((err: unknown) => {
      console.error(`paygate listen: ${errorSummary(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    receiver.once('error', reject);
    receiver.listen(port, '127.0.0.1', resolve);
  });
  const ownUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`;
  const previousUrl = merchant.webhook_url;
  const startedAt = deps.now().getTime();

  async function receive(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const body = await readBody(req);
    if (!body) return void res.writeHead(413).end();
    const raw = body.toString('utf8');
    const header = req.headers[SIGNATURE_HEADER.toLowerCase()];
    // The merchant's secrets as they are now: a rotation while listening is picked up at once.
    const current = (await deps.db('merchants').where({ id: merchant!.id }).first()) as MerchantRow | undefined;
    const secrets = current ? signingSecrets(current, deps.now()) : [];
    const results = secrets.map((s) => verifyWebhook(raw, typeof header === 'string' ? header : undefined, s, { now: deps.now() }));
    const verified = results.find((r) => r.ok);
    const check = verified ? 'signature verified' : `signature NOT verified (${results.map((r) => (r.ok ? '' : r.reason)).join('; ') || 'no secret'})`;
    let forwarded = '';
    if (forwardTo) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      try {
        const answer = await fetch(forwardTo, { method: 'POST', headers, body: new Uint8Array(body), redirect: 'manual', signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS) });
        await answer.body?.cancel().catch(() => {});
        forwarded = `  -> ${forwardTo} [${answer.status}]`;
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        forwarded = `  -> ${forwardTo} [failed: ${e.name === 'TimeoutError' ? `no answer in ${FORWARD_TIMEOUT_MS / 1000} s` : (e.cause?.code ?? e.message)}]`;
      }
    }
    console.log(`${new Date().toISOString()}  ${describeEvent(raw)}  ${check}${forwarded}`);
    // Received and checked is all paygate needs to hear; the target's own answer is printed above.
    res.writeHead(verified ? 200 : 400, { 'content-type': 'text/plain' }).end(verified ? 'ok' : 'signature not verified');
  }

  await deps.db('merchants').where({ id: merchant.id }).update({ webhook_url: ownUrl });
  console.log(`Ready: ${merchant.name} (${merchant.id}) webhooks now go to ${ownUrl}${forwardTo ? `, forwarded to ${forwardTo}` : ''}.`);
  console.log(`Ctrl-C stops and puts the webhook URL back (${previousUrl ?? 'none'}).`);

  const owner = `${hostname()}:${process.pid}:listen`;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        await deliverNew(deps, merchant.id, ownUrl, startedAt, owner);
      } catch (err) {
        console.error(`paygate listen: ${errorSummary(err)}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();

  await new Promise<void>((resolve) => {
    signals.once('SIGINT', resolve);
    signals.once('SIGTERM', resolve);
    // A closed terminal too: the URL must go back whatever ends the session.
    signals.once('SIGHUP', resolve);
  });
  stopping = true;
  await loop;
  // Only if it is still ours: someone who set another URL meanwhile keeps theirs.
  const restored = await deps.db('merchants').where({ id: merchant.id, webhook_url: ownUrl }).update({ webhook_url: previousUrl });
  console.log(restored === 1 ? `Webhook URL restored: ${previousUrl ?? 'none'}` : 'The webhook URL was changed meanwhile; left as it is.');
  await new Promise<void>((resolve) => {
    receiver.close(() => resolve());
    receiver.closeAllConnections();
  });
  await runtime.close();
  return 0;
}

/**
 * Delivers the merchant's events created since listen started: each at once the first time (a
 * refused attempt by the server does not count), then on the usual retry schedule.
 */
async function deliverNew(deps: CoreDeps, merchantId: string, ownUrl: string, since: number, owner: string): Promise<void> {
  const now = deps.now();
  const rows = await claimRows<EventRow>(deps.db, {
    table: 'events',
    where: (q) =>
      q
        .where({ merchant_id: merchantId, delivery_status: 'pending' })
        .andWhere('created_at', '>=', since)
        .andWhere((w) =>
          w.where('next_attempt_at', '<=', now.getTime()).orWhereNotExists((sub) => {
            sub.select(deps.db.raw('1')).from('webhook_attempts').whereRaw('webhook_attempts.event_id = events.id').andWhere('webhook_attempts.url', ownUrl).whereNotNull('webhook_attempts.response_status');
          }),
        ),
    orderBy: 'id',
    limit: 10,
    leaseMs: Math.max(WEBHOOK_LEASE_MS, WEBHOOK_TIMEOUT_MS + 30_000),
    owner,
    now,
  });
  // One at a time, oldest first: the developer reads them in the order they happened.
  for (const row of rows) await deliverEvent(deps, row, { timeoutMs: WEBHOOK_TIMEOUT_MS, leaseMs: WEBHOOK_LEASE_MS, ownReceiverUrl: ownUrl });
}
