import { html, joinHtml, unsafeRaw, type HtmlValue, type SafeHtml } from '../../core/html.ts';
import { curlFor } from './curl.ts';
import { SCHEMA_REF, type Json } from './document.ts';

/**
 * GET /docs: the OpenAPI document as a page for people. Server-rendered, no script, no external
 * resource (the route's Content-Security-Policy allows none).
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A path or dotted field name that may wrap at its separators, never inside a word. */
function breakable(text: string): SafeHtml {
  return joinHtml(text.split(/(?<=.)(?=[./[])/), html`<wbr>`);
}

/** Backticks in our prose become <code>; everything else is escaped. */
function prose(text: string | undefined): SafeHtml {
  // split with a capturing group: text at even places, what stood between backticks at odd ones.
  return html`${(text ?? '').split(/`([^`]+)`/).map((part, i) => (i % 2 ? html`<code>${part}</code>` : part))}`;
}

function resolve(schema: Json, components: Json): { schema: Json; name?: string } {
  if (typeof schema?.$ref === 'string' && schema.$ref.startsWith(SCHEMA_REF)) {
    const name = schema.$ref.slice(SCHEMA_REF.length);
    return { schema: components[name] ?? {}, name };
  }
  return { schema };
}

function typeLabel(schema: Json, components: Json): string {
  const { schema: s, name } = resolve(schema, components);
  if (name) return name;
  if (s.const !== undefined) return JSON.stringify(s.const);
  const variants: Json[] | undefined = s.anyOf ?? s.oneOf;
  if (variants) return [...new Set(variants.map((v) => typeLabel(v, components)))].join(' or ');
  if (Array.isArray(s.type)) return s.type.join(' or ');
  if (s.type === 'array') return `array of ${typeLabel(s.items ?? {}, components)}`;
  if (s.type === 'object' && !s.properties && s.additionalProperties && typeof s.additionalProperties === 'object') {
    return `map of ${typeLabel(s.additionalProperties, components)}`;
  }
  return s.type ?? 'any';
}

function constraints(schema: Json): string[] {
  // `X or null`: the constraints are X's.
  const variants: Json[] | undefined = schema.anyOf ?? schema.oneOf;
  const nonNull = variants?.filter((v) => v.type !== 'null');
  const s = nonNull?.length === 1 ? { ...nonNull[0], ...schema, anyOf: undefined, oneOf: undefined } : schema;
  const out: string[] = [];
  const range = (min: unknown, max: unknown, unit: string) => {
    const lo = typeof min === 'number' && min > -MAX_SAFE ? min : undefined;
    const hi = typeof max === 'number' && max < MAX_SAFE ? max : undefined;
    if (lo !== undefined && hi !== undefined) out.push(`${lo}–${hi}${unit}`);
    else if (lo !== undefined) out.push(`≥ ${lo}${unit}`);
    else if (hi !== undefined) out.push(`≤ ${hi}${unit}`);
  };
  range(s.minLength, s.maxLength, ' characters');
  range(s.minimum, s.maximum, '');
  range(s.minItems, s.maxItems, ' items');
  if (Array.isArray(s.enum)) out.push(`one of ${s.enum.map((v: unknown) => `\`${String(v)}\``).join(', ')}`);
  if (s.format) out.push(`format ${s.format}`);
  if (s.pattern) out.push(`pattern \`${s.pattern}\``);
  if (s.default !== undefined) out.push(`default \`${JSON.stringify(s.default)}\``);
  if (s.additionalProperties === false) out.push('no other fields');
  return out;
}

interface FieldRow {
  name: string;
  type: string;
  required: boolean;
  notes: string[];
}

