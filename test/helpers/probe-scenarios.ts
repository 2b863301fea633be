/**
 * The credentials-probe scenarios every provider runs (issue 13 item 6), against its simulator
 * started apart from the app (as a real bank is), with the account configured as a real one:
 * a wrong key is `rejected` (probe, /readyz, metric, creates answer provider_misconfigured 503), the
 * right key is `ok`, a provider that is not there is `unreachable` and creates stay what they were.
 */
import test from 'ava';
import { silentLogger } from '../../core/logger.ts';
import type { PaymentProvider, ProviderModule, SimulatorInstance } from '../../core/payment-provider.ts';
import { probeAccounts } from '../../core/provider-health.ts';
import { paymentBody, startApp, type TestApp } from './app.ts';
import { dbTest, type TestDbHandle } from './db.ts';
import { mountSimulator } from './sim-server.ts';

type Config = Record<string, unknown>;

export interface ProbeScenarioSpec {
  id: string;
  module: () => ProviderModule<any>;
  /** A simulator for one test, on its own server under `/sim/<id>`. */
  simulator: (baseUrl: string) => SimulatorInstance<any>;
  /** Ways to get the credentials wrong: each must probe `rejected`. The first is used end to end. */
  wrong: { name: string; change: (config: Config) => Config }[];
  /** The config pointed at a port where nothing listens. */
  unreachable: (config: Config) => Config;
  /** Overrides of paymentBody() for a create at this provider. */
  body: Record<string, unknown>;
  /** Whether create itself calls the provider (SinoPac); Alipay and ECPay sign a hand-off locally. */
  createCallsProvider: boolean;
  /** Values that must never appear in an answer (keys). */
  secrets: (config: Config) => string[];
}

async function withSimulator<T>(spec: ProbeScenarioSpec, fn: (config: Config, stop: () => Promise<void>) => Promise<T>): Promise<T> {
  const mounted = await mountSimulator(`/sim/${spec.id}`, spec.simulator);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await mounted.close();
  };
  try {
    return await fn(mounted.sim.accountConfig('default') as Config, stop);
  } finally {
    await stop();
    await mounted.sim.close();
  }
}

