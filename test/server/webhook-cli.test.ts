/**
 * Webhooks a merchant can try in five minutes: `merchant:webhook` (URL and secret rotation with its
 * overlap), `trigger` (a real payment driven on SinoPac's simulator over HTTP) and `listen` (receives
 * the real signed webhook, checks it, forwards it, and puts the URL back on SIGTERM).
 */
import type { ExecutionContext } from 'ava';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { CoreDeps } from '../../core/deps.ts';
import type { EventRow } from '../../core/events.ts';
import { claimRows } from '../../core/jobs/lease.ts';
import { silentLogger } from '../../core/logger.ts';
import { createMerchant } from '../../core/merchants.ts';
import { rotateWebhookSecret, signingSecrets, WEBHOOK_SECRET_OVERLAP_MS } from '../../core/webhook-secrets.ts';
import { verifyWebhook } from '../../core/webhook-signature.ts';
import { deliverEvent } from '../../core/webhooks.ts';
import { ProviderRegistry } from '../../core/registry.ts';
import { providerModules } from '../../providers/index.ts';
import { startApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';
import { listen, readAll } from '../helpers/sim-server.ts';

const run = promisify(execFile);

function cliEnv(h: TestDbHandle): NodeJS.ProcessEnv {
  // The guard stays on: listen must work without PAYGATE_WEBHOOK_ALLOW_PRIVATE.
  return { ...process.env, DATABASE_URL: h.url, LOG_LEVEL: 'silent', PAYGATE_WEBHOOK_ALLOW_PRIVATE: 'false' };
}

/** Runs the CLI and returns its exit code and output, whatever the code. */
async function cli(h: TestDbHandle, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import=tsx', 'server/cli.ts', ...args], { env: cliEnv(h) });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

dbTest('merchant:webhook sets the URL, checks it naming the flag, and rotates the secret once shown', async (t, h) => {
  t.timeout(180_000); // seven CLI processes
  const { merchant, webhookSecret } = await createMerchant(h.db, { name: 'Hook shop' });

  const bad = await cli(h, 'merchant:webhook', '--id', merchant.id, '--url', 'ftp://shop.example/hook');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--url must be an http\(s\) URL/);
  const loopback = await cli(h, 'merchant:webhook', '--id', merchant.id, '--url', 'http://127.0.0.1:4242/hook');
  t.is(loopback.code, 2);
  t.regex(loopback.stderr, /--url points at a loopback address/);
  const nothing = await cli(h, 'merchant:webhook', '--id', merchant.id);
  t.is(nothing.code, 2);
  const missing = await cli(h, 'merchant:webhook', '--id', 'mch_nobody', '--rotate-secret');
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no merchant mch_nobody/);
  t.is((await h.db('merchants').where({ id: merchant.id }).first()).webhook_url, null, 'refused input changed nothing');

  const set = await cli(h, 'merchant:webhook', '--id', merchant.id, '--url', 'https://shop.example/hooks/paygate');
  t.is(set.code, 0, set.stderr);
  t.is((await h.db('merchants').where({ id: merchant.id }).first()).webhook_url, 'https://shop.example/hooks/paygate');

  const before = Date.now();
  const rotated = await cli(h, 'merchant:webhook', '--id', merchant.id, '--rotate-secret');
  t.is(rotated.code, 0, rotated.stderr);
  const secret = /webhook secret:\s+(whsec_\S+)/.exec(rotated.stdout)?.[1];
  t.truthy(secret);
  t.false(rotated.stdout.includes(webhookSecret), 'the old secret is never printed');
  const row = await h.db('merchants').where({ id: merchant.id }).first();
  t.is(row.webhook_secret, secret);
  t.is(row.webhook_secret_previous, webhookSecret);
  const until = Number(row.webhook_secret_previous_until);
  t.true(until >= before + WEBHOOK_SECRET_OVERLAP_MS && until <= Date.now() + WEBHOOK_SECRET_OVERLAP_MS);

  const cut = await cli(h, 'merchant:webhook', '--id', merchant.id, '--rotate-secret', '--overlap-hours', '0', '--clear-url');
  t.is(cut.code, 0, cut.stderr);
  const after = await h.db('merchants').where({ id: merchant.id }).first();
  t.not(after.webhook_secret, secret);
  t.is(after.webhook_secret_previous, null, 'no overlap: the replaced secret stops at once');
  t.is(after.webhook_url, null);
  t.is((await cli(h, 'merchant:webhook', '--id', merchant.id, '--rotate-secret', '--overlap-hours', '999')).code, 2);
});

