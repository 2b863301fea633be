import type { AppConfig } from '../../core/config.ts';
import { toNumber } from '../../core/db.ts';
import type { CoreDeps } from '../../core/deps.ts';
import {
  reconcileOrder,
  sweepAccount,
  sweepableProviders,
  whereStillWaiting,
  type FactsChange,
} from '../../core/jobs/reconcile.ts';
import { findOrder, findOrderByNo, rowToOrder, type Order, type OrderRow } from '../../core/orders.ts';
import type { OrderStatus } from '../../core/state-machine.ts';
import { providerModules } from '../../providers/index.ts';
import { parseInstant, parseIntFlag, str, UsageError, type FlagValues, type Flags } from './args.ts';
import { createProgress } from './progress.ts';
import { openCliRuntime } from './runtime.ts';

export const reconcileFlags: Flags = {
  from: { type: 'string' },
  to: { type: 'string' },
  provider: { type: 'string' },
  account: { type: 'string' },
  merchant: { type: 'string' },
  order: { type: 'string' },
  'dry-run': { type: 'boolean' },
  concurrency: { type: 'string' },
};

export const RECONCILE_USAGE = `  reconcile [--from <ISO>] [--to <ISO>] [--provider <id>] [--account <id>] [--merchant <id>]
            [--dry-run] [--concurrency <1-16>]
  reconcile --order <id|orderNo> [--dry-run]
                                  ask the providers about every order created in the window (default:
                                  the last 24 h) that still waits (created, pending, failed; expired
                                  within 48 h) and apply what they say; sweep the window by payment
                                  time where a provider can list its transactions. --dry-run writes
                                  nothing. Exits 1 when a provider could not be asked.
`;

const DAY_MS = 24 * 60 * 60_000;
/** Statuses `--order` asks about: still waiting, or given up on while money may still have moved. */
const ASKABLE: readonly OrderStatus[] = ['created', 'pending', 'failed', 'expired', 'cancelled'];
const LISTED = 50;

interface Change {
  order: Order;
  from: OrderStatus;
  to: OrderStatus;
  via: 'query' | 'sweep';
}

class Tally {
  checked = 0;
  notFound = 0;
  accountsSwept = 0;
  transactionsListed = 0;
  readonly changes: Change[] = [];
  readonly faults: string[] = [];
  readonly flagged: string[] = [];

  record(order: Order, result: FactsChange, via: Change['via']): void {
    if (result.change === 'moved') {
      this.changes.push({ order, from: result.from, to: result.to, via });
      if (result.attention) this.flagged.push(`${describe(order)}  ${result.attention}`);
    } else if (result.change === 'flagged') {
      this.flagged.push(`${describe(order)}  ${result.reason}`);
    } else if (result.change === 'refunded') {
      // A refund made at the provider, recorded here: listed as a change when it moves the status.
      if (result.to) this.changes.push({ order, from: order.status, to: result.to, via });
      this.flagged.push(`${describe(order)}  refund of ${result.amount} made at the provider recorded`);
    }
  }

  get counts() {
    return { changed: this.changes.length, faults: this.faults.length };
  }
}

const describe = (o: Order) => `${o.id} ${o.orderNo} (${o.provider}/${o.account})`;

interface Plan {
  dryRun: boolean;
  concurrency: number;
  window?: { from: Date; to: Date };
  order?: string;
  provider?: string;
  account?: string;
  merchant?: string;
}