/** A schema as one row per field, nested fields by dotted name (`items[].sku`, `action[type=redirect].url`). */
function fieldRows(schema: Json, components: Json, prefix = '', depth = 0): FieldRow[] {
  const { schema: s } = resolve(schema, components);
  if (depth > 6) return [];
  const variants: Json[] | undefined = s.anyOf ?? s.oneOf;
  if (variants) {
    return variants.flatMap((v) => {
      const inner = resolve(v, components).schema;
      const tag = Object.entries(inner.properties ?? {}).find(([, p]) => (p as Json).const !== undefined);
      const label = tag ? `[${tag[0]}=${String((tag[1] as Json).const)}]` : '';
      return inner.type === 'null' ? [] : fieldRows(v, components, prefix && label ? `${prefix.slice(0, -1)}${label}.` : prefix, depth + 1);
    });
  }
  if (s.type === 'array') return fieldRows(s.items ?? {}, components, prefix ? `${prefix.slice(0, -1)}[].` : '[].', depth + 1);
  if (!s.properties) return [];
  const required = new Set<string>(s.required ?? []);
  return Object.entries(s.properties as Json).flatMap(([key, prop]) => {
    const resolved = resolve(prop, components).schema;
    const row: FieldRow = {
      name: `${prefix}${key}`,
      type: typeLabel(prop, components),
      required: required.has(key),
      notes: [...(resolved.description ?? prop.description ? [String(prop.description ?? resolved.description)] : []), ...constraints(resolved)],
    };
    return [row, ...fieldRows(prop, components, `${prefix}${key}.`, depth + 1)];
  });
}

/** A table that scrolls sideways on its own on a narrow screen (and can be reached by keyboard to do so). */
function table(caption: string, headers: string[], rows: HtmlValue[][], options: { showCaption?: boolean } = {}): SafeHtml {
  return html`<div class="scroll" role="region" tabindex="0" aria-label="${caption}"><table><caption${options.showCaption ? '' : html` class="sr-only"`}>${caption}</caption>
<thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
<tbody>${joinHtml(rows.map(([head, ...cells]) => html`<tr><th scope="row">${head}</th>${cells.map((c) => html`<td>${c}</td>`)}</tr>`), '\n')}</tbody></table></div>`;
}

function fieldTable(schema: Json, components: Json, caption: string): SafeHtml {
  const rows = fieldRows(schema, components);
  if (rows.length === 0) return html`<p>${typeLabel(schema, components)}</p>`;
  return table(
    caption,
    ['Field', 'Type', 'Required', 'Notes'],
    rows.map((r) => [html`<code>${breakable(r.name)}</code>`, r.type, r.required ? 'yes' : 'no', joinHtml(r.notes.map(prose), '; ')]),
    { showCaption: true },
  );
}

function schemaLink(schema: Json, components: Json): SafeHtml | string {
  const { name } = resolve(schema, components);
  return name ? html`<a href="#schema-${name}">${name}</a>` : typeLabel(schema, components);
}

const PAGE_CSS = `
  :root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #fff; --panel: #f6f8fa; --line: #d0d7de; --link: #0b57d0; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9da7b3; --bg: #0d1117; --panel: #161b22; --line: #30363d; --link: #6ea8fe; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", "Noto Sans TC", sans-serif; color: var(--fg); background: var(--bg); }
  a { color: var(--link); }
  a:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
  .skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; }
  header { padding: 1.5rem 2rem; border-bottom: 1px solid var(--line); }
  header h1 { margin: 0 0 .25rem; font-size: 1.6rem; }
  .layout { display: grid; grid-template-columns: minmax(14rem, 20rem) 1fr; }
  nav { padding: 1rem 1.5rem; border-right: 1px solid var(--line); font-size: .92rem; position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto; }
  nav ul { list-style: none; padding: 0; margin: 0 0 1rem; } nav li { margin: .2rem 0; }
  nav h2 { font-size: 1rem; } nav h3 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 1rem 0 .3rem; }
  main { padding: 1rem 2rem 4rem; min-width: 0; }
  section > h2 { border-bottom: 1px solid var(--line); padding-bottom: .3rem; margin-top: 2.5rem; }
  article { border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; margin: 1.25rem 0; }
  article h3 { margin: 0 0 .4rem; font-size: 1.1rem; overflow-wrap: anywhere; }
  h4 { margin: 1.1rem 0 .4rem; font-size: .95rem; }
  .method { display: inline-block; min-width: 3.6rem; text-align: center; font: 700 .78rem/1.7 ui-monospace, Menlo, monospace; border-radius: 6px; padding: 0 .4rem; margin-right: .4rem; color: #fff; }
  .m-get { background: #1a7f37; } .m-post { background: #0b57d0; } .m-put, .m-patch { background: #9a6700; } .m-delete { background: #cf222e; }
  code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .88em; background: var(--panel); padding: .05rem .3rem; border-radius: 4px; }
  td code { overflow-wrap: anywhere; }
  dl.meta { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .2rem 1rem; margin: .6rem 0; } dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
  .scroll { overflow-x: auto; margin: .3rem 0; } .scroll:focus-visible { outline: 3px solid var(--link); }
  table { border-collapse: collapse; width: 100%; min-width: 34rem; font-size: .9rem; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  caption { text-align: left; color: var(--muted); font-size: .85rem; padding-bottom: .2rem; }
  th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
  thead th { background: var(--panel); }
  td:last-child { min-width: 16rem; }
  pre { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; overflow-x: auto; font-size: .85rem; line-height: 1.45; }
  pre code { background: none; padding: 0; }
  details { margin: .4rem 0; } summary { cursor: pointer; color: var(--muted); }
  @media (max-width: 800px) { .layout { display: block; } nav { position: static; max-height: none; border-right: none; border-bottom: 1px solid var(--line); } main { padding: 1rem; } }
`;

