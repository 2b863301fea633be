import { toDecimalString } from '../../../core/money.ts';
import { scrubText } from '../../logger.ts';
import { html, type SafeHtml } from '../../../core/html.ts';
import { formatDateTime } from '../time-zone.ts';

/** Small HTML pieces every dashboard page uses, built with `html` (core/html.ts), which escapes. */

/** "TWD 799.00": exact, from integer minor units. */
export function money(amount: number, currency: string): string {
  try {
    return `${currency} ${toDecimalString(amount, currency)}`;
  } catch {
    // A currency this build does not know (an old row): show what is stored, unconverted.
    return `${amount} (minor units of ${currency})`;
  }
}

export function moneyHtml(amount: number, currency: string): SafeHtml {
  return html`<span class="nowrap">${money(amount, currency)}</span>`;
}

/**
 * An instant on the zone's wall clock ("2026/12/03 01:21:07"); the zone is named once per page (the
 * layout's footer), and the element carries the exact UTC instant for machines.
 */
export function timeHtml(d: Date | null | undefined, zone: string): SafeHtml {
  if (!d || Number.isNaN(d.getTime())) return html`<span class="muted">—</span>`;
  return html`<time datetime="${d.toISOString()}" class="nowrap">${formatDateTime(d.getTime(), zone)}</time>`;
}

export function badge(value: string, label = value): SafeHtml {
  const cls = /^[a-z_]+$/.test(value) ? value : 'unknown';
  return html`<span class="badge badge-${cls}">${label.replace(/_/g, ' ')}</span>`;
}

export function dash(value: string | null | undefined): SafeHtml {
  return value === null || value === undefined || value === '' ? html`<span class="muted">—</span>` : html`${value}`;
}

export function attentionFlag(on: boolean, reason: string | null): SafeHtml {
  if (!on) return html`<span class="visually-hidden">no</span>`;
  return html`<span class="flag" title="${reason ?? 'needs attention'}">⚑<span class="visually-hidden"> needs attention${reason ? `: ${reason}` : ''}</span></span>`;
}

/** Characters of a raw callback shown on the page. */
export const RAW_SHOWN_CHARS = 2000;

/**
 * A provider's raw text for a person's eyes: card-like numbers masked (13-19 digits passing Luhn,
 * as in the logs) before it is cut, so a cut never leaves half a card number behind, then escaped.
 */
export function rawHtml(text: string, truncatedBefore = false): SafeHtml {
  const masked = scrubText(text);
  const cut = masked.length > RAW_SHOWN_CHARS;
  const shown = cut ? masked.slice(0, RAW_SHOWN_CHARS) : masked;
  const more = cut || truncatedBefore ? `\n… (truncated; ${cut ? `${RAW_SHOWN_CHARS} characters shown` : 'longer than shown'})` : '';
  return html`<pre class="raw">${shown + more}</pre>`;
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}
