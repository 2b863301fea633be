/**
 * The dashboard's one stylesheet, served from /admin/assets/admin.css so the Content-Security-Policy
 * needs no 'unsafe-inline'. Colours are chosen for WCAG AA contrast on their backgrounds.
 */
export const ADMIN_CSS = `
:root { --fg: #1d2330; --muted: #4f5968; --line: #d9dde3; --bg: #f4f5f7; --card: #fff; --accent: #0b57d0; --accent-dark: #0842a0; --danger: #a11a1a; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:hover { color: var(--accent-dark); }
:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 2rem; padding: .5rem 1.5rem; min-height: 3.5rem; background: #162032; color: #fff; }
header.top a { color: #fff; text-decoration: none; }
.brand { font-weight: 700; font-size: 1.1rem; letter-spacing: .01em; }
.brand span { font-weight: 400; color: #b8c4d9; }
header.top nav { display: flex; gap: .25rem; flex: 1; }
header.top nav a { padding: .45rem .8rem; border-radius: 6px; color: #dfe6f2; }
header.top nav a:hover, header.top nav a[aria-current="page"] { background: #2a3a55; color: #fff; }
.whoami { display: flex; align-items: center; gap: .75rem; color: #b8c4d9; font-size: .9rem; }
.whoami button { background: transparent; color: #fff; border: 1px solid #6f7f99; border-radius: 6px; padding: .3rem .7rem; cursor: pointer; font: inherit; }
main { max-width: 82rem; margin: 0 auto; padding: 1.5rem; }
/* Nothing inside may widen the page: grid and flex children may shrink below their content. */
main > *, .card, .grid2 > * { min-width: 0; }
footer.foot { max-width: 82rem; margin: 0 auto; padding: 0 1.5rem 1.5rem; color: var(--muted); font-size: .85rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; display: flex; align-items: center; gap: .75rem; flex-wrap: wrap; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1.25rem; margin-bottom: 1.25rem; }
.muted { color: var(--muted); }
.small { font-size: .85rem; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85rem; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; }
table { width: 100%; border-collapse: collapse; }
caption { text-align: left; font-weight: 600; padding-bottom: .5rem; }
th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); background: #f8f9fb; }
tbody tr:hover { background: #f7f9fd; }
.table-wrap { overflow-x: auto; max-width: 100%; }
.badge { display: inline-block; padding: .1rem .55rem; border-radius: 999px; font-size: .8rem; font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.badge-paid, .badge-delivered, .badge-succeeded, .badge-yes { color: #0b5d28; background: #e3f4e8; border-color: #b5dfc2; }
.badge-partially_refunded, .badge-refunded { color: #473688; background: #eeebfb; border-color: #cfc7f2; }
.badge-created, .badge-pending { color: #6b4e00; background: #fff4d1; border-color: #f0dc9a; }
.badge-failed, .badge-no { color: #9b1c1c; background: #fde8e8; border-color: #f5bcbc; }
.badge-cancelled, .badge-expired, .badge-skipped, .badge-unknown { color: #3f4652; background: #eceef1; border-color: #d3d7dd; }
.flag { color: #9b1c1c; font-weight: 700; }
.flash { padding: .8rem 1rem; border-radius: 8px; margin-bottom: 1.25rem; border: 1px solid; }
.flash-ok { color: #0b5d28; background: #e3f4e8; border-color: #b5dfc2; }
.flash-error { color: #8a1414; background: #fde8e8; border-color: #f5bcbc; }
.flash-warn { color: #5c4300; background: #fff4d1; border-color: #f0dc9a; }
.attention { border-left: 4px solid var(--danger); }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: flex-end; }
.field { display: flex; flex-direction: column; gap: .25rem; }
.field label, .field .label { font-size: .85rem; font-weight: 600; color: var(--muted); }
.check { display: flex; align-items: center; gap: .4rem; padding-bottom: .45rem; }
input[type=text], input[type=password], input[type=date], input[type=number], input[type=search], select, textarea {
  font: inherit; padding: .45rem .6rem; border: 1px solid #9aa3af; border-radius: 6px; background: #fff; color: var(--fg); min-width: 9rem;
}
textarea { min-width: min(20rem, 100%); max-width: 100%; min-height: 4rem; }
[aria-invalid="true"] { border-color: var(--danger); box-shadow: 0 0 0 1px var(--danger); }
.field-error { color: var(--danger); font-size: .85rem; font-weight: 600; }
.button, button.button { display: inline-block; font: inherit; font-weight: 600; padding: .5rem 1rem; border-radius: 6px; border: 1px solid #9aa3af; background: #fff; color: var(--fg); text-decoration: none; cursor: pointer; }
.button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.button.primary:hover { background: var(--accent-dark); }
.button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
.button.small { padding: .25rem .6rem; font-size: .85rem; }
.actions { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1.25rem; margin: 0; }
dl.details dt { color: var(--muted); font-weight: 600; font-size: .9rem; }
dl.details dd { margin: 0; overflow-wrap: anywhere; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(24rem, 100%), 1fr)); gap: 1.25rem; }
details.raw summary { cursor: pointer; color: var(--accent); }
pre.raw { white-space: pre-wrap; overflow-wrap: anywhere; background: #f3f4f6; border: 1px solid var(--line); border-radius: 6px; padding: .6rem; max-height: 24rem; overflow: auto; margin: .4rem 0 0; }
.pager { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; justify-content: space-between; margin-top: 1rem; }
.stats { display: flex; gap: 1rem; flex-wrap: wrap; margin-bottom: 1.25rem; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: .9rem 1.2rem; min-width: 12rem; }
.stat .value { font-size: 1.6rem; font-weight: 700; display: block; }
a.stat { display: block; color: inherit; text-decoration: none; }
a.stat:hover { border-color: var(--accent); }
a.stat .value { color: var(--accent); }
.button[aria-current="page"] { background: #162032; border-color: #162032; color: #fff; }
.chart svg { width: 100%; height: auto; display: block; }
.legend { display: flex; gap: 1rem; flex-wrap: wrap; margin: .5rem 0; font-size: .9rem; }
.swatch { display: inline-block; width: .9rem; height: .9rem; border-radius: 3px; vertical-align: -2px; margin-right: .35rem; }
.sw0 { background: #0072b2; } .sw1 { background: #d55e00; } .sw2 { background: #009e73; } .sw3 { background: #cc79a7; } .sw4 { background: #8a6d00; } .sw5 { background: #56508f; } .sw6 { background: #4d4d4d; }
.login { max-width: 24rem; margin: 4rem auto; }
.login form { display: flex; flex-direction: column; gap: 1rem; }
.login input { width: 100%; }
.confirm { max-width: 40rem; }
.confirm form { display: flex; flex-direction: column; gap: 1rem; }
h1 .mono { font-size: inherit; overflow-wrap: anywhere; }

/* Phones: the top bar wraps onto two lines, forms and cards use the whole width, wide tables scroll
   inside their own box (.table-wrap) and the orders list becomes one card per order. */
@media (max-width: 40rem) {
  header.top { padding: .5rem .75rem; gap: .25rem .75rem; }
  header.top nav { order: 3; flex-basis: 100%; }
  .whoami { margin-left: auto; gap: .5rem; }
  .whoami span { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  main { padding: .75rem; }
  footer.foot { padding: 0 .75rem 1rem; }
  h1 { font-size: 1.25rem; }
  .card { padding: .9rem; }
  form.filters .field, form.filters .actions { flex: 1 1 100%; }
  input[type=text], input[type=password], input[type=date], input[type=number], input[type=search], select, textarea { min-width: 0; width: 100%; }
  .stats { gap: .6rem; }
  .stat { min-width: 0; flex: 1 1 calc(50% - .6rem); padding: .7rem .9rem; }
  .stat .value { font-size: 1.3rem; }
  dl.details { grid-template-columns: 1fr; gap: 0; }
  dl.details dd { margin-bottom: .5rem; }
  table.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards caption { display: block; }
  /* The figures: day and provider side by side as the card's heading, then one line per figure. */
  table.figures tr { display: flex; flex-wrap: wrap; }
  table.figures td:nth-child(-n+2) { width: auto; font-weight: 700; padding-right: .75rem; }
  table.figures td:nth-child(n+3) { flex: 1 1 100%; }
  /* A chart keeps readable labels: narrower than this, it scrolls inside its box, starting at its
     right end (the newest days; rtl only sets where the scroll starts, the chart stays ltr). */
  .plot { overflow-x: auto; direction: rtl; }
  .plot svg { min-width: 32rem; direction: ltr; }
  table.cards tr { border: 1px solid var(--line); border-radius: 8px; margin-bottom: .6rem; padding: .4rem .6rem; }
  table.cards td { border: 0; padding: .2rem 0; text-align: left; overflow-wrap: anywhere; }
  table.cards td[data-label]::before { content: attr(data-label); float: left; width: 6.5rem; padding-right: .5rem; color: var(--muted); font-size: .8rem; font-weight: 600; line-height: 1.9; }
  table.cards td::after { content: ""; display: block; clear: both; }
  table.cards td.num { white-space: normal; }
  table.cards td:empty, table.cards td.when-flagged:not(:has(.flag)) { display: none; }
}
`;
