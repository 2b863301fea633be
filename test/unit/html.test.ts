/** core/html.ts: escape by default, raw markup only through unsafeRaw, and a repo-wide check of both. */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { href, html, joinHtml, jsonForScript, safeHref, SafeHtml, unsafeRaw } from '../../core/html.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('text is escaped: & < > " \' each become an entity', (t) => {
  t.is(html`<p>${`a & b <c> "d" 'e'`}</p>`.toString(), '<p>a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39;</p>');
});

test('an attribute value cannot be left: quotes of either kind are escaped', (t) => {
  const evil = `x" onmouseover="alert(1)`;
  t.is(html`<a title="${evil}">`.toString(), '<a title="x&quot; onmouseover=&quot;alert(1)">');
  t.is(html`<a title='${"x' onclick='y"}'>`.toString(), "<a title='x&#39; onclick=&#39;y'>");
});

test('SafeHtml nests without being escaped again; strings never count as markup', (t) => {
  const inner = html`<b>${'<i>'}</b>`;
  t.is(html`<p>${inner}</p>`.toString(), '<p><b>&lt;i&gt;</b></p>');
  t.is(html`<p>${'<b>bold</b>'}</p>`.toString(), '<p>&lt;b&gt;bold&lt;/b&gt;</p>');
  // Something that only looks like SafeHtml (an object with toString) is text, escaped.
  const fake = { toString: () => '<script>x</script>' } as unknown as string;
  t.is(html`${fake}`.toString(), '&lt;script&gt;x&lt;/script&gt;');
});

test('arrays join with nothing between; their strings are escaped, their SafeHtml kept', (t) => {
  t.is(html`<ul>${['<a>', html`<li>1</li>`, ['&', html`<li>2</li>`]]}</ul>`.toString(), '<ul>&lt;a&gt;<li>1</li>&amp;<li>2</li></ul>');
  t.is(joinHtml([html`<li>1</li>`, 'a<b'], '\n').toString(), '<li>1</li>\na&lt;b');
  t.is(joinHtml(['a', 'b'], html`<br>`).toString(), 'a<br>b');
  t.is(joinHtml(['a', 'b'], '<br>').toString(), 'a&lt;br&gt;b', 'a string separator is text');
});

test('null, undefined and false render as nothing; numbers as themselves', (t) => {
  t.is(html`[${null}${undefined}${false}${0}${12.5}${10n}${''}]`.toString(), '[012.510]');
});

test('SafeHtml cannot be made from a string except through unsafeRaw (with a reason)', (t) => {
  t.throws(() => new SafeHtml(Symbol('SafeHtml'), '<script>'), { instanceOf: TypeError });
  t.is(html`<style>${unsafeRaw('a > b { color: "red" }', 'constant CSS')}</style>`.toString(), '<style>a > b { color: "red" }</style>');
  t.throws(() => unsafeRaw('<b>', '  '), { instanceOf: TypeError });
});

test('jsonForScript: no string inside can close the script, open a comment or end a line', (t) => {
  const value = { a: '</script><script>alert(1)</script>', b: '<!-- x -->', c: 'a & b', d: '\u2028\u2029', e: "'\"" };
  const out = jsonForScript(value).toString();
  t.false(/<\/script/i.test(out));
  t.false(out.includes('<!--'));
  t.false(/[<>&\u2028\u2029]/.test(out));
  t.deepEqual(JSON.parse(out), value, 'still JSON that means the same');
  // eslint-disable-next-line no-new-func
  t.deepEqual(new Function(`return ${out};`)(), value, 'and JavaScript that means the same');
  t.is(jsonForScript(undefined).toString(), 'null');
});

test('safeHref and href: only http(s)', (t) => {
  t.is(safeHref('https://shop.example/a?b=1&c=2'), 'https://shop.example/a?b=1&c=2');
  t.is(safeHref('javascript:alert(1)'), null);
  t.is(safeHref(' JavaScript:alert(1)'), null);
  t.is(safeHref('data:text/html,<script>'), null);
  t.is(safeHref('/relative'), null);
  t.is(safeHref(null), null);
  t.is(href('javascript:alert(1)'), '#');
  t.is(href('/relative'), '#');
  t.is(href('https://shop.example/a b'), 'https://shop.example/a b', 'an http(s) URL as it was given');
  t.is(html`<a href="${href('https://x.example/"><b>')}">`.toString(), '<a href="https://x.example/&quot;&gt;&lt;b&gt;">');
});

/** Every .ts file under core/, server/, providers/. */
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(path);
      } else if (entry.name.endsWith('.ts')) out.push(path);
    }
  };
  for (const top of ['core', 'server', 'providers']) walk(join(ROOT, top));
  return out;
}

test('no escape helper outside core/html.ts: pages escape through html`...` only', (t) => {
  const offenders: string[] = [];
  for (const file of sources()) {
    const rel = relative(ROOT, file);
    if (rel === join('core', 'html.ts')) continue;
    const text = readFileSync(file, 'utf8');
    text.split('\n').forEach((line, i) => {
      if (/\b(escapeHtml|escapeText)\s*\(/.test(line) || /\bfunction\s+\w*[eE]scape\w*Html\w*\s*\(/.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  t.deepEqual(offenders, []);
  t.true(sources().length > 50, 'the walk found the sources');
});

test('every use of unsafeRaw is listed here and gives a reason', (t) => {
  const uses: string[] = [];
  for (const file of sources()) {
    const rel = relative(ROOT, file);
    if (rel === join('core', 'html.ts')) continue; // where it is defined
    const text = readFileSync(file, 'utf8');
    const re = /unsafeRaw\(/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const before = text.slice(Math.max(0, m.index - 9), m.index);
      if (/function\s$/.test(before) || /\*\s*$/.test(text.slice(text.lastIndexOf('\n', m.index), m.index))) continue; // the definition, a comment
      const line = text.slice(0, m.index).split('\n').length;
      // The reason: the second argument, a string literal that is not blank.
      let depth = 0;
      let i = m.index + 'unsafeRaw('.length;
      let quote: string | null = null;
      let second = -1;
      for (; i < text.length; i++) {
        const c = text[i]!;
        if (quote) {
          if (c === '\\') i++;
          else if (c === quote) quote = null;
          continue;
        }
        if (c === "'" || c === '"' || c === '`') quote = c;
        else if (c === '(' || c === '[' || c === '{') depth++;
        else if (c === ')' || c === ']' || c === '}') {
          if (depth === 0) break;
          depth--;
        } else if (c === ',' && depth === 0) second = i + 1;
      }
      const reason = second < 0 ? '' : text.slice(second, i).trim();
      t.regex(reason, /^(['"`]).*\S.*\1$/s, `${rel}:${line}: unsafeRaw needs a reason as a string literal`);
      uses.push(`${rel}:${line} ${reason}`);
    }
  }
  t.log(`unsafeRaw uses (${uses.length}):\n${uses.join('\n')}`);
  t.true(uses.length > 0);
  // A new use is a decision someone should see: this list changes with it.
  t.deepEqual(
    uses.map((u) => u.split(':')[0]).sort(),
    [
      'providers/alipay/simulator/pages.ts',
      'providers/kit/sim-page.ts',
      'providers/sinopac/simulator/pages.ts',
      'server/admin/views/order.ts',
      'server/openapi/page.ts',
      'server/views/checkout-page.ts',
      'server/views/checkout-page.ts',
      'server/views/home-page.ts',
      'server/views/page.ts',
      'server/views/result-page.ts',
    ],
  );
});
