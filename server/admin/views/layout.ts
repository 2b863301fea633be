import { offsetLabel } from '../time-zone.ts';
import { escapeHtml } from './format.ts';

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
  body: string;
  /** The zone the page's dates are in, named at its foot. */
  timeZone?: string;
}

export function flashHtml(flash: Flash | null | undefined): string {
  if (!flash) return '';
  const role = flash.kind === 'error' ? 'alert' : 'status';
  return `<div class="flash flash-${flash.kind}" role="${role}" data-testid="flash">${escapeHtml(flash.text)}</div>`;
}

export function csrfField(token: string): string {
  return `<input type="hidden" name="_csrf" value="${escapeHtml(token)}">`;
}

/** The page shell: skip link, top bar with the main navigation and log-out, then the content. */
export function page(input: PageInput): string {
  const link = (key: 'overview' | 'orders', href: string, label: string) =>
    `<a href="${href}"${input.nav === key ? ' aria-current="page"' : ''}>${label}</a>`;
  const top = input.user
    ? `<nav aria-label="Main">${link('overview', '/admin', 'Overview')}${link('orders', '/admin/orders', 'Orders')}</nav>
  <form class="whoami" method="post" action="/admin/logout">${csrfField(input.user.csrf)}<span>Signed in as <strong>${escapeHtml(input.user.name)}</strong></span><button type="submit">Log out</button></form>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(input.title)} · paygate admin</title>
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
${(input.alerts ?? []).map((a) => flashHtml(a).replace('data-testid="flash"', 'data-testid="alert"')).join('\n')}
${flashHtml(input.flash)}
${input.body}
</main>
${input.timeZone ? `<footer class="foot" data-testid="time-zone">Times in ${escapeHtml(input.timeZone)} (${offsetLabel(Date.now(), input.timeZone)} now)</footer>` : ''}
</body>
</html>`;
}
