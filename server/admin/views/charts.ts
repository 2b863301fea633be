import { html, joinHtml, type SafeHtml } from '../../../core/html.ts';

/**
 * Server-rendered SVG charts: no JavaScript, no CDN, nothing inline that the Content-Security-Policy
 * would have to allow (presentation attributes only, no style attributes). Each chart is an
 * `role="img"` with a title and a description; the page also carries the figures as a table.
 */

/** Okabe–Ito colours (distinguishable with the common colour-vision deficiencies); matches .sw0…6 in the CSS. */
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#8a6d00', '#56508f', '#4d4d4d'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '10 4', '4 2 1 2', '1 2'];

export interface Series {
  name: string;
  values: (number | null)[];
}

interface ChartInput {
  id: string;
  title: string;
  desc: string;
  /** One label per x position (days). */
  labels: string[];
  series: Series[];
  format: (value: number) => string;
}

const W = 900;
const H = 280;
const M = { top: 16, right: 16, bottom: 44, left: 56 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

/**
 * The top of the axis: four gridline steps of 1, 2, 2.5 or 5 × 10^k, so the lines fall on round
 * numbers (whole ones for counts).
 */
export function niceMax(max: number, integer = false): number {
  const raw = Math.max(max, integer ? 4 : 1e-9) / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const steps = [1, 2, 2.5, 5, 10].map((m) => m * p).filter((s) => !integer || Number.isInteger(s));
  return steps.find((s) => s >= raw)! * 4;
}

function frame(input: ChartInput, yMax: number, body: SafeHtml): SafeHtml {
  const grid: SafeHtml[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = M.top + PH - (PH * i) / 4;
    grid.push(html`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#d9dde3" stroke-width="1"/>`);
    grid.push(html`<text x="${M.left - 8}" y="${y + 4}" text-anchor="end" font-size="12" fill="#4f5968">${input.format(v)}</text>`);
  }
  const n = input.labels.length;
  const step = n > 16 ? Math.ceil(n / 10) : 1;
  const xs = input.labels.map((label, i) => (i % step === 0 || i === n - 1 ? html`<text x="${M.left + (PW * (i + 0.5)) / n}" y="${H - M.bottom + 18}" text-anchor="middle" font-size="12" fill="#4f5968">${label}</text>` : ''));
  return html`<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${input.id}-title ${input.id}-desc" xmlns="http://www.w3.org/2000/svg" data-testid="${input.id}">
<title id="${input.id}-title">${input.title}</title>
<desc id="${input.id}-desc">${input.desc}</desc>
${joinHtml(grid, '\n')}
<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + PH}" y2="${M.top + PH}" stroke="#4f5968" stroke-width="1"/>
${xs}
${body}
</svg>`;
}

/** Grouped bars: one group per label, one bar per series. */
export function barChart(input: ChartInput): SafeHtml {
  const max = niceMax(Math.max(0, ...input.series.flatMap((s) => s.values.map((v) => v ?? 0))), true);
  const n = input.labels.length;
  const group = PW / Math.max(1, n);
  const bar = (group * 0.8) / Math.max(1, input.series.length);
  const bars = input.series.flatMap((s, si) =>
    s.values.map((v, i) => {
      if (!v) return '';
      const h = (PH * v) / max;
      const x = M.left + group * i + group * 0.1 + bar * si;
      return html`<rect x="${x.toFixed(1)}" y="${(M.top + PH - h).toFixed(1)}" width="${Math.max(1, bar - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${`${s.name}, ${input.labels[i]}: ${input.format(v)}`}</title></rect>`;
    }),
  );
  return frame(input, max, joinHtml(bars));
}

/** Lines with a point per value; null values break the line (no orders decided that day). */
export function lineChart(input: ChartInput & { yMax: number }): SafeHtml {
  const n = input.labels.length;
  const x = (i: number) => M.left + (PW * (i + 0.5)) / n;
  const y = (v: number) => M.top + PH - (PH * v) / input.yMax;
  const parts = input.series.map((s, si) => {
    const colour = PALETTE[si % PALETTE.length];
    const dash = DASHES[si % DASHES.length] ? html` stroke-dasharray="${DASHES[si % DASHES.length]}"` : '';
    const runs: string[][] = [[]];
    const points: SafeHtml[] = [];
    s.values.forEach((v, i) => {
      if (v === null) {
        if (runs[runs.length - 1]!.length) runs.push([]);
        return;
      }
      runs[runs.length - 1]!.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      points.push(html`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${colour}"><title>${`${s.name}, ${input.labels[i]}: ${input.format(v)}`}</title></circle>`);
    });
    const lines = runs.filter((r) => r.length > 1).map((r) => html`<polyline points="${r.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    return joinHtml([lines, points]);
  });
  return frame(input, input.yMax, joinHtml(parts, '\n'));
}

export function legend(names: readonly string[]): SafeHtml {
  return html`<div class="legend">${names.map((name, i) => html`<span><span class="swatch sw${i % PALETTE.length}"></span>${name}</span>`)}</div>`;
}
