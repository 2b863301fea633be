/**
 * HTML that escapes by default (lit-html / JSX style): every page is built with the `html` tagged
 * template, which escapes each interpolated value unless it is already SafeHtml. Markup that is not
 * built by `html` enters only through `unsafeRaw(markup, why)`, the one greppable way in, kept for
 * constant CSS and scripts; JSON for a <script> goes through `jsonForScript`.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or a quoted attribute value. Only this module calls it: pages use `html`. */
function escapeText(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const MINT = Symbol('SafeHtml');

/** Markup known to be safe: made by `html`, `unsafeRaw` or `jsonForScript`, never from a bare string. */
export class SafeHtml {
  readonly #markup: string;

  constructor(mint: symbol, markup: string) {
    if (mint !== MINT) throw new TypeError('SafeHtml is made by html`...`, unsafeRaw() or jsonForScript() only');
    this.#markup = markup;
  }

  toString(): string {
    return this.#markup;
  }
}

/** What may stand in a template: text (escaped), markup, lists of either, or nothing (null, undefined, false). */
export type HtmlValue = SafeHtml | string | number | bigint | null | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeText(String(value));
}

/** The tagged template: `html\`<p>${text}</p>\``; each value is escaped unless it is SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(MINT, out);
}

/** Values one after another with `separator` between them (a string separator is text, escaped). */
export function joinHtml(values: readonly HtmlValue[], separator: SafeHtml | string = ''): SafeHtml {
  return new SafeHtml(MINT, values.map(render).join(render(separator)));
}

/**
 * Markup taken as it is. For trusted constants only (a page's own CSS or script), never for anything
 * a merchant, buyer or provider sent; `why` says why this markup is safe, for the reviewer (and the
 * test that lists every use).
 */
export function unsafeRaw(markup: string, why: string): SafeHtml {
  if (!why.trim()) throw new TypeError('unsafeRaw needs a reason');
  return new SafeHtml(MINT, markup);
}

/**
 * A value as JSON inside <script>: `<`, `>`, `&` and U+2028/U+2029 become \u escapes, so no string in
 * it can close the script (`</script>`), open a comment (`<!--`) or end a JavaScript line.
 */
export function jsonForScript(value: unknown): SafeHtml {
  const json = JSON.stringify(value) ?? 'null';
  return new SafeHtml(
    MINT,
    json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
}

/** Only http(s) links go into an href; anything else (javascript:...) becomes inert. */
export function safeHref(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.toString() : null;
  } catch {
    return null;
  }
}

/**
 * A link target for a URL someone else gave (a shop's return URL on a simulator's page): an http(s)
 * URL as it was given, anything else (javascript:, data:, garbage) '#'.
 */
export function href(url: string | null | undefined): string {
  return url && safeHref(url) ? url : '#';
}
