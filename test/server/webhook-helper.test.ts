/**
 * The merchant's side of webhooks: the `paygate/webhook` helper run by plain `node` in both module
 * systems against signatures made by core/webhook-signature.ts, and the test vector and the
 * Python/PHP examples of docs/webhooks.md held to the real signer.
 */
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { readFile, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { signWebhook, verifyWebhook } from '../../core/webhook-signature.ts';

const run = promisify(execFile);
const NOW = Date.UTC(2026, 11, 3, 8, 0, 0);
const T = Math.floor(NOW / 1000);
const SECRET = 'whsec_FAKE_helper_test_secret_0000';
const OLD = 'whsec_FAKE_helper_test_old_secret_00';
const BODY = JSON.stringify({ id: 'evt_helper', type: 'payment.paid', data: { payment: { id: 'pay_helper', subject: '茶葉禮盒', amount: 79900 } } });

function cases() {
  const good = signWebhook(BODY, SECRET, T);
  const both = signWebhook(BODY, [SECRET, OLD], T);
  return [
    { name: 'real signature', body: BODY, header: good, secret: SECRET, now: NOW, ok: true },
    { name: 'raw bytes as a Buffer', bodyBase64: Buffer.from(BODY, 'utf8').toString('base64'), body: BODY, header: good, secret: SECRET, now: NOW, ok: true },
    { name: 'tampered body', body: BODY.replace('79900', '79901'), header: good, secret: SECRET, now: NOW, ok: false, reason: 'no signature matches the body' },
    { name: 'wrong secret', body: BODY, header: good, secret: 'whsec_FAKE_someone_else', now: NOW, ok: false, reason: 'no signature matches the body' },
    { name: 'stale timestamp', body: BODY, header: good, secret: SECRET, now: NOW + 301_000, ok: false, reason: 'timestamp outside the tolerance' },
    { name: 'at the edge of the tolerance', body: BODY, header: good, secret: SECRET, now: NOW + 300_000, ok: true },
    { name: 'timestamp from the future', body: BODY, header: good, secret: SECRET, now: NOW - 301_000, ok: false, reason: 'timestamp outside the tolerance' },
    { name: 'two v1 values, new secret', body: BODY, header: both, secret: SECRET, now: NOW, ok: true },
    { name: 'two v1 values, old secret', body: BODY, header: both, secret: OLD, now: NOW, ok: true },
    { name: 'missing header', body: BODY, header: undefined, secret: SECRET, now: NOW, ok: false, reason: 'missing signature header' },
  ];
}

for (const file of ['check.cjs', 'check.mjs']) {
  test(`paygate/webhook from plain node (${file}) verifies real signatures and refuses bad ones`, async (t) => {
    const all = cases();
    // Plain node: no tsx, no loader; `paygate/webhook` resolves through package.json "exports".
    const { stdout } = await run(process.execPath, [join('test/fixtures/webhook-helper', file), JSON.stringify(all)], { env: { PATH: process.env.PATH ?? '' } });
    const out = JSON.parse(stdout) as { system: string; header: string; results: { ok: boolean; reason?: string; timestamp?: number }[]; made: string; sameFunctions?: boolean };
    t.is(out.system, file.endsWith('.cjs') ? 'commonjs' : 'esm');
    t.is(out.header, 'Paygate-Signature');
    all.forEach((c, i) => {
      t.is(out.results[i]!.ok, c.ok, c.name);
      if (!c.ok) t.is(out.results[i]!.reason, c.reason, c.name);
      else t.is(out.results[i]!.timestamp, T, c.name);
    });
    t.is(out.made, signWebhook(BODY, SECRET, T), 'generateTestHeader makes what paygate sends');
    if (file.endsWith('.mjs')) t.true(out.sameFunctions, 'the default export and the named ones are the same functions');
  });
}

test('the package exports paygate/webhook with types, import and require', async (t) => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { name: string; exports: Record<string, Record<string, string>> };
  t.is(pkg.name, 'paygate');
  t.deepEqual(Object.keys(pkg.exports['./webhook']!), ['types', 'import', 'require'], 'types first, as TypeScript requires');
});

interface Vector {
  secret: string;
  t: number;
  body: string;
  header: string;
  previousSecret: string;
  rotationHeader: string;
}

