/**
 * Issue 13 item 7: merchant webhooks never reach loopback, private, link-local or metadata
 * addresses unless PAYGATE_WEBHOOK_ALLOW_PRIVATE says so (core/webhook-target.ts). Only loopback
 * is ever connected to here: every other class is judged from the address alone.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { webhookDeliveryJob } from '../../core/jobs/webhook-delivery.ts';
import type { Logger } from '../../core/logger.ts';
import { checkedLookup, classifyAddress, postWebhook, webhookUrlProblem, type AddressClass } from '../../core/webhook-target.ts';
import { WEBHOOK_RETRY_SCHEDULE_MS } from '../../core/webhooks.ts';
import { paymentBody, withApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';

const TABLE: [string, AddressClass][] = [
  ['127.0.0.1', 'loopback'],
  ['127.255.0.9', 'loopback'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['[::]', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.254', 'private'],
  ['192.168.1.1', 'private'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:192.168.0.1', 'private'],
  ['2002:c0a8:0101::1', 'private'], // 6to4 of 192.168.1.1
  ['64:ff9b::10.0.0.1', 'private'], // NAT64 of 10.0.0.1
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['169.254.0.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['fd00:ec2::254', 'metadata'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf::1', 'link-local'],
  ['fc00::', 'unique-local'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456::1', 'unique-local'],
  ['224.0.0.1', 'multicast'],
  ['ff02::1', 'multicast'],
  ['255.255.255.255', 'reserved'],
  ['192.0.2.10', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['not-an-ip', 'reserved'],
  ['168.63.129.16', 'metadata'], // Azure WireServer
  ['64:ff9b:1::a00:1', 'private'], // local-use NAT64
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // Teredo
  // Public: allowed.
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['172.15.255.255', 'public'],
  ['172.32.0.1', 'public'],
  ['100.63.255.255', 'public'],
  ['100.128.0.1', 'public'],
  ['169.253.255.255', 'public'],
  ['11.0.0.1', 'public'],
  ['::ffff:8.8.8.8', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['2001:4860:4860::8888', 'public'],
  ['fbff::1', 'public'],
];

test('the address classifier: loopback, private, link-local, metadata and their IPv4-mapped forms are refused; public ones allowed', (t) => {
  for (const [address, expected] of TABLE) t.is(classifyAddress(address), expected, address);
});

test('a webhook URL is refused when it is set if it names such an address or localhost, unless allowed', (t) => {
  t.is(webhookUrlProblem('https://shop.example/hooks', false), null);
  t.is(webhookUrlProblem('https://8.8.8.8/hooks', false), null);
  for (const url of ['http://127.0.0.1:8080/h', 'http://localhost/h', 'http://api.localhost/h', 'http://[::1]/h', 'http://[::ffff:127.0.0.1]/h', 'http://169.254.169.254/latest', 'http://10.0.0.5/h', 'http://0x7f.1/h', 'http://2130706433/h']) {
    t.regex(webhookUrlProblem(url, false) ?? '', /PAYGATE_WEBHOOK_ALLOW_PRIVATE=true/, url);
    t.is(webhookUrlProblem(url, true), null, url);
  }
  t.regex(webhookUrlProblem('ftp://shop.example/h', true) ?? '', /http\(s\)/);
});

function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import=tsx', 'server/cli.ts', ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

test('merchant:create refuses a metadata or loopback webhook URL unless PAYGATE_WEBHOOK_ALLOW_PRIVATE=true', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'paygate-hook-'));
  try {
    const env = { DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}`, PAYGATE_WEBHOOK_ALLOW_PRIVATE: 'false' };
    const metadata = await cli(env, 'merchant:create', '--name', 'Shop', '--webhook-url', 'http://169.254.169.254/latest/meta-data');
    t.is(metadata.code, 2, metadata.stderr);
    t.regex(metadata.stderr, /--webhook-url points at a cloud metadata service address \(169\.254\.169\.254\); set PAYGATE_WEBHOOK_ALLOW_PRIVATE=true only for local development/);
    const local = await cli(env, 'merchant:create', '--name', 'Shop', '--webhook-url', 'http://localhost:4000/hooks');
    t.is(local.code, 2, local.stderr);
    t.notRegex(local.stdout, /API key/);
    const allowed = await cli({ ...env, PAYGATE_WEBHOOK_ALLOW_PRIVATE: 'true' }, 'merchant:create', '--name', 'Shop', '--webhook-url', 'http://localhost:4000/hooks');
    t.is(allowed.code, 0, allowed.stderr);
    t.regex(allowed.stdout, /API key:/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the lookup refuses a name that resolves to loopback (after DNS), naming the address', async (t) => {
  const err = await new Promise<Error | null>((resolve) => checkedLookup('localhost', { all: true }, (e) => resolve(e)));
  t.regex(String(err?.message), /^refused: localhost \((127\.0\.0\.1|::1)\) is a loopback address/);
});

test('postWebhook still delivers to loopback when private targets are allowed, and refuses without connecting when not', async (t) => {
  let connections = 0;
  const server = http.createServer((_req, res) => res.end('ok'));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const sent = await postWebhook({ url: `http://localhost:${port}/h`, headers: {}, body: '{}', timeoutMs: 5000, allowPrivate: true });
    t.is(sent.status, 200);
    t.is(connections, 1);
    for (const url of [`http://127.0.0.1:${port}/h`, `http://localhost:${port}/h`, `http://[::ffff:127.0.0.1]:${port}/h`]) {
      const err = await t.throwsAsync(postWebhook({ url, headers: {}, body: '{}', timeoutMs: 5000, allowPrivate: false }));
      t.is((err?.cause as { code?: string }).code, 'ERR_WEBHOOK_TARGET_REFUSED', url);
    }
    t.is(connections, 1, 'no connection was made for the refused ones');
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

function recordingLogger(lines: string[]): Logger {
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (obj: object, msg?: string) => lines.push(JSON.stringify({ level, ...bindings, ...obj, msg }));
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return make({});
}

dbTest('without PAYGATE_WEBHOOK_ALLOW_PRIVATE a loopback webhook is refused: no connection, the attempt logged, retried as any failure', async (t, h) => {
  let connections = 0;
  const receiver = http.createServer((_req, res) => res.end('ok'));
  receiver.on('connection', () => connections++);
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  try {
    await withApp(t, h, async (app) => {
      const logs: string[] = [];
      const clock = { now: new Date() };
      const job = webhookDeliveryJob({ ...app.deps, logger: recordingLogger(logs), now: () => clock.now }, 'w-guard');
      for (const [url, shown] of [
        [`http://127.0.0.1:${port}/hooks`, /refused: 127\.0\.0\.1 is a loopback address/],
        [`http://localhost:${port}/hooks`, /refused: localhost \((127\.0\.0\.1|::1)\) is a loopback address/],
        [`http://[::ffff:127.0.0.1]:${port}/hooks`, /refused: ::ffff:7f00:1 is a loopback address/],
      ] as const) {
        await h.db('merchants').where({ id: app.merchant.id }).update({ webhook_url: url });
        const created = await app.api('POST', '/v1/payments', paymentBody());
        t.is(created.status, 201, created.text);
        const event = await h.db('events').where({ order_id: created.body.id }).first();
        clock.now = new Date(Math.max(Date.now(), Number(event.next_attempt_at)));
        await job.run();

        const after = await h.db('events').where({ id: event.id }).first();
        t.is(after.delivery_status, 'pending', url);
        t.is(Number(after.attempts), 1);
        t.is(Number(after.next_attempt_at), clock.now.getTime() + WEBHOOK_RETRY_SCHEDULE_MS[0]!, 'retried on the schedule like any failed attempt');
        const attempts = await h.db('webhook_attempts').where({ event_id: event.id });
        t.is(attempts.length, 1);
        t.is(attempts[0].response_status, null);
        t.regex(attempts[0].error, /^ERR_WEBHOOK_TARGET_REFUSED: /);
        t.regex(attempts[0].error, shown);
        t.regex(attempts[0].error, /PAYGATE_WEBHOOK_ALLOW_PRIVATE=true/);
        const line = logs.map((l) => JSON.parse(l)).find((l) => l.eventId === event.public_id && l.msg === 'webhook attempt failed; will retry');
        t.truthy(line, 'the refusal is logged as a failed attempt');
        t.regex(line.error, /ERR_WEBHOOK_TARGET_REFUSED/);
      }
      t.is(connections, 0, 'the receiver was never connected to');

      // The same event goes out once private targets are allowed (local development).
      const allowed = webhookDeliveryJob({ ...app.deps, webhookAllowPrivate: true, now: () => new Date(Date.now() + 3_600_000) }, 'w-allowed');
      await allowed.run();
      t.true(connections > 0);
      const delivered = await h.db('events').where({ merchant_id: app.merchant.id, delivery_status: 'delivered' });
      t.is(delivered.length, 3);
    }, { webhookAllowPrivate: false });
  } finally {
    await new Promise<void>((resolve) => {
      receiver.close(() => resolve());
      receiver.closeAllConnections();
    });
  }
});
