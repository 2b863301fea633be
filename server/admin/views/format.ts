import { toDecimalString } from '../../../core/money.ts';
import { scrubText } from '../../logger.ts';
import { escapeHtml } from '../../views/html.ts';
import { formatDateTime } from '../time-zone.ts';

/** Small HTML pieces every dashboard page uses. Everything that reaches the page goes through escapeHtml. */

export { escapeHtml };

/** "TWD 799.00": exact, from integer minor units. */
export function money(amount: number, currency: string): string {
  try {
    return `${currency} ${toDecimalString(amount, currency)}`;
  } catch {
    // A currency this build does not know (an old row): show what is stored, unconverted.
    return `${amount} (minor units of ${currency})`;
  }
}

export function moneyHtml(amount: number, currency: string): string {
  return `<span class="nowrap">${escapeHtml(money(amount, currency))}</span>`;
}

/**
 * An instant on the zone's wall clock ("2026/12/03 01:21:07"); the zone is named once per page (the
 * layout's footer), and the element carries the exact UTC instant for machines.
 */
export function timeHtml(d: Date | null | undefined, zone: string): string {
  if (!d || Number.isNaN(d.getTime())) return '<span class="muted">—</span>';
  return `<time datetime="${escapeHtml(d.toISOString())}" class="nowrap">${escapeHtml(formatDateTime(d.getTime(), zone))}</time>`;
}

export function badge(value: string, label = value): string {
  const cls = /^[a-z_]+$/.test(value) ? value : 'unknown';
  return `<span class="badge badge-${cls}">${escapeHtml(label.replace(/_/g, ' '))}</span>`;
}

export function dash(value: string | null | undefined): string {
  return value === null || value === undefined || value === '' ? '<span class="muted">—</span>' : escapeHtml(value);
}

export function attentionFlag(on: boolean, reason: string | null): string {
  if (!on) return '<span class="visually-hidden">no</span>';
  return `<span class="flag" title="${escapeHtml(reason ?? 'needs attention')}">⚑<span class="visually-hidden"> needs attention${reason ? `: ${escapeHtml(reason)}` : ''}</span></span>`;
}

/** Characters of a raw callback shown on the page. */
export const RAW_SHOWN_CHARS = 2000;

/**
 * A provider's raw text for a person's eyes: card-like numbers masked (13-19 digits passing Luhn,
 * as in the logs) before it is cut, so a cut never leaves half a card number behind, then escaped.
 */
export function rawHtml(text: string, truncatedBefore = false): string {
  const masked = scrubText(text);
  const cut = masked.length > RAW_SHOWN_CHARS;
  const shown = cut ? masked.slice(0, RAW_SHOWN_CHARS) : masked;
  const more = cut || truncatedBefore ? `\n… (truncated; ${cut ? `${RAW_SHOWN_CHARS} characters shown` : 'longer than shown'})` : '';
  return `<pre class="raw">${escapeHtml(shown + more)}</pre>`;
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}