async function docsVector(): Promise<{ vector: Vector; doc: string }> {
  const doc = await readFile('docs/webhooks.md', 'utf8');
  const section = doc.slice(doc.indexOf('### Test vector'), doc.indexOf('## Rotating the secret'));
  const blocks = [...section.matchAll(/```text\n([^\n]*)\n```/g)].map((m) => m[1]!);
  return {
    doc,
    vector: {
      secret: /- secret: `([^`]+)`/.exec(section)![1]!,
      t: Number(/- t: `(\d+)`/.exec(section)![1]),
      body: blocks[0]!,
      header: blocks[1]!,
      previousSecret: /previous secret `([^`]+)`/.exec(section)![1]!,
      rotationHeader: blocks[2]!,
    },
  };
}

test('the test vector in docs/webhooks.md is what the real signer makes', async (t) => {
  const { vector, doc } = await docsVector();
  t.regex(vector.secret, /^whsec_FAKE_/, 'the secret is clearly fake');
  t.is(Buffer.byteLength(vector.body, 'utf8'), Number(/\((\d+) bytes/.exec(doc)![1]), 'the stated byte count is the body’s');
  t.is(signWebhook(vector.body, vector.secret, vector.t), vector.header);
  t.is(signWebhook(vector.body, [vector.secret, vector.previousSecret], vector.t), vector.rotationHeader);
  t.true(verifyWebhook(vector.body, vector.header, vector.secret, { now: new Date(vector.t * 1000) }).ok);
  t.true(doc.includes(`Paygate-Signature: ${vector.header}`), 'the example request shows the vector’s header');
  const readme = await readFile('README.md', 'utf8');
  t.true(readme.includes('docs/webhooks.md'), 'the README links the webhook docs');
});

/** The docs' example in `language`, run by `command` with `call` appended, against the vector. */
async function runDocsExample(t: import('ava').ExecutionContext, language: 'python' | 'php', command: string, call: (v: Vector) => string): Promise<void> {
  const { vector, doc } = await docsVector();
  const code = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(doc)![1]!;
  const dir = await mkdtemp(join(tmpdir(), 'paygate-docs-'));
  try {
    const file = join(dir, language === 'python' ? 'verify.py' : 'verify.php');
    await writeFile(file, (language === 'php' ? '<?php\n' : '') + code + '\n' + call(vector));
    const { stdout } = await run(command, [file]);
    t.is(stdout.trim(), 'valid:true tampered:false stale:false future:false rotation-old:true rotation-new:true', `${language} example`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const has = (command: string) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;

if (has('python3')) {
  test('the Python example in docs/webhooks.md accepts the vector and refuses tampering and stale or future timestamps', (t) =>
    runDocsExample(t, 'python', 'python3', (v) => {
      const args = (body: string, header: string, secret: string, now: number) => `${JSON.stringify(body)}.encode("utf-8"), ${JSON.stringify(header)}, ${JSON.stringify(secret)}, now=${now}`;
      const line = (label: string, a: string) => `"${label}:" + str(paygate_verify(${a})).lower()`;
      return `print(" ".join([${[
        line('valid', args(v.body, v.header, v.secret, v.t)),
        line('tampered', args(v.body.replace('79900', '79901'), v.header, v.secret, v.t)),
        line('stale', args(v.body, v.header, v.secret, v.t + 301)),
        line('future', args(v.body, v.header, v.secret, v.t - 301)),
        line('rotation-old', args(v.body, v.rotationHeader, v.previousSecret, v.t)),
        line('rotation-new', args(v.body, v.rotationHeader, v.secret, v.t)),
      ].join(', ')}]))\n`;
    }));
} else {
  test.skip('the Python example in docs/webhooks.md — skipped: python3 is not installed here', () => {});
}

if (has('php')) {
  test('the PHP example in docs/webhooks.md accepts the vector and refuses tampering and stale or future timestamps', (t) =>
    runDocsExample(t, 'php', 'php', (v) => {
      const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
      const c = (label: string, body: string, header: string, secret: string, now: number) =>
        `'${label}:' . (paygate_verify(${q(body)}, ${q(header)}, ${q(secret)}, 300, ${now}) ? 'true' : 'false')`;
      return `echo implode(' ', [${[
        c('valid', v.body, v.header, v.secret, v.t),
        c('tampered', v.body.replace('79900', '79901'), v.header, v.secret, v.t),
        c('stale', v.body, v.header, v.secret, v.t + 301),
        c('future', v.body, v.header, v.secret, v.t - 301),
        c('rotation-old', v.body, v.rotationHeader, v.previousSecret, v.t),
        c('rotation-new', v.body, v.rotationHeader, v.secret, v.t),
      ].join(', ')}]), "\\n";\n`;
    }));
} else {
  test.skip('the PHP example in docs/webhooks.md — skipped: php is not installed here', () => {});
}
