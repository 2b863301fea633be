import { offsetLabel } from '../time-zone.ts';
import { html, joinHtml, type SafeHtml } from '../../../core/html.ts';

export type FlashKind = 'ok' | 'error' | 'warn';

export interface Flash {
  kind: FlashKind;
  text: string;
}

export interface PageInput {
  title: string;
  /** Which main-nav entry is current. */
  nav?: 'overview' | 'orders';
  /** Signed-in user and the CSRF token for the logout form; absent on the login page. */
  user?: { name: string; csrf: string };
  flash?: Flash | null;
  /** Standing warnings above the content (a provider refusing an account's credentials), escaped. */
  alerts?: readonly Flash[];
  body: SafeHtml;
  /** The zone the page's dates are in, named at its foot. */
  timeZone?: string;
}

export function flashHtml(flash: Flash | null | undefined, testId = 'flash'): SafeHtml | '' {
  if (!flash) return '';
  const role = flash.kind === 'error' ? 'alert' : 'status';
  return html`<div class="flash flash-${flash.kind}" role="${role}" data-testid="${testId}">${flash.text}</div>`;
}

export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** The page shell: skip link, top bar with the main navigation and log-out, then the content. */
export function page(input: PageInput): SafeHtml {
  const link = (key: 'overview' | 'orders', href: string, label: string) =>
    html`<a href="${href}"${input.nav === key ? html` aria-current="page"` : ''}>${label}</a>`;
  const top = input.user
    ? html`<nav aria-label="Main">${link('overview', '/admin', 'Overview')}${link('orders', '/admin/orders', 'Orders')}</nav>
  <form class="whoami" method="post" action="/admin/logout">${csrfField(input.user.csrf)}<span>Signed in as <strong>${input.user.name}</strong></span><button type="submit">Log out</button></form>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${input.title} · paygate admin</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/admin/assets/admin.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/admin">paygate <span>admin</span></a>
  ${top}
</header>
<main id="main" tabindex="-1">
${joinHtml((input.alerts ?? []).map((a) => flashHtml(a, 'alert')), '\n')}
${flashHtml(input.flash)}
${input.body}
</main>
${input.timeZone ? html`<footer class="foot" data-testid="time-zone">Times in ${input.timeZone} (${offsetLabel(Date.now(), input.timeZone)} now)</footer>` : ''}
</body>
</html>`;
}
