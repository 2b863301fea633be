import { html, joinHtml, unsafeRaw, type SafeHtml } from '../../core/html.ts';
import { LOCALES, t, type Locale, type MessageKey } from './i18n.ts';
import { pageShell } from './page.ts';

/**
 * GET /: what this server is, links to the API reference and the dashboard, and in the demo (on
 * provider simulators) a form that makes a test payment. Server-rendered, no script.
 */

export interface HomeForm {
  /** The token bound to the browser's form cookie (server/routes/home.ts). */
  token: string;
  amount: string;
  subject: string;
  /** What was wrong with the last post, and which field. */
  error?: { field: 'amount' | 'subject' | 'form'; key: MessageKey };
}

const HOME_CSS = `
  .links { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1.25rem 0 0; padding: 0; list-style: none; }
  form.demo label { display: block; font-weight: 600; margin: .9rem 0 .3rem; }
  form.demo input[type=text], form.demo input[type=number] { width: 100%; font: inherit; padding: .6rem .75rem; border: 1px solid #8c959f; border-radius: 10px; }
  form.demo input:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
  form.demo [aria-invalid=true] { border-color: #8a1414; }
  nav.langs { margin-top: 1.5rem; font-size: .9rem; color: #4b535c; display: flex; gap: .75rem; flex-wrap: wrap; }
  nav.langs a { color: #0b57d0; }
`;

const LANGUAGE_NAMES: Record<Locale, string> = { 'zh-TW': '繁體中文', 'zh-CN': '简体中文', en: 'English' };

export function renderHomePage(options: { locale: Locale; admin: boolean; demo: HomeForm | null; notice?: MessageKey }): SafeHtml {
  const { locale, demo } = options;
  const links = [html`<li><a class="button" href="/docs">${t(locale, 'home_docs')}</a></li>`];
  if (options.admin) links.push(html`<li><a class="button" href="/admin">${t(locale, 'home_admin')}</a></li>`);
  const parts = [
    html`<h1>${t(locale, 'home_title')}</h1>`,
    html`<p>${t(locale, 'home_intro')}</p>`,
    html`<ul class="links">${links}</ul>`,
  ];
  if (options.notice) parts.push(html`<p class="notice error" role="alert" data-testid="home-notice">${t(locale, options.notice)}</p>`);
  if (demo) {
    const error = demo.error;
    const invalid = (field: string) => (error?.field === field ? html` aria-invalid="true" aria-describedby="form-error"` : '');
    parts.push(html`<section aria-labelledby="demo-heading">
<h2 id="demo-heading">${t(locale, 'home_demoHeading')}</h2>
<p class="hint">${t(locale, 'home_demoHint')}</p>
${error ? html`<p class="notice error" id="form-error" role="alert" data-field="${error.field}">${t(locale, error.key)}</p>` : ''}
<form class="demo" method="post" action="/?lang=${locale}" data-testid="demo-form">
<input type="hidden" name="token" value="${demo.token}">
<label for="amount">${t(locale, 'home_amount')}</label>
<input type="number" id="amount" name="amount" min="1" max="1000000" step="1" inputmode="numeric" required value="${demo.amount}"${invalid('amount')}>
<label for="subject">${t(locale, 'home_subject')}</label>
<input type="text" id="subject" name="subject" maxlength="128" required value="${demo.subject}"${invalid('subject')}>
<button class="button primary wide" type="submit">${t(locale, 'home_create')}</button>
</form>
</section>`);
  }
  parts.push(
    html`<nav class="langs" aria-label="Language">${LOCALES.map((l) => (l === locale ? html`<span aria-current="true">${LANGUAGE_NAMES[l]}</span>` : html`<a href="/?lang=${l}" lang="${l}">${LANGUAGE_NAMES[l]}</a>`))}</nav>`,
  );
  return pageShell({ locale, title: t(locale, 'home_title'), body: joinHtml(parts, '\n'), css: unsafeRaw(HOME_CSS, 'constant CSS of the home page') });
}
