/**
 * Property-based fuzzing (fast-check) of ECPay's callback endpoints: anything at all, and validly
 * signed notices with one thing changed (a field dropped, altered, added or sent twice, another
 * content type). No answer ≥ 500, none is `1|OK`, and no order moves.
 */
import fc from 'fast-check';
import { ecpayModule } from '../../providers/ecpay/index.ts';
import type { EcpaySimulator } from '../../providers/ecpay/simulator/index.ts';
import { startApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { figure, size } from './size.ts';

const RUNS = size(60, 600);

const contentType = fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'application/json', 'text/plain', '');
const anyBody = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 8 }).map((d) => new URLSearchParams(d).toString()),
);

/** One change to a signed notice that must break it. */
const mutation = fc.record({
  kind: fc.constantFrom('drop', 'alter', 'add', 'twice'),
  pick: fc.nat(),
  value: fc.string({ maxLength: 30 }),
  name: fc.string({ minLength: 1, maxLength: 12 }),
});

function mutate(fields: Record<string, string>, m: { kind: string; pick: number; value: string; name: string }): string {
  const names = Object.keys(fields);
  const target = names[m.pick % names.length]!;
  const entries = Object.entries(fields);
  switch (m.kind) {
    case 'drop':
      return new URLSearchParams(entries.filter(([k]) => k !== target)).toString();
    case 'alter': {
      // Hex case does not change a MAC, so an altered MAC must differ in more than case.
      const same = target === 'CheckMacValue' ? m.value.toUpperCase() === fields[target]!.toUpperCase() : m.value === fields[target];
      return new URLSearchParams(entries.map(([k, v]) => [k, k === target ? (same ? `${v}x` : m.value) : v])).toString();
    }
    case 'add':
      return new URLSearchParams([...entries, [Object.hasOwn(fields, m.name) ? `${m.name}_` : m.name, m.value]]).toString();
    default:
      return new URLSearchParams([...entries, [target, m.value]]).toString();
  }
}

dbTest(`fuzzing ECPay's callback endpoints (${RUNS} runs each): no 5xx, no 1|OK, no order moves`, async (t, h) => {
  t.timeout(20 * 60_000);
  let sim: EcpaySimulator | undefined;
  const app = await startApp(h, { modules: [ecpayModule({ onSimulator: (s) => (sim = s) })] });
  try {
    const created = await app.api('POST', '/v1/payments', {
      merchantOrderId: `EFZ-${Date.now()}`,
      currency: 'TWD',
      amount: 120000,
      items: [{ sku: 'A', name: 'Tea', unitAmount: 120000, quantity: 1 }],
      provider: 'ecpay',
      method: 'atm',
    });
    t.is(created.status, 201, created.text);
    await (await fetch(created.body.action.url, { method: 'POST', body: new URLSearchParams(created.body.action.fields), redirect: 'manual' })).arrayBuffer();
    await sim!.issue(created.body.orderNo);
    await app.background.drain();
    const before = await h.db('orders').where({ id: created.body.id }).first();
    const signed = [sim!.noticeFields(created.body.orderNo, 'paid'), sim!.noticeFields(created.body.orderNo, 'issued')];

    let requests = 0;
    const bad: string[] = [];
    const check = (label: string, res: { status: number; text: string }) => {
      requests++;
      if (res.status >= 500 || res.text === '1|OK') bad.push(`${label} → ${res.status} ${res.text.slice(0, 80)}`);
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('notify', 'return'), anyBody, contentType, async (kind, body, type) => {
        const method = kind === 'return' && body.length % 2 === 0 ? 'GET' : 'POST';
        const res = await app.raw(method, `/callbacks/ecpay/default/${kind}${method === 'GET' ? `?${body}` : ''}`, method === 'GET' ? {} : { body, headers: type ? { 'content-type': type } : {} });
        // A return page is HTML and never `1|OK`; only a notify could be acknowledged.
        check(`${method} ${kind}`, res);
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1), mutation, async (which, m) => {
        const body = mutate(signed[which]!, m);
        const res = await app.raw('POST', '/callbacks/ecpay/default/notify', { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        check(`notify ${m.kind}`, res);
      }),
      { numRuns: RUNS * 2 },
    );
    await app.background.drain();
    const after = await h.db('orders').where({ id: created.body.id }).first();
    const transitions = await h.db('order_transitions').where({ order_id: created.body.id }).whereNot({ from_status: 'created' });
    figure(`ecpay fuzz [${h.kind}]`, { requests, bad: bad.length, transitions: transitions.length });
    t.deepEqual(bad.slice(0, 10), [], 'no answer ≥ 500 and none acknowledged');
    t.deepEqual(after, before, 'the order did not move');
    t.is(transitions.length, 0);
  } finally {
    await app.close();
  }
});