dbTest('after a rotation both secrets sign (new first) for the overlap window, then only the new one', async (t, h) => {
  const received: { header: string; body: string }[] = [];
  const hook = await listen(async (req, res) => {
    received.push({ header: String(req.headers['paygate-signature']), body: await readAll(req) });
    res.writeHead(200).end();
  });
  try {
    const { merchant, webhookSecret: oldSecret } = await createMerchant(h.db, { name: 'Rotating shop', webhookUrl: `${hook.base}/hook` });
    const rotatedAt = new Date('2026-12-01T00:00:00Z');
    const rotation = (await rotateWebhookSecret(h.db, merchant.id, rotatedAt))!;
    t.is(rotation.previousValidUntil?.getTime(), rotatedAt.getTime() + WEBHOOK_SECRET_OVERLAP_MS);

    const deliverAt = async (at: Date): Promise<{ header: string; body: string }> => {
      const payload = JSON.stringify({ id: `evt_rot${at.getTime()}`, type: 'payment.paid', createdAt: at.toISOString(), data: {} });
      await h.db('events').insert({ public_id: `evt_rot${at.getTime()}`, merchant_id: merchant.id, order_id: null, type: 'payment.paid', payload_json: payload, created_at: at.getTime(), delivery_status: 'pending', attempts: 0, next_attempt_at: at.getTime() });
      const deps: CoreDeps = { db: h.db, registry: new ProviderRegistry(providerModules), logger: silentLogger, now: () => at, webhookAllowPrivate: true };
      const [row] = await claimRows<EventRow>(h.db, { table: 'events', where: (q) => q.where({ merchant_id: merchant.id, delivery_status: 'pending' }), orderBy: 'id', limit: 1, leaseMs: 60_000, owner: 't', now: at });
      t.is(await deliverEvent(deps, row!, { timeoutMs: 5_000, leaseMs: 60_000 }), 'delivered');
      return received.at(-1)!;
    };

    const inside = new Date(rotatedAt.getTime() + WEBHOOK_SECRET_OVERLAP_MS - 1_000);
    const during = await deliverAt(inside);
    const values = [...during.header.matchAll(/v1=([0-9a-f]{64})/g)].map((m) => m[1]);
    t.is(values.length, 2, during.header);
    const t0 = Number(/^t=(\d+)/.exec(during.header)![1]);
    t.is(t0, Math.floor(inside.getTime() / 1000), 't is the attempt time');
    t.true(verifyWebhook(during.body, `t=${t0},v1=${values[0]}`, rotation.secret, { now: inside }).ok, 'the new secret signs first');
    t.true(verifyWebhook(during.body, `t=${t0},v1=${values[1]}`, oldSecret, { now: inside }).ok, 'then the old one');
    t.true(verifyWebhook(during.body, during.header, oldSecret, { now: inside }).ok, 'a receiver still on the old secret accepts it');

    const outside = new Date(rotatedAt.getTime() + WEBHOOK_SECRET_OVERLAP_MS);
    const later = await deliverAt(outside);
    t.is([...later.header.matchAll(/v1=/g)].length, 1, later.header);
    t.true(verifyWebhook(later.body, later.header, rotation.secret, { now: outside }).ok);
    t.false(verifyWebhook(later.body, later.header, oldSecret, { now: outside }).ok, 'the old secret no longer signs');
    t.deepEqual(signingSecrets(await h.db('merchants').where({ id: merchant.id }).first(), outside), [rotation.secret]);
  } finally {
    await hook.close();
  }
});

