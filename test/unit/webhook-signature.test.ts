import test from 'ava';
import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhook } from '../../core/webhook-signature.ts';

const secret = 'whsec_0123456789abcdefghijABCDEFGHIJ0123456789';
const body = '{"id":"evt_abc","type":"payment.paid","createdAt":"2026-11-22T08:00:00.000Z","data":{"payment":{"amount":79900}}}';
const t = 1_795_000_000;
const at = (seconds: number) => new Date(seconds * 1000);

test('the signature is t=<unix>,v1=<hex HMAC-SHA256 of "t.body">', (t_) => {
  const header = signWebhook(body, secret, t);
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  t_.is(header, `t=${t},v1=${expected}`);
  // A pinned vector (`printf '1.{}' | openssl dgst -sha256 -hmac whsec_test`).
  t_.is(signWebhook('{}', 'whsec_test', 1), 't=1,v1=7500d5d4be4b3ef07af1fe56f7d522d135cdaa7530de557e67cc1049c52de094');
});

test('sign then verify round-trips', (t_) => {
  const header = signWebhook(body, secret, t);
  t_.deepEqual(verifyWebhook(body, header, secret, { now: at(t) }), { ok: true, timestamp: t });
  t_.deepEqual(verifyWebhook(body, header, secret, { now: at(t + 300) }), { ok: true, timestamp: t });
  t_.deepEqual(verifyWebhook(body, header, secret, { now: at(t - 300) }), { ok: true, timestamp: t });
});

test('the current time is the default clock', (t_) => {
  const now = Math.floor(Date.now() / 1000);
  t_.true(verifyWebhook(body, signWebhook(body, secret, now), secret).ok);
  t_.false(verifyWebhook(body, signWebhook(body, secret, now - 3600), secret).ok);
});

test('a tampered body is refused', (t_) => {
  const header = signWebhook(body, secret, t);
  const result = verifyWebhook(body.replace('79900', '1'), header, secret, { now: at(t) });
  t_.deepEqual(result, { ok: false, reason: 'no signature matches the body' });
  t_.false(verifyWebhook(`${body} `, header, secret, { now: at(t) }).ok);
});

test('a wrong secret is refused', (t_) => {
  const header = signWebhook(body, secret, t);
  t_.false(verifyWebhook(body, header, 'whsec_other', { now: at(t) }).ok);
});

test('a changed timestamp breaks the signature', (t_) => {
  const header = signWebhook(body, secret, t).replace(`t=${t}`, `t=${t + 1}`);
  t_.deepEqual(verifyWebhook(body, header, secret, { now: at(t) }), { ok: false, reason: 'no signature matches the body' });
});

test('stale and future timestamps beyond the tolerance are refused', (t_) => {
  const header = signWebhook(body, secret, t);
  t_.deepEqual(verifyWebhook(body, header, secret, { now: at(t + 301) }), { ok: false, reason: 'timestamp outside the tolerance' });
  t_.deepEqual(verifyWebhook(body, header, secret, { now: at(t - 301) }), { ok: false, reason: 'timestamp outside the tolerance' });
  // The tolerance can be narrowed or widened.
  t_.false(verifyWebhook(body, header, secret, { now: at(t + 11), toleranceSeconds: 10 }).ok);
  t_.true(verifyWebhook(body, header, secret, { now: at(t + 3600), toleranceSeconds: 3600 }).ok);
});

test('missing and malformed headers are refused', (t_) => {
  const good = signWebhook(body, secret, t);
  const mac = good.split('v1=')[1]!;
  const cases: [string | undefined, string][] = [
    [undefined, 'missing signature header'],
    ['', 'missing signature header'],
    ['   ', 'missing signature header'],
    ['garbage', 'malformed signature header'],
    [`v1=${mac}`, 'no timestamp in signature header'],
    [`t=${t}`, 'no v1 signature in signature header'],
    [`t=${t},v0=${mac}`, 'no v1 signature in signature header'],
    [`t=abc,v1=${mac}`, 'malformed signature header'],
    [`t=-1,v1=${mac}`, 'malformed signature header'],
    [`t=${t},t=${t},v1=${mac}`, 'malformed signature header'],
    [`t=${t},v1=${mac.slice(2)}`, 'malformed signature header'],
    [`t=${t},v1=${mac}00`, 'malformed signature header'],
    [`t=${t},v1=${'z'.repeat(64)}`, 'malformed signature header'],
    [`t=${t},=${mac}`, 'malformed signature header'],
    [`t=${t},v1=${mac},`, 'malformed signature header'],
    [`${good},${'x'.repeat(5000)}`, 'malformed signature header'],
  ];
  for (const [header, reason] of cases) {
    t_.deepEqual(verifyWebhook(body, header, secret, { now: at(t) }), { ok: false, reason }, String(header).slice(0, 80));
  }
});

test('several v1 values: one match is enough (secret rotation)', (t_) => {
  const oldSecret = 'whsec_old';
  const withNew = signWebhook(body, secret, t).split('v1=')[1]!;
  const withOld = signWebhook(body, oldSecret, t).split('v1=')[1]!;
  const header = `t=${t},v1=${withOld},v1=${withNew}`;
  t_.true(verifyWebhook(body, header, secret, { now: at(t) }).ok);
  t_.true(verifyWebhook(body, header, oldSecret, { now: at(t) }).ok);
  t_.false(verifyWebhook(body, header, 'whsec_third', { now: at(t) }).ok);
  // Spaces around the parts and unknown schemes are tolerated.
  t_.true(verifyWebhook(body, ` t=${t} , v2=whatever , v1=${withNew.toUpperCase()} `, secret, { now: at(t) }).ok);
});

test('bad arguments are programming errors', (t_) => {
  t_.throws(() => signWebhook(body, secret, 1.5), { instanceOf: TypeError });
  t_.throws(() => signWebhook(body, secret, -1), { instanceOf: TypeError });
  t_.throws(() => signWebhook(body, '', t), { instanceOf: TypeError });
  t_.throws(() => verifyWebhook(body, signWebhook(body, secret, t), ''), { instanceOf: TypeError });
  t_.throws(() => verifyWebhook(body, signWebhook(body, secret, t), secret, { toleranceSeconds: -1 }), { instanceOf: TypeError });
});
