/**
 * Crypto on every core (worker_threads): the RSA2 and SinoPac floors, and signing the notify bodies
 * the load sends (RSA2 signing is ~1,500/s per core here, so tens of thousands of distinct notifies
 * are signed on all cores before each run, never during one).
 *
 * The worker is plain JavaScript evaluated from a string: Node 20 does not run the tsx loader in
 * worker threads. Its signing follows providers/alipay/simulator/sign.ts (signNotify) and its SinoPac
 * step follows providers/sinopac/crypto.ts; run.ts checks the first against the original.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const { createSign, createVerify, createPrivateKey, createPublicKey, createHash, createCipheriv } = require('node:crypto');
const privateKey = createPrivateKey(workerData.privateKeyPem);
const publicKey = createPublicKey(workerData.publicKeyPem);

// providers/alipay/simulator/sign.ts: every parameter but sign and sign_type, empties skipped, sorted by code unit.
function signNotify(params) {
  const out = {};
  for (const [k, v] of Object.entries(params)) if (v !== '' && k !== 'sign') out[k] = v;
  out.sign_type = 'RSA2';
  const content = Object.keys(out).filter((k) => k !== '' && k !== 'sign' && k !== 'sign_type' && out[k] !== '').sort().map((k) => k + '=' + out[k]).join('&');
  out.sign = createSign('RSA-SHA256').update(content, 'utf8').sign(privateKey, 'base64');
  return out;
}

// providers/sinopac/crypto.ts: Sign = SHA-256(signString + nonce + HashID); Message = AES-256-CBC(JSON), IV from the nonce.
const hashId = workerData.sinopacHashId;
function sinopacSealOnce(message, nonce) {
  const pairs = Object.entries(message).filter(([, v]) => v !== null && typeof v !== 'object' && String(v).trim() !== '')
    .map(([k, v]) => [k, String(v)]).sort(([a], [b]) => (a.toUpperCase() < b.toUpperCase() ? -1 : a.toUpperCase() > b.toUpperCase() ? 1 : 0));
  const sign = createHash('sha256').update(pairs.map(([k, v]) => k + '=' + v).join('&') + nonce + hashId, 'utf8').digest('hex').toUpperCase();
  const iv = createHash('sha256').update(nonce, 'utf8').digest('hex').toUpperCase().slice(-16);
  const cipher = createCipheriv('aes-256-cbc', Buffer.from(hashId, 'ascii'), Buffer.from(iv, 'ascii'));
  const hex = Buffer.concat([cipher.update(JSON.stringify(message), 'utf8'), cipher.final()]).toString('hex').toUpperCase();
  return sign.length + hex.length;
}

parentPort.on('message', (task) => {
  if (task.op === 'sign') {
    parentPort.postMessage({ bodies: task.items.map((p) => new URLSearchParams(signNotify(p)).toString()) });
    return;
  }
  const text = task.sample;
  const signature = createSign('RSA-SHA256').update(text, 'utf8').sign(privateKey, 'base64');
  const message = task.message;
  let count = 0;
  const end = performance.now() + task.ms;
  while (performance.now() < end) {
    for (let i = 0; i < 8; i++) {
      if (task.op === 'rsa-sign') createSign('RSA-SHA256').update(text, 'utf8').sign(privateKey, 'base64');
      else if (task.op === 'rsa-verify') { if (!createVerify('RSA-SHA256').update(text, 'utf8').verify(publicKey, signature, 'base64')) throw new Error('verify failed'); }
      else sinopacSealOnce(message, 'NONCE' + count + i);
    }
    count += 8;
  }
  parentPort.postMessage({ count });
});
`;

export type CryptoFloorOp = 'rsa-sign' | 'rsa-verify' | 'sinopac';

export interface CryptoPoolKeys {
  /** PKCS#8 PEM: signs notifies (the "Alipay" key) and the RSA floors. */
  privateKeyPem: string;
  publicKeyPem: string;
  /** A SinoPac HashID (32 ASCII characters) for the AES+Sign floor. */
  sinopacHashId: string;
}

interface Slot {
  worker: Worker;
  busy: Promise<unknown>;
}

/** One worker per core; tasks are spread round robin. */
export class CryptoPool {
  readonly size: number;
  private readonly slots: Slot[];

  constructor(keys: CryptoPoolKeys, size = availableParallelism()) {
    this.size = size;
    this.slots = Array.from({ length: size }, () => ({
      worker: new Worker(WORKER_SOURCE, { eval: true, workerData: keys, execArgv: [] }),
      busy: Promise.resolve(),
    }));
  }

  private run<T>(slot: Slot, task: unknown): Promise<T> {
    const result = slot.busy.then(
      () =>
        new Promise<T>((resolve, reject) => {
          const onMessage = (m: T) => {
            slot.worker.off('error', onError);
            resolve(m);
          };
          const onError = (err: Error) => {
            slot.worker.off('message', onMessage);
            reject(err);
          };
          slot.worker.once('message', onMessage);
          slot.worker.once('error', onError);
          slot.worker.postMessage(task);
        }),
    );
    slot.busy = result.catch(() => undefined);
    return result;
  }

  /**
   * Operations per second of `op` on `threads` workers at once, each looping for `ms`.
   * `sample` is the text RSA signs or verifies; `message` the object SinoPac seals.
   */
  async floor(op: CryptoFloorOp, threads: number, ms: number, sample: string, message: Record<string, unknown>): Promise<number> {
    const started = performance.now();
    const counts = await Promise.all(this.slots.slice(0, threads).map((slot) => this.run<{ count: number }>(slot, { op, ms, sample, message })));
    const seconds = (performance.now() - started) / 1000;
    return counts.reduce((sum, c) => sum + c.count, 0) / seconds;
  }

  /** Signs notify parameter sets as Alipay would; returns form-encoded bodies, in order. */
  async signNotifies(items: readonly Record<string, string>[]): Promise<string[]> {
    const chunk = 500;
    const parts: Promise<{ bodies: string[] }>[] = [];
    for (let i = 0, n = 0; i < items.length; i += chunk, n++) {
      parts.push(this.run(this.slots[n % this.size]!, { op: 'sign', items: items.slice(i, i + chunk) }));
    }
    return (await Promise.all(parts)).flatMap((p) => p.bodies);
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
