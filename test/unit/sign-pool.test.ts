/**
 * providers/kit/sign-pool.ts: signatures made on worker threads equal node:crypto's on this thread;
 * the pool starts on the first signature, is sized to the cores, never keeps a process alive, closes
 * and starts again, and falls back to this thread (with a log line) when its workers die.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createPublicKey, createVerify, generateKeyPairSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../../core/logger.ts';
import { SignPool, signInThread } from '../../providers/kit/sign-pool.ts';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKey = createPublicKey(privateKey);

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: (_o, m) => lines.push(`debug ${m}`),
    info: (_o, m) => lines.push(`info ${m}`),
    warn: (_o, m) => lines.push(`warn ${m}`),
    error: (_o, m) => lines.push(`error ${m}`),
    child: () => logger,
  };
  return logger;
}

test('signatures from the threads are node:crypto\'s; lazy start, sized to the cores, close and start again', async (t) => {
  const pool = new SignPool();
  t.is(pool.size, Math.max(1, availableParallelism()));
  t.is(pool.threads, 0, 'nothing starts before the first signature');
  const texts = Array.from({ length: 40 }, (_, i) => `app_id=2021&biz_content={"n":${i},"s":"西湖龙井 & \\"x\\""}&method=alipay.trade.page.pay`);
  const signed = await Promise.all(texts.map((text) => pool.sign('RSA-SHA256', privateKey, text)));
  t.is(pool.threads, pool.size);
  texts.forEach((text, i) => {
    // RSA PKCS#1 v1.5 is deterministic: the same bytes as on this thread.
    t.is(signed[i], signInThread('RSA-SHA256', privateKey, text));
    t.true(createVerify('RSA-SHA256').update(text, 'utf8').verify(publicKey, signed[i]!, 'base64'));
  });
  t.is(await pool.sign('RSA-SHA1', privateKey, 'x'), signInThread('RSA-SHA1', privateKey, 'x'));
  await t.throwsAsync(pool.sign('NO-SUCH-DIGEST', privateKey, 'x'), { message: /^signature failed: / });
  await pool.close();
  t.is(pool.threads, 0);
  t.is(await pool.sign('RSA-SHA256', privateKey, 'again'), signInThread('RSA-SHA256', privateKey, 'again'));
  t.is(pool.threads, pool.size, 'a closed pool starts again when asked');
  await pool.close();
});

test('close waits for signatures in flight', async (t) => {
  const pool = new SignPool({ size: 1 });
  const pending = Array.from({ length: 10 }, (_, i) => pool.sign('RSA-SHA256', privateKey, `t${i}`));
  await pool.close();
  t.deepEqual(await Promise.all(pending), Array.from({ length: 10 }, (_, i) => signInThread('RSA-SHA256', privateKey, `t${i}`)));
});

test('an idle pool never keeps the process alive (the worker threads are unref\'d)', (t) => {
  const url = pathToFileURL(resolve(import.meta.dirname, '../../providers/kit/sign-pool.ts')).href;
  const script = `
    import { generateKeyPairSync } from 'node:crypto';
    const { SignPool } = await import(${JSON.stringify(url)});
    const pool = new SignPool({ size: 2 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const sig = await pool.sign('RSA-SHA256', privateKey, 'x');
    console.log(pool.threads, sig.length > 0);
  `;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), '2 true', 'both threads ran, and the process ended without close()');
  t.true(Date.now() - started < 30_000);
});

test('a worker that dies leaves no signature unmade: they are made on this thread, and after repeated deaths the pool stays off', async (t) => {
  const lines: string[] = [];
  // A worker that takes the first message and exits without answering.
  const pool = new SignPool({ size: 1, logger: recordingLogger(lines), workerSource: `require('node:worker_threads').parentPort.once('message', () => process.exit(3));` });
  for (let i = 0; i < 4; i++) {
    const texts = [`a${i}`, `b${i}`];
    const signed = await Promise.all(texts.map((text) => pool.sign('RSA-SHA256', privateKey, text)));
    t.deepEqual(signed, texts.map((text) => signInThread('RSA-SHA256', privateKey, text)));
  }
  t.false(pool.enabled, 'three deaths: the pool gave up');
  t.is(pool.threads, 0);
  t.true(lines.some((l) => l.startsWith('warn a sign pool worker died')));
  t.true(lines.some((l) => l.startsWith('error sign pool workers keep dying')));
  t.is(await pool.sign('RSA-SHA256', privateKey, 'later'), signInThread('RSA-SHA256', privateKey, 'later'));
  await pool.close();
});

test('a worker that cannot even load is the same: signatures on this thread, with a log line', async (t) => {
  const lines: string[] = [];
  const pool = new SignPool({ size: 2, logger: recordingLogger(lines), workerSource: 'throw new Error("no worker today")' });
  const signed = await Promise.all(['x', 'y', 'z'].map((text) => pool.sign('RSA-SHA256', privateKey, text)));
  t.deepEqual(signed, ['x', 'y', 'z'].map((text) => signInThread('RSA-SHA256', privateKey, text)));
  t.true(lines.some((l) => /sign pool/.test(l)));
  await pool.close();
});
