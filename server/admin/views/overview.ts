import type { DailyProviderFigures } from '../queries/figures.ts';
import { barChart, legend, lineChart } from './charts.ts';
import { bigMinorToDecimalString } from '../../../core/money.ts';
import { html, joinHtml, type SafeHtml } from '../../../core/html.ts';

export interface OverviewInput {
  /** The days shown, oldest first: each a date of `zone` with its first instant (epoch ms). */
  days: readonly { date: string; start: number }[];
  /** The dashboard's zone (its days are the charts' days). */
  zone: string;
  figures: DailyProviderFigures[];
  openWork: { attention: number; waiting: number };
}

const NONE = '(not chosen)';
const pct = (v: number) => `${Math.round(v * 100)}%`;

function rate(paid: number, decided: number): string {
  return decided ? `${((paid * 100) / decided).toFixed(1)}%` : '—';
}

/** "TWD 799.00", exact for sums past 2^53; a currency this build does not know shows its minor units. */
function sumText(amount: bigint, currency: string): string {
  try {
    return `${currency} ${bigMinorToDecimalString(amount, currency)}`;
  } catch {
    return `${amount} (minor units of ${currency})`;
  }
}

function amounts(byCurrency: Record<string, bigint>): SafeHtml {
  const entries = Object.entries(byCurrency).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? joinHtml(entries.map(([c, a]) => sumText(a, c)), html`<br>`) : html`<span class="muted">—</span>`;
}

export function renderOverview(input: OverviewInput): SafeHtml {
  const count = input.days.length;
  const zone = input.zone;
  const dayStarts = input.days.map((d) => d.start);
  const dateOf = new Map(input.days.map((d) => [d.start, d.date]));
  const labels = input.days.map((d) => d.date.slice(5));
  const providers = [...new Set(input.figures.map((f) => f.provider ?? NONE))].sort();
  const at = new Map(input.figures.map((f) => [`${f.day}|${f.provider ?? NONE}`, f]));
  const get = (day: number, p: string) => at.get(`${day}|${p}`);

  const totals = providers.map((p) => {
    const mine = input.figures.filter((f) => (f.provider ?? NONE) === p);
    return { p, created: mine.reduce((n, f) => n + f.created, 0), paid: mine.reduce((n, f) => n + f.paid, 0), decided: mine.reduce((n, f) => n + f.decided, 0) };
  });
  const all = totals.reduce((a, t) => ({ created: a.created + t.created, paid: a.paid + t.paid, decided: a.decided + t.decided }), { created: 0, paid: 0, decided: 0 });
  const summary = totals.map((t) => `${t.p}: ${t.created} orders, success rate ${rate(t.paid, t.decided)}`).join('; ') || 'no orders';

  const volume = barChart({
    id: 'chart-volume',
    title: `Orders created per provider per day, last ${count} days (${input.zone})`,
    desc: `Totals: ${summary}. The table below has every day's figures.`,
    labels,
    series: providers.map((p) => ({ name: p, values: dayStarts.map((d) => get(d, p)?.created ?? 0) })),
    format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)),
  });
  const success = lineChart({
    id: 'chart-success',
    title: `Success rate per provider per day, last ${count} days (${input.zone})`,
    desc: `Paid (including refunded later) divided by orders that reached an outcome, by the day the order was created. ${summary}. Days without any outcome have no point.`,
    labels,
    series: providers.map((p) => ({
      name: p,
      values: dayStarts.map((d) => {
        const f = get(d, p);
        return f && f.decided ? f.paid / f.decided : null;
      }),
    })),
    yMax: 1,
    format: pct,
  });

  const rows = dayStarts
    .flatMap((d) =>
      providers.map((p) => {
        const f = get(d, p);
        if (!f) return null;
        return html`<tr><td class="nowrap">${dateOf.get(d)}</td><td>${p}</td><td class="num" data-label="Created">${f.created}</td><td class="num" data-label="With outcome">${f.decided}</td><td class="num" data-label="Paid">${f.paid}</td><td class="num" data-label="Success rate">${rate(f.paid, f.decided)}</td><td class="num" data-label="Paid amount">${amounts(f.paidAmount)}</td></tr>`;
      }),
    )
    .filter(Boolean)
    .reverse();

  const range = (n: number) => (n === count ? html`<a class="button small" href="/admin?days=${n}" aria-current="page">${n} days</a>` : html`<a class="button small" href="/admin?days=${n}">${n} days</a>`);

  return html`<h1>Overview</h1>
<div class="stats">
  <a class="stat" href="/admin/orders?attention=1"><span class="value" data-testid="attention-count">${input.openWork.attention}</span>need attention</a>
  <a class="stat" href="/admin/orders?status=pending"><span class="value">${input.openWork.waiting}</span>waiting for payment</a>
  <div class="stat"><span class="value">${all.created}</span>orders in ${count} days</div>
  <div class="stat"><span class="value">${rate(all.paid, all.decided)}</span>success rate in ${count} days</div>
</div>
<section class="card chart" aria-labelledby="volume-title">
  <div class="actions"><h2 id="volume-title">Volume: orders created per provider per day</h2><span class="actions">${range(14)}${range(30)}</span></div>
  ${legend(providers)}
  <div class="plot">${volume}</div>
</section>
<section class="card chart" aria-labelledby="success-title">
  <h2 id="success-title">Success rate per provider per day</h2>
  <p class="muted small"><strong>Success rate</strong> = orders paid (including those refunded later) ÷ orders that reached an outcome (paid, refunded, failed, cancelled or expired), counted on the day (in ${zone}) each order was created. Orders still waiting for payment are left out until they have an outcome.</p>
  ${legend(providers)}
  <div class="plot">${success}</div>
</section>
<section class="card" aria-labelledby="figures-title">
  <h2 id="figures-title">The figures</h2>
  <p class="muted small"><strong>Paid amount</strong> = the sum of the orders counted under Paid (paid, including those refunded later), per currency; the amounts of orders not paid are never added.</p>
  <div class="table-wrap"><table class="cards figures" data-testid="figures">
    <caption class="visually-hidden">Orders per provider per day (${zone}), newest first</caption>
    <thead><tr><th scope="col">Day (${zone})</th><th scope="col">Provider</th><th scope="col" class="num">Created</th><th scope="col" class="num">With outcome</th><th scope="col" class="num">Paid</th><th scope="col" class="num">Success rate</th><th scope="col" class="num">Paid amount</th></tr></thead>
    <tbody>${rows.length ? joinHtml(rows, '\n') : html`<tr><td colspan="7" class="muted">No orders in the last ${count} days.</td></tr>`}</tbody>
  </table></div>
</section>`;
}