function startListen(h: TestDbHandle, args: string[]) {
  const child = spawn(process.execPath, ['--import=tsx', 'server/cli.ts', 'listen', ...args], { env: cliEnv(h), stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

async function stop(t: ExecutionContext, listener: ReturnType<typeof startListen>): Promise<void> {
  if (listener.child.exitCode === null) listener.child.kill('SIGTERM');
  t.is(await listener.exited, 0, listener.out.stderr);
}

dbTest('listen receives a triggered payment.paid, verifies it, forwards it raw, and restores the URL on SIGTERM', async (t, h) => {
  t.timeout(180_000);
  // The gateway's own guard is on: deliveries to loopback are refused unless listen makes them.
  const app = await startApp(h, { modules: providerModules, webhookAllowPrivate: false });
  const forwarded: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const target = await listen(async (req, res) => {
    forwarded.push({ headers: req.headers, body: await readAll(req) });
    res.writeHead(202).end();
  });
  let listener: ReturnType<typeof startListen> | undefined;
  try {
    await h.db('merchants').where({ id: app.merchant.id }).update({ webhook_url: 'https://shop.example/hooks' });
    listener = startListen(h, ['--forward-to', `${target.base}/hook`, '--merchant', app.merchant.id]);
    await until('listen to be ready', () => (listener!.out.stdout.includes('Ready:') ? true : listener!.child.exitCode !== null ? Promise.reject(new Error(listener!.out.stderr)) : undefined));
    const url = (await h.db('merchants').where({ id: app.merchant.id }).first()).webhook_url as string;
    t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/webhooks$/);

    const triggered = await cli(h, 'trigger', 'payment.paid', '--gateway', app.url, '--api-key', app.merchant.apiKey);
    t.is(triggered.code, 0, triggered.stderr + triggered.stdout);
    const paymentId = /payment (pay_\S+): paid/.exec(triggered.stdout)?.[1];
    t.truthy(paymentId, triggered.stdout);
    t.false(triggered.stdout.includes(app.merchant.apiKey), 'the API key is never printed');

    const paid = await until('payment.paid to be forwarded', () => forwarded.find((f) => f.headers['paygate-event-type'] === 'payment.paid'));
    const secret = (await h.db('merchants').where({ id: app.merchant.id }).first()).webhook_secret as string;
    t.true(verifyWebhook(paid.body, String(paid.headers['paygate-signature']), secret).ok, 'forwarded byte for byte with the original signature');
    const event = JSON.parse(paid.body);
    t.is(event.type, 'payment.paid');
    t.is(event.data.payment.id, paymentId);
    t.is(paid.headers['paygate-event-id'], event.id);
    t.is(paid.headers['user-agent'], 'paygate-webhooks/1');
    const line = await until('listen to print the event', () => listener!.out.stdout.split('\n').find((l) => l.includes(event.id)));
    t.regex(line, /payment\.paid .*pay_\S+ +paid +TWD 10(\.00)? +signature verified +-> http:\/\/127\.0\.0\.1:\d+\/hook \[202\]/);
    // listen prints the line once the target answered; recording the delivery follows it.
    const row = await until('the delivery to be recorded', async () => {
      const r = await h.db('events').where({ public_id: event.id }).first();
      return r.delivery_status === 'delivered' ? r : undefined;
    }, 10_000);
    t.is(row.delivery_status, 'delivered');

    await stop(t, listener);
    t.regex(listener.out.stdout, /Webhook URL restored: https:\/\/shop\.example\/hooks/);
    t.is((await h.db('merchants').where({ id: app.merchant.id }).first()).webhook_url, 'https://shop.example/hooks');
  } finally {
    if (listener?.child.exitCode === null) listener.child.kill('SIGKILL');
    await target.close();
    await app.close();
  }
});

dbTest('trigger drives payment.failed, payment.refunded and payment.cancelled; refuses what it cannot do', async (t, h) => {
  t.timeout(180_000);
  const app = await startApp(h, { modules: providerModules });
  try {
    const typesOf = async (paymentId: string) => ((await h.db('events').where({ order_id: paymentId }).orderBy('id')) as EventRow[]).map((e) => e.type);
    for (const [event, status] of [
      ['payment.failed', 'failed'],
      ['payment.refunded', 'refunded'],
      ['payment.cancelled', 'cancelled'],
    ] as const) {
      const r = await cli(h, 'trigger', event, '--gateway', app.url, '--api-key', app.merchant.apiKey);
      t.is(r.code, 0, r.stderr + r.stdout);
      const id = new RegExp(`payment (pay_\\S+): ${status}`).exec(r.stdout)?.[1];
      t.truthy(id, r.stdout);
      t.true((await typesOf(id!)).includes(event), `${event} was written for ${id}`);
      t.is((await app.api('GET', `/v1/payments/${id}`)).body.status, status);
    }
    const unknown = await cli(h, 'trigger', 'payment.teleported', '--gateway', app.url, '--api-key', app.merchant.apiKey);
    t.is(unknown.code, 2);
    t.regex(unknown.stderr, /cannot be triggered; one of payment\.paid/);
    const badKey = await cli(h, 'trigger', 'payment.paid', '--gateway', app.url, '--api-key', 'pgk_not_a_real_key_at_all_000000');
    t.is(badKey.code, 1);
    t.regex(badKey.stderr, /refused the API key/);
  } finally {
    await app.close();
  }
});

dbTest('the receiver exception of listen covers its own URL only: any other loopback URL is still refused', async (t, h) => {
  let hits = 0;
  const hook = await listen((_req, res) => {
    hits++;
    res.writeHead(200).end();
  });
  try {
    const { merchant } = await createMerchant(h.db, { name: 'Guarded shop', webhookUrl: `${hook.base}/theirs` });
    const at = new Date();
    const deps: CoreDeps = { db: h.db, registry: new ProviderRegistry(providerModules), logger: silentLogger, now: () => at, webhookAllowPrivate: false };
    const deliver = async (ownReceiverUrl: string) => {
      const id = `evt_guard${Math.random().toString(36).slice(2, 10)}`;
      await h.db('events').insert({ public_id: id, merchant_id: merchant.id, order_id: null, type: 'payment.paid', payload_json: '{}', created_at: at.getTime(), delivery_status: 'pending', attempts: 0, next_attempt_at: at.getTime() });
      const [row] = await claimRows<EventRow>(h.db, { table: 'events', where: (q) => q.where({ public_id: id }), orderBy: 'id', limit: 1, leaseMs: 60_000, owner: 't', now: at });
      const outcome = await deliverEvent(deps, row!, { timeoutMs: 5_000, leaseMs: 60_000, ownReceiverUrl });
      const attempt = await h.db('webhook_attempts').where({ event_id: row!.id }).first();
      return { outcome, error: attempt?.error as string | null };
    };
    const other = await deliver(`${hook.base}/listen`);
    t.is(other.outcome, 'retry');
    t.regex(other.error ?? '', /refused: 127\.0\.0\.1 is a loopback address/);
    t.is(hits, 0, 'no connection was made');
    const own = await deliver(`${hook.base}/theirs`);
    t.is(own.outcome, 'delivered');
    t.is(hits, 1);
  } finally {
    await hook.close();
  }
});

dbTest('listen refuses to take a webhook URL over where real provider accounts would run (simulators off), and changes nothing', async (t, h) => {
  const { merchant } = await createMerchant(h.db, { name: 'Real shop', webhookUrl: 'https://real-shop.example/hooks' });
  let code = -1;
  let stderr = '';
  try {
    await run(process.execPath, ['--import=tsx', 'server/cli.ts', 'listen', '--merchant', merchant.id], { env: { ...cliEnv(h), PAYGATE_SIMULATORS: 'off' } });
    code = 0;
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    code = typeof e.code === 'number' ? e.code : -1;
    stderr = e.stderr ?? '';
  }
  t.is(code, 1);
  t.regex(stderr, /listen: refused/);
  t.is((await h.db('merchants').where({ id: merchant.id }).first()).webhook_url, 'https://real-shop.example/hooks');
});