function plan(values: FlagValues, now: Date): Plan {
  const dryRun = values['dry-run'] === true;
  const concurrency = parseIntFlag('concurrency', str(values, 'concurrency'), 4, 1, 16);
  const order = str(values, 'order');
  const provider = str(values, 'provider');
  const account = str(values, 'account');
  const merchant = str(values, 'merchant');
  if (order !== undefined) {
    const extra = ['from', 'to', 'provider', 'account', 'merchant', 'concurrency'].filter((f) => values[f] !== undefined);
    if (extra.length > 0) throw new UsageError(`--order names one order; leave out ${extra.map((f) => `--${f}`).join(', ')}`);
    return { dryRun, concurrency, order };
  }
  if (account !== undefined && provider === undefined) throw new UsageError('--account needs --provider');
  if (provider !== undefined && !providerModules.some((m) => m.id === provider)) {
    throw new UsageError(`--provider ${provider} is not a provider (known: ${providerModules.map((m) => m.id).join(', ')})`);
  }
  const toFlag = str(values, 'to');
  const fromFlag = str(values, 'from');
  const to = toFlag ? parseInstant('to', toFlag) : now;
  const from = fromFlag ? parseInstant('from', fromFlag) : new Date(to.getTime() - DAY_MS);
  if (from.getTime() >= to.getTime()) throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
  return { dryRun, concurrency, window: { from, to }, provider, account, merchant };
}

/** `npm run paygate -- reconcile ...`; returns the exit code. */
export async function runReconcile(values: FlagValues, config: AppConfig): Promise<number> {
  const p = plan(values, new Date());
  const runtime = await openCliRuntime(config, { providers: true });
  try {
    const { deps } = runtime;
    if (p.provider !== undefined) {
      const accounts = deps.registry.list().filter((a) => a.provider === p.provider && (p.account === undefined || a.account === p.account));
      if (accounts.length === 0) {
        console.error(`paygate: no configured account ${p.provider}${p.account ? `/${p.account}` : ''} (PAYGATE_CONFIG); nothing can be asked`);
        return 1;
      }
    } else if (deps.registry.list().length === 0) {
      console.error('paygate: warning: no provider account is configured (PAYGATE_CONFIG): no order can be asked about');
    }
    const tally = new Tally();
    if (p.order !== undefined) {
      const code = await one(deps, p.order, p.dryRun, tally);
      if (code !== null) return code;
    } else {
      await window(deps, p, tally);
    }
    summary(p, tally);
    return tally.faults.length > 0 ? 1 : 0;
  } finally {
    await runtime.close();
  }
}

/** `--order`: one order, whatever its age; null when it was asked (the summary follows). */
async function one(deps: CoreDeps, ref: string, dryRun: boolean, tally: Tally): Promise<number | null> {
  const order = (await findOrder(deps.db, ref)) ?? (await findOrderByNo(deps.db, ref));
  if (!order) {
    console.error(`paygate: no order ${ref} (give its id, pay_..., or its orderNo)`);
    return 1;
  }
  if (order.provider === null) {
    console.log(`${order.id} has no provider yet (its buyer has not chosen one on the hosted checkout): nothing to ask`);
    return 0;
  }
  if (!ASKABLE.includes(order.status)) {
    console.log(`${order.id} is ${order.status}: reconciliation asks about orders that are ${ASKABLE.join(', ')}`);
    return 0;
  }
  await ask(deps, order, dryRun, tally);
  return null;
}

async function ask(deps: CoreDeps, order: Order, dryRun: boolean, tally: Tally): Promise<void> {
  const asked = await reconcileOrder(deps, order, { dryRun });
  tally.checked++;
  if (asked.asked === 'fault') tally.faults.push(`${describe(order)}  ${asked.fault}`);
  else if (asked.asked === 'not_found') tally.notFound++;
  else tally.record(order, asked.result, 'query');
}

const PAGE = 200;

