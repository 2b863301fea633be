import type { NextAction, PaymentProvider } from './payment-provider.ts';

/** What a buyer's browser is sent to: a redirect (GET) or a form (GET or POST). */
export interface Handoff {
  method: 'GET' | 'POST';
  url: string;
  fields: Record<string, string>;
}

/**
 * A simulator that can be told of the hand-offs its adapter gives buyers. Some providers' cashiers
 * learn of a trade only when the buyer's browser brings the signed hand-off (docs/protocols/); told of it, the simulator's control API can open the trade itself, as the buyer would.
 */
export interface HandoffListener {
  expectHandoff(handoff: Handoff): void;
}

const listens = (simulator: unknown): simulator is HandoffListener =>
  typeof (simulator as Partial<HandoffListener> | null)?.expectHandoff === 'function';

const asHandoff = (action: NextAction): Handoff | undefined =>
  action.type === 'redirect'
    ? { method: 'GET', url: action.url, fields: {} }
    : action.type === 'form'
      ? { method: action.method, url: action.url, fields: { ...action.fields } }
      : undefined;

/**
 * The provider, with each hand-off its `create` returns also given to `simulator` (when it listens).
 * Only for an account that runs on that simulator (core/registry.ts); a listener's failure never
 * fails the payment.
 */
export function tellSimulatorOfHandoffs(provider: PaymentProvider, simulator: unknown): PaymentProvider {
  if (!listens(simulator)) return provider;
  const create: PaymentProvider['create'] = async (input) => {
    const result = await provider.create(input);
    const handoff = result.outcome === 'pending' ? asHandoff(result.action) : undefined;
    if (handoff) {
      try {
        simulator.expectHandoff(handoff);
      } catch {
        // The buyer's browser can still bring it: the simulator learns of the trade then.
      }
    }
    return result;
  };
  return new Proxy(provider, {
    get(target, key) {
      if (key === 'create') return create;
      return Reflect.get(target, key, target);
    },
  });
}
