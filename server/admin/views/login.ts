import type { ErrorDetail } from '../../../core/errors.ts';
import { html, type SafeHtml } from '../../../core/html.ts';
import { page, type Flash } from './layout.ts';

export function renderLogin(input: { next: string; username?: string; flash?: Flash | null }): SafeHtml {
  return page({
    title: 'Sign in',
    flash: null,
    body: html`<section class="card login" aria-labelledby="login-title">
  <h1 id="login-title">Sign in to the dashboard</h1>
  ${input.flash ? html`<div class="flash flash-${input.flash.kind}" role="alert" data-testid="flash">${input.flash.text}</div>` : ''}
  <form method="post" action="/admin/login">
    <input type="hidden" name="next" value="${input.next}">
    <div class="field"><label for="username">Username</label>
      <input type="text" id="username" name="username" autocomplete="username" required value="${input.username ?? ''}" autofocus></div>
    <div class="field"><label for="password">Password</label>
      <input type="password" id="password" name="password" autocomplete="current-password" required></div>
    <button class="button primary" type="submit">Sign in</button>
  </form>
  <p class="muted small">Operators only. The dashboard's credentials are PAYGATE_ADMIN_USER and PAYGATE_ADMIN_PASSWORD.</p>
</section>`,
  });
}

/** A whole-page error: what went wrong, which fields, and a way on. */
export function renderErrorPage(input: {
  status: number;
  title: string;
  message: string;
  details?: readonly ErrorDetail[];
  user?: { name: string; csrf: string };
  back?: { href: string; label: string };
}): SafeHtml {
  const details = input.details?.length
    ? html`<ul data-testid="error-details">${input.details.map((d) => html`<li><strong>${d.path || 'request'}</strong>: ${d.message}</li>`)}</ul>`
    : '';
  const back = input.back ?? { href: '/admin', label: 'Back to the overview' };
  return page({
    title: input.title,
    user: input.user,
    body: html`<section class="card confirm">
  <h1>${input.title} <span class="muted small">HTTP ${input.status}</span></h1>
  <div class="flash flash-error" role="alert" data-testid="error">${input.message}</div>
  ${details}
  <p><a class="button" href="${back.href}">${back.label}</a></p>
</section>`,
  });
}
