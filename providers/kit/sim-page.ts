/**
 * The frame of a simulator's buyer pages (a provider's pay page, as providers/<id>/simulator/pages.ts
 * draws it): one plain, script-free layout and stylesheet, in the provider's own colour and name, with
 * a banner that says no real money moves. The pages themselves stay the provider's.
 */
import { html, unsafeRaw, type SafeHtml } from '../../core/html.ts';

export interface SimulatorBrand {
  /** The provider's name as its own pages show it (e.g. `綠界科技 ECPay`). */
  name: string;
  /** The header's and the primary button's colour (a CSS colour). */
  accent: string;
  /** The page's background colour. */
  background: string;
  /** The keyboard focus ring's colour. */
  focus: string;
}

const BASE = `*{box-sizing:border-box}body{margin:0;font-family:system-ui,-apple-system,"Noto Sans TC","PingFang TC",sans-serif;background:var(--page);color:var(--ink);line-height:1.5}
header{background:var(--accent);color:#fff;padding:.8rem 1.2rem}header p{margin:0;font-weight:600}header small{font-weight:400;opacity:.9}
main{max-width:34rem;margin:1.5rem auto;background:#fff;border-radius:12px;padding:1.5rem 1.6rem;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:1.35rem;margin:0 0 1rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0 0 1.2rem}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.amount{font-size:1.5rem;font-weight:700;font-variant-numeric:tabular-nums}.account,.code{font-size:1.3rem;font-weight:700;letter-spacing:.05em;font-variant-numeric:tabular-nums}
ul.items{margin:0;padding-left:1.1rem}fieldset{border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem;margin:0 0 1rem}legend{padding:0 .3rem;color:var(--muted)}
label{display:block;margin:.6rem 0 .2rem;font-weight:500}input,select{font:inherit;width:100%;padding:.5rem .6rem;border:1px solid #9a9ca3;border-radius:6px}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1rem}button{font:inherit;padding:.6rem 1.1rem;border-radius:8px;border:1px solid #8e9096;background:#fff;color:var(--ink);cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff;font-weight:600}button:focus-visible,input:focus-visible,select:focus-visible,a:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.notice{padding:.8rem 1rem;border-radius:8px;margin:0 0 1rem}.good{background:#e6f4ea;color:#0b5a27}.bad{background:#fdecea;color:#8c1515}.info{background:#fff8e1;color:#5a4a00}
.note{color:var(--muted);font-size:.9rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid var(--line);padding:.35rem .4rem;text-align:left;font-size:.9rem}`;

const COLOUR = /^#[0-9a-fA-F]{3,8}$/;

/** A whole simulator page: `title`, `body` (the provider's markup) and an optional inline script. */
export function simulatorPage(brand: SimulatorBrand, title: string, body: SafeHtml, script: SafeHtml | '' = ''): SafeHtml {
  for (const colour of [brand.accent, brand.background, brand.focus]) {
    if (!COLOUR.test(colour)) throw new TypeError(`simulator page colours are #hex: ${colour}`);
  }
  const vars = `:root{--accent:${brand.accent};--page:${brand.background};--focus:${brand.focus};--ink:#1d1d1f;--muted:#5b5b60;--line:#d7d9de}\n`;
  return html`<!doctype html>
<html lang="zh-Hant">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title><style>${unsafeRaw(vars + BASE, 'constant CSS of the simulator pages; the colours are checked #hex')}</style></head>
<body>
<header><p>${brand.name} <small>· 本機模擬器 local simulator — no real money moves</small></p></header>
<main>
${body}
</main>${script}
</body>
</html>`;
}