async function window(deps: CoreDeps, p: Plan, tally: Tally): Promise<void> {
  const { from, to } = p.window!;
  const now = deps.now();
  const waiting = () => {
    const q = deps.db('orders').where('created_at', '>=', from.getTime()).andWhere('created_at', '<', to.getTime()).whereNotNull('provider');
    if (p.provider !== undefined) q.andWhere('provider', p.provider);
    if (p.account !== undefined) q.andWhere('provider_account', p.account);
    if (p.merchant !== undefined) q.andWhere('merchant_id', p.merchant);
    return whereStillWaiting(q, now);
  };
  const total = toNumber(((await waiting().count({ n: '*' }).first()) as { n: unknown } | undefined)?.n);
  const sweeps = sweepableProviders(deps).filter((s) => (p.provider === undefined || s.id === p.provider) && (p.account === undefined || s.account === p.account));
  console.log(
    `reconcile ${from.toISOString()} .. ${to.toISOString()}${p.dryRun ? ' (dry run: nothing is written)' : ''}: ` +
      `${total} order${total === 1 ? '' : 's'} still waiting, ${sweeps.length} account${sweeps.length === 1 ? '' : 's'} to sweep by payment time`,
  );
  const progress = createProgress('reconcile');
  progress.start(total + sweeps.length);
  const asked = new Set<string>();
  try {
    // Keyset pages on (created_at, id): orders that stop waiting as we go never shift a page.
    let after: { createdAt: number; id: string } | null = null;
    for (;;) {
      const q = waiting().orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(PAGE);
      if (after) {
        const { createdAt, id } = after;
        q.andWhere((k) => k.where('created_at', '>', createdAt).orWhere((e) => e.where('created_at', createdAt).andWhere('id', '>', id)));
      }
      const orders = ((await q) as OrderRow[]).map(rowToOrder);
      if (orders.length === 0) break;
      let next = 0;
      const lane = async () => {
        while (next < orders.length) {
          const order = orders[next++]!;
          asked.add(order.id);
          await ask(deps, order, p.dryRun, tally);
          progress.tick(order.createdAt.toISOString(), tally.counts);
        }
      };
      await Promise.all(Array.from({ length: Math.min(p.concurrency, orders.length) }, lane));
      const last = orders[orders.length - 1]!;
      after = { createdAt: last.createdAt.getTime(), id: last.id };
      if (orders.length < PAGE) break;
    }
    for (const provider of sweeps) {
      // Orders asked one by one above already have the fresher answer.
      const swept = await sweepAccount(deps, provider, { from, to }, { dryRun: p.dryRun, accept: (o) => !asked.has(o.id) && (p.merchant === undefined || o.merchantId === p.merchant) });
      tally.accountsSwept++;
      if ('fault' in swept) tally.faults.push(`sweep ${provider.id}/${provider.account}  ${swept.fault}`);
      else {
        tally.transactionsListed += swept.listed;
        for (const s of swept.applied) tally.record(s.order, s.result, 'sweep');
      }
      progress.tick(`sweep ${provider.id}/${provider.account}`, tally.counts);
    }
  } finally {
    progress.stop();
  }
}

function list(title: string, lines: string[]): void {
  if (lines.length === 0) return;
  console.log(`${title}:`);
  for (const line of lines.slice(0, LISTED)) console.log(`  ${line}`);
  if (lines.length > LISTED) console.log(`  … and ${lines.length - LISTED} more`);
}

function summary(p: Plan, tally: Tally): void {
  const byStatus = new Map<string, number>();
  for (const c of tally.changes) byStatus.set(c.to, (byStatus.get(c.to) ?? 0) + 1);
  const split = [...byStatus].map(([status, n]) => `${status} ${n}`).join(', ');
  const verb = p.dryRun ? 'would change' : 'changed';
  list(
    p.dryRun ? 'would change' : 'changes',
    tally.changes.map((c) => `${describe(c.order)}  ${c.from} -> ${c.to}  (${c.via})`),
  );
  list('faults', tally.faults);
  list(p.dryRun ? 'would flag for attention' : 'flagged for attention', tally.flagged);
  console.log('summary:');
  const swept = p.window ? `; ${tally.accountsSwept} account${tally.accountsSwept === 1 ? '' : 's'} swept, ${tally.transactionsListed} transactions listed` : '';
  console.log(`  checked: ${tally.checked} order${tally.checked === 1 ? '' : 's'} asked (${tally.notFound} unknown to their provider)${swept}`);
  console.log(`  ${verb}: ${tally.changes.length}${split ? ` (${split})` : ''}`);
  console.log(`  faults: ${tally.faults.length}`);
  console.log(`  ${p.dryRun ? 'would flag' : 'flagged'} for attention: ${tally.flagged.length}`);
  if (p.dryRun) console.log('  dry run: nothing was written');
}
