import { escapeHtml } from './html.ts';
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

export function renderHomePage(options: { locale: Locale; admin: boolean; demo: HomeForm | null; notice?: MessageKey }): string {
  const { locale, demo } = options;
  const links = [`<li><a class="button" href="/docs">${escapeHtml(t(locale, 'home_docs'))}</a></li>`];
  if (options.admin) links.push(`<li><a class="button" href="/admin">${escapeHtml(t(locale, 'home_admin'))}</a></li>`);
  const parts = [
    `<h1>${escapeHtml(t(locale, 'home_title'))}</h1>`,
    `<p>${escapeHtml(t(locale, 'home_intro'))}</p>`,
    `<ul class="links">${links.join('')}</ul>`,
  ];
  if (options.notice) parts.push(`<p class="notice error" role="alert" data-testid="home-notice">${escapeHtml(t(locale, options.notice))}</p>`);
  if (demo) {
    const error = demo.error;
    const invalid = (field: string) => (error?.field === field ? ' aria-invalid="true" aria-describedby="form-error"' : '');
    parts.push(`<section aria-labelledby="demo-heading">
<h2 id="demo-heading">${escapeHtml(t(locale, 'home_demoHeading'))}</h2>
<p class="hint">${escapeHtml(t(locale, 'home_demoHint'))}</p>
${error ? `<p class="notice error" id="form-error" role="alert" data-field="${escapeHtml(error.field)}">${escapeHtml(t(locale, error.key))}</p>` : ''}
<form class="demo" method="post" action="/?lang=${escapeHtml(locale)}" data-testid="demo-form">
<input type="hidden" name="token" value="${escapeHtml(demo.token)}">
<label for="amount">${escapeHtml(t(locale, 'home_amount'))}</label>
<input type="number" id="amount" name="amount" min="1" max="1000000" step="1" inputmode="numeric" required value="${escapeHtml(demo.amount)}"${invalid('amount')}>
<label for="subject">${escapeHtml(t(locale, 'home_subject'))}</label>
<input type="text" id="subject" name="subject" maxlength="128" required value="${escapeHtml(demo.subject)}"${invalid('subject')}>
<button class="button primary wide" type="submit">${escapeHtml(t(locale, 'home_create'))}</button>
</form>
</section>`);
  }
  parts.push(
    `<nav class="langs" aria-label="Language">${LOCALES.map((l) => (l === locale ? `<span aria-current="true">${LANGUAGE_NAMES[l]}</span>` : `<a href="/?lang=${l}" lang="${l}">${LANGUAGE_NAMES[l]}</a>`)).join('')}</nav>`,
  );
  return pageShell({ locale, title: t(locale, 'home_title'), body: parts.join('\n'), css: HOME_CSS });
}