async function withAccount(spec: ProbeScenarioSpec, h: TestDbHandle, config: Config, fn: (app: TestApp) => Promise<void>): Promise<void> {
  const app = await startApp(h, { modules: [spec.module()], providers: { [spec.id]: { default: config } } });
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

function adapter(spec: ProbeScenarioSpec, config: Config): PaymentProvider {
  const module = spec.module();
  return module.createProvider('default', module.configSchema.parse(config), {
    logger: silentLogger,
    callbackUrls: { notifyUrl: 'http://127.0.0.1:9/notify', returnUrl: 'http://127.0.0.1:9/return' },
  });
}

export function probeScenarios(spec: ProbeScenarioSpec): void {
  const { id } = spec;

  test(`${id}: the probe tells each wrong credential (rejected) from the right ones (ok)`, async (t) => {
    await withSimulator(spec, async (config) => {
      t.deepEqual(await adapter(spec, config).probe!(), { status: 'ok' });
      for (const wrong of spec.wrong) {
        const result = await adapter(spec, wrong.change(config)).probe!();
        t.is(result.status, 'rejected', `${wrong.name}: ${JSON.stringify(result)}`);
        const reason = 'reason' in result ? result.reason : '';
        for (const secret of spec.secrets(config)) t.false(reason.includes(secret), `${wrong.name}: the reason quotes no key`);
      }
    });
  });

  test(`${id}: a stopped simulator and an unused port are unreachable, never rejected`, async (t) => {
    await withSimulator(spec, async (config, stop) => {
      await stop();
      const stopped = await adapter(spec, config).probe!();
      t.is(stopped.status, 'unreachable', JSON.stringify(stopped));
      const nowhere = await adapter(spec, spec.unreachable(config)).probe!();
      t.is(nowhere.status, 'unreachable', JSON.stringify(nowhere));
    });
  });

  dbTest(`${id}: a wrong key: probe rejected, /readyz 503 names the account but not the reason, the metric says rejected, creates answer provider_misconfigured 503`, async (t, h) => {
    await withSimulator(spec, async (config) => {
      await withAccount(spec, h, spec.wrong[0]!.change(config), async (app) => {
        const before = await app.raw('GET', '/readyz');
        t.is(before.status, 200, 'not known before the first probe');

        const [health] = await probeAccounts(app.deps.registry);
        t.like(health, { provider: id, account: 'default', state: 'rejected', source: 'probe' });
        t.like(app.deps.registry.health(id, 'default'), { state: 'rejected' });

        const ready = await app.raw('GET', '/readyz');
        t.is(ready.status, 503);
        const readyBody = JSON.parse(ready.text);
        t.is(readyBody.error.code, 'provider_misconfigured');
        // Public: which account (its id is in its callback URLs already), never the provider's reason
        // (the log and the dashboard say that).
        t.is(readyBody.rejectedAccounts, 1);
        t.deepEqual(readyBody.error.details, [{ path: `providers.${id}.default`, message: 'credentials rejected' }]);
        t.true(readyBody.error.message.includes(`${id}/default`), ready.text);
        t.false(ready.text.includes(health!.reason!.slice(0, 20)), ready.text);

        const metrics = await app.metrics.render();
        t.regex(metrics, new RegExp(`paygate_provider_credentials\\{provider="${id}",account="default",state="rejected"\\} 1`));
        t.regex(metrics, new RegExp(`paygate_provider_credentials\\{provider="${id}",account="default",state="ok"\\} 0`));

        const created = await app.api('POST', '/v1/payments', paymentBody(spec.body));
        t.is(created.status, 503, created.text);
        t.is(created.body.error.code, 'provider_misconfigured');
        t.true(created.body.error.message.includes(`${id} account default`));
        for (const text of [ready.text, created.text]) for (const secret of spec.secrets(config)) t.false(text.includes(secret), 'no key in an answer');
        const kept = await h.db('orders').where({ merchant_id: app.merchant.id }).count({ n: '*' }).first();
        t.is(Number(kept!.n), 0, 'nothing kept');
      });
    });
  });

  dbTest(`${id}: the right key: probe ok, /readyz 200, creates go through; a later ok clears a rejection`, async (t, h) => {
    await withSimulator(spec, async (config) => {
      await withAccount(spec, h, config, async (app) => {
        // As if an earlier probe (or call) had found the keys refused: a probe that succeeds clears it.
        app.deps.registry.credentials.record(id, 'default', { status: 'rejected', reason: 'earlier' }, 'call');
        t.is((await app.raw('GET', '/readyz')).status, 503);
        const [health] = await probeAccounts(app.deps.registry);
        t.like(health, { state: 'ok', reason: null });
        t.is((await app.raw('GET', '/readyz')).status, 200);
        const created = await app.api('POST', '/v1/payments', paymentBody(spec.body));
        t.is(created.status, 201, created.text);
        t.is(created.body.status, 'pending');
      });
    });
  });

  dbTest(`${id}: the provider unreachable: probe unreachable, /readyz stays 200, creates are not provider_misconfigured`, async (t, h) => {
    await withSimulator(spec, async (config) => {
      await withAccount(spec, h, spec.unreachable(config), async (app) => {
        const [health] = await probeAccounts(app.deps.registry);
        t.like(health, { state: 'unreachable' });
        t.is((await app.raw('GET', '/readyz')).status, 200);
        const created = await app.api('POST', '/v1/payments', paymentBody(spec.body));
        if (spec.createCallsProvider) {
          t.is(created.status, 502, created.text);
          t.is(created.body.error.code, 'provider_unavailable', 'retryable, as before');
        } else {
          t.is(created.status, 201, 'the hand-off is signed locally; the buyer meets the outage');
        }
      });
    });
  });
}