/** A JSON example as the page shows it. */
function exampleBlock(value: unknown): SafeHtml {
  return html`<pre><code>${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</code></pre>`;
}

/** Each documented answer's examples, folded away. */
function exampleAnswers(op: Json): SafeHtml | '' {
  const blocks = Object.entries(op.responses as Json).flatMap(([status, r]) =>
    Object.values((r as Json).content ?? {}).flatMap((content) =>
      Object.entries(((content as Json).examples ?? {}) as Json).map(
        ([name, example]) => html`<details><summary>Example answer ${status}${name === 'example' ? '' : html` (${prose((example as Json).summary ?? name)})`}</summary>${exampleBlock((example as Json).value)}</details>`,
      ),
    ),
  );
  return blocks.length ? html`<h4>Example answers</h4>${joinHtml(blocks, '\n')}` : '';
}

/** One webhook: its headers, its body schema and an example body. */
function webhookArticle(type: string, op: Json, components: Json): SafeHtml {
  const content = op.requestBody.content['application/json'];
  const example = Object.values(content.examples as Json)[0] as Json;
  const headers = (op.parameters as Json[]).map((p) => [html`<code>${p.name}</code>`, p.required ? 'yes' : 'no', prose(p.description ?? '')]);
  return html`<article id="webhook-${type}" aria-labelledby="webhook-${type}-title"><h3 id="webhook-${type}-title"><span class="method m-post">POST</span><code>${breakable(type)}</code></h3>
<p><strong>${prose(op.summary)}</strong></p>
<p>${prose(op.description)}</p>
<h4>Headers</h4>${table(`Headers of ${type}`, ['Header', 'Required', 'Notes'], headers)}
<h4>Body</h4><p>${schemaLink(content.schema, components)}</p>
<details><summary>Example body</summary>${exampleBlock(example.value)}</details></article>`;
}

