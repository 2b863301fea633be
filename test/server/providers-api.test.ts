/**
 * GET /v1/providers: the accounts a merchant can pay through, from what each adapter declares; and
 * `paygate trigger`'s choice among them (it names no provider).
 */
import test from 'ava';
import { documentedAnswer } from '../../server/openapi/document.ts';
import { chooseTriggerTarget } from '../../server/cli/trigger.ts';
import { providerModules } from '../../providers/index.ts';
import { withApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';

dbTest('GET /v1/providers lists every account with its methods, currencies and what it refunds, as documented', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const res = await app.api('GET', '/v1/providers');
      t.is(res.status, 200);
      const parsed = documentedAnswer('get', '/v1/providers', 200)!.safeParse(res.body);
      t.true(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues));
      const byId = new Map((res.body.data as any[]).map((a) => [a.provider, a]));
      t.deepEqual([...byId.keys()], providerModules.map((m) => m.id), 'every provider, in registry order');
      for (const module of providerModules) {
        const listed = byId.get(module.id)!;
        const adapter = app.deps.registry.find(module.id, 'default')!;
        t.deepEqual(listed.methods, [...adapter.methods]);
        t.deepEqual(listed.currencies, [...adapter.currencies]);
        t.true(listed.simulated && listed.default);
        t.is(listed.cancelsAtProvider, Boolean(adapter.cancel));
        t.deepEqual(listed.refundMethods, adapter.refund ? adapter.methods.filter((m) => (adapter.refundMethods ?? adapter.methods).includes(m)) : []);
      }
      t.deepEqual(byId.get('sinopac')!.refundMethods, ['card'], 'SinoPac refunds cards, not ATM transfers');
      const anonymous = await app.api('GET', '/v1/providers', undefined, { authorization: 'Bearer wrong' });
      t.is(anonymous.status, 401, 'the list is for merchants');
    },
    { modules: providerModules },
  );
});

const account = (provider: string, methods: string[], refundMethods: string[], simulated = true) => ({
  provider,
  account: 'default',
  methods,
  currencies: provider === 'cnpay' ? ['CNY'] : ['TWD'],
  simulated,
  refundMethods,
});

test('trigger picks a simulated account that can reach the event, card where offered; the flags narrow it', (t) => {
  const accounts = [account('realpay', ['card'], ['card'], false), account('atmpay', ['atm'], []), account('cnpay', ['page', 'card'], ['page', 'card'])];
  t.deepEqual(chooseTriggerTarget(accounts, 'payment.paid', {}), { provider: 'atmpay', account: 'default', method: 'atm', currency: 'TWD' });
  t.deepEqual(chooseTriggerTarget(accounts, 'payment.refunded', {}), { provider: 'cnpay', account: 'default', method: 'card', currency: 'CNY' }, 'ATM cannot be refunded');
  t.deepEqual(chooseTriggerTarget(accounts, 'payment.paid', { method: 'page' }).method, 'page');
  t.throws(() => chooseTriggerTarget(accounts, 'payment.paid', { provider: 'realpay' }), { message: /realpay does not run on its simulator/ });
  t.throws(() => chooseTriggerTarget(accounts, 'payment.refunded', { provider: 'atmpay' }), { message: /no simulated account offers a method it can refund on atmpay/ });
  t.throws(() => chooseTriggerTarget([account('realpay', ['card'], ['card'], false)], 'payment.paid', {}), { message: /no provider runs on its simulator/ });
});