export function renderDocsPage(document: Json): SafeHtml {
  const components: Json = document.components.schemas;
  const ops: { tag: string; method: string; path: string; op: Json }[] = [];
  for (const [path, item] of Object.entries(document.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) ops.push({ tag: op.tags[0], method, path, op });
  }
  const anchor = (op: Json) => `op-${op.operationId}`;
  const badge = (method: string) => html`<span class="method m-${method}">${method.toUpperCase()}</span>`;
  const tags = (document.tags as { name: string; description: string }[]).filter((t) => ops.some((o) => o.tag === t.name));

  const nav = joinHtml(
    tags.map((t) => html`<h3>${t.name}</h3><ul>${ops
      .filter((o) => o.tag === t.name)
      .map((o) => html`<li><a href="#${anchor(o.op)}">${badge(o.method)}<code>${breakable(o.path)}</code></a></li>`)}</ul>`),
    '\n',
  );

  const article = ({ method, path, op }: (typeof ops)[number]): SafeHtml => {
    const parts: (SafeHtml | '')[] = [
      html`<h3 id="${anchor(op)}-title">${badge(method)}<code>${breakable(path)}</code></h3>`,
      html`<p><strong>${prose(op.summary)}</strong></p>`,
      op.description ? html`<p>${prose(op.description)}</p>` : '',
      html`<dl class="meta"><dt>Auth</dt><dd>${prose(op['x-paygate-auth'])}</dd><dt>Operation id</dt><dd><code>${op.operationId}</code></dd></dl>`,
    ];
    const params: Json[] = (op.parameters ?? []).map((p: Json) => (p.$ref ? document.components.parameters[p.$ref.split('/').pop()] : p));
    if (params.length) {
      parts.push(
        html`<h4>Parameters</h4>${table(
          `Parameters of ${op.operationId}`,
          ['Name', 'In', 'Type', 'Required', 'Notes'],
          params.map((p) => [html`<code>${p.name}</code>`, p.in, typeLabel(p.schema, components), p.required ? 'yes' : 'no', joinHtml([p.description, ...constraints(p.schema)].filter(Boolean).map(prose), '; ')]),
        )}`,
      );
    }
    if (op.requestBody) {
      const [media, content] = Object.entries(op.requestBody.content as Json)[0]!;
      parts.push(html`<h4>Request body</h4><p><code>${media}</code>, ${op.requestBody.required ? 'required' : 'optional'}${op.requestBody.description ? html`: ${prose(op.requestBody.description)}` : ''}</p>`);
      if (media === 'application/json') parts.push(fieldTable(content.schema, components, `Fields of ${typeLabel(content.schema, components)}`));
    }
    const responses = Object.entries(op.responses as Json).map(([status, r]) => {
      const [media, content] = Object.entries((r.content ?? {}) as Json)[0] ?? [];
      const body = media ? (media === 'application/json' && content.schema.$ref ? schemaLink(content.schema, components) : html`<code>${media}</code>`) : '—';
      return [status, prose(r.description), body];
    });
    parts.push(html`<h4>Responses</h4>${table(`Responses of ${op.operationId}`, ['Status', 'Meaning', 'Body'], responses)}`);
    parts.push(html`<h4>Try it</h4><pre class="curl" aria-label="curl for ${op.operationId}"><code>${curlFor(document, path, method, op)}</code></pre>`);
    parts.push(exampleAnswers(op));
    return html`<article id="${anchor(op)}" aria-labelledby="${anchor(op)}-title">${joinHtml(parts, '\n')}</article>`;
  };

  const webhookTypes = Object.entries((document.webhooks ?? {}) as Json);
  const webhooks = webhookTypes.length
    ? html`<section aria-labelledby="webhooks"><h2 id="webhooks">Webhooks</h2><p>What paygate POSTs to your webhook URL, one event per change of a payment. Verify <code>Paygate-Signature</code> before you trust a body.</p>
${joinHtml(webhookTypes.map(([type, item]) => webhookArticle(type, (item as Json).post, components)), '\n')}</section>`
    : '';
  const sections = joinHtml(
    tags.map((t) => html`<section aria-labelledby="tag-${t.name.replace(/\W+/g, '-')}"><h2 id="tag-${t.name.replace(/\W+/g, '-')}">${t.name}</h2><p>${prose(t.description)}</p>${joinHtml(ops
      .filter((o) => o.tag === t.name)
      .map(article), '\n')}</section>`),
    '\n',
  );
  const schemas = joinHtml(
    Object.entries(components).map(([name, schema]) => html`<article id="schema-${name}"><h3>${name}</h3>${fieldTable(schema, components, `Fields of ${name}`)}</article>`),
    '\n',
  );

  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${document.info.title} API</title>
<style>${unsafeRaw(PAGE_CSS, 'constant CSS of the docs page')}</style>
</head>
<body>
<a class="skip" href="#main">Skip to the operations</a>
<header>
<h1>${document.info.title} API <small>(${document.info.version})</small></h1>
<p>${prose(document.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${document.openapi}).</p>
</header>
<div class="layout">
<nav aria-label="Operations"><h2>Operations</h2>${nav}${webhookTypes.length ? html`<h3>Webhooks</h3><ul>${webhookTypes.map(([type]) => html`<li><a href="#webhook-${type}"><code>${breakable(type)}</code></a></li>`)}</ul>` : ''}<h3>Schemas</h3><ul>${Object.keys(components).map((name) => html`<li><a href="#schema-${name}">${name}</a></li>`)}</ul></nav>
<main id="main">
${sections}
${webhooks}
<section aria-labelledby="schemas"><h2 id="schemas">Schemas</h2>${schemas}</section>
</main>
</div>
</body>
</html>`;
}
