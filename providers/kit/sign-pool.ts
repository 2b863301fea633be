/**
 * RSA (or any node:crypto) signatures off the event loop: a pool of worker threads, one per core
 * (os.availableParallelism()), started on the first signature, that never keeps a process alive
 * while idle. An RSA-2048 signature costs about a millisecond of CPU; on the event loop that
 * millisecond is every other request's latency too.
 *
 * The worker is a few lines of plain JavaScript evaluated from a string, not a module file: it runs
 * the same under `node --import=tsx`, from dist/ and from the installed package, loads neither tsx
 * nor TypeScript (execArgv is empty), and needs no file resolution. Keys travel as KeyObjects
 * (node:crypto clones them between threads as handles to the same key, never as text), so no key
 * material is serialised into a message.
 *
 * Failure never fails a signature: if the pool cannot start, or a worker dies with signatures in
 * flight, those are made on this thread instead (signing is pure, repeating it is safe), with a log
 * line; after repeated deaths the pool stays off and everything is signed in-thread.
 */
import { createSign, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../core/logger.ts';
import { silentLogger } from '../../core/logger.ts';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createSign } = require('node:crypto');
parentPort.on('message', (task) => {
  let signature = null;
  let error = null;
  try {
    signature = createSign(task.algorithm).update(task.data, 'utf8').sign(task.key, 'base64');
  } catch (err) {
    error = String((err && err.message) || err);
  }
  parentPort.postMessage({ id: task.id, signature, error });
});
`;

interface Task {
  id: number;
  algorithm: string;
  key: KeyObject;
  data: string;
  resolve: (signature: string) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Task>;
}

/** Worker deaths after which the pool gives up and signs in-thread for good. */
const MAX_DEATHS = 3;

export interface SignPoolOptions {
  /** Worker threads; default os.availableParallelism(), at least 1. */
  size?: number;
  logger?: Logger;
  /** The worker's JavaScript (tests hand in a broken one to see the fallback). */
  workerSource?: string;
}

/** One signature on this thread: what a worker does, and the fallback. */
export function signInThread(algorithm: string, key: KeyObject, data: string): string {
  return createSign(algorithm).update(data, 'utf8').sign(key, 'base64');
}

export class SignPool {
  readonly size: number;
  private logger: Logger;
  private readonly source: string;
  private slots: Slot[] = [];
  private nextId = 1;
  private deaths = 0;
  /** Off: the pool could not start or kept dying; every signature is made in-thread. */
  private off = false;
  private closing: Promise<void> | null = null;

  constructor(options: SignPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? availableParallelism()));
    this.logger = options.logger ?? silentLogger;
    this.source = options.workerSource ?? WORKER_SOURCE;
  }

  /** Where the pool's own log lines go (the first logger handed to the shared pool wins). */
  useLogger(logger: Logger): void {
    if (this.logger === silentLogger) this.logger = logger;
  }

  /** Whether signatures go to worker threads from now on (false once the pool gave up). */
  get enabled(): boolean {
    return !this.off;
  }

  /** Threads started and alive now. */
  get threads(): number {
    return this.slots.length;
  }

  /** base64 signature of `data` (UTF-8) under `key` with `algorithm` (e.g. 'RSA-SHA256'). */
  sign(algorithm: string, key: KeyObject, data: string): Promise<string> {
    if (this.off) return Promise.resolve().then(() => signInThread(algorithm, key, data));
    if (this.slots.length === 0 && !this.start()) return Promise.resolve().then(() => signInThread(algorithm, key, data));
    return new Promise<string>((resolve, reject) => {
      const task: Task = { id: this.nextId++, algorithm, key, data, resolve, reject };
      let slot = this.slots[0]!;
      for (const s of this.slots) if (s.inFlight.size < slot.inFlight.size) slot = s;
      if (slot.inFlight.size === 0) slot.worker.ref();
      slot.inFlight.set(task.id, task);
      try {
        slot.worker.postMessage({ id: task.id, algorithm, key, data });
      } catch (err) {
        // A key that cannot be cloned to a thread (or a closing worker): sign it here.
        slot.inFlight.delete(task.id);
        if (slot.inFlight.size === 0) slot.worker.unref();
        this.runHere(task, err);
      }
    });
  }

  /** Waits for signatures in flight, then stops the threads. A later sign() starts them again. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const slots = this.slots;
      this.slots = [];
      await Promise.all(
        slots.map(async (slot) => {
          while (slot.inFlight.size > 0) await new Promise((r) => setTimeout(r, 5));
          slot.worker.removeAllListeners('exit');
          await slot.worker.terminate();
        }),
      );
    })().finally(() => {
      this.closing = null;
    });
    return this.closing;
  }

  private start(): boolean {
    try {
      for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
      this.logger.debug({ threads: this.size }, 'sign pool started');
      return true;
    } catch (err) {
      for (const slot of this.slots) void slot.worker.terminate();
      this.slots = [];
      this.off = true;
      this.logger.warn({ err: (err as Error).message }, 'sign pool could not start; signing on the main thread');
      return false;
    }
  }

  private spawn(): Slot {
    // execArgv []: the worker is plain JavaScript; no --import=tsx, no flags of the main thread.
    const worker = new Worker(this.source, { eval: true, execArgv: [], env: {}, stdout: false, stderr: false });
    const slot: Slot = { worker, inFlight: new Map() };
    worker.on('message', (msg: { id: number; signature: string | null; error: string | null }) => {
      const task = slot.inFlight.get(msg.id);
      if (!task) return;
      slot.inFlight.delete(msg.id);
      if (slot.inFlight.size === 0) worker.unref();
      if (msg.signature !== null) task.resolve(msg.signature);
      else task.reject(new Error(`signature failed: ${msg.error ?? 'unknown error'}`));
    });
    worker.on('error', (err) => this.died(slot, err));
    worker.on('exit', (code) => this.died(slot, new Error(`sign worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return slot;
  }

  /** A worker that died: its signatures are made here, the pool shrinks, and restarts when empty. */
  private died(slot: Slot, err: Error): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    this.slots.splice(index, 1);
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => undefined);
    void slot.worker.terminate().catch(() => undefined);
    this.deaths++;
    if (this.deaths >= MAX_DEATHS && !this.off) {
      this.off = true;
      for (const other of this.slots) void other.worker.terminate().catch(() => undefined);
      const rest = this.slots.flatMap((s) => [...s.inFlight.values()]);
      this.slots = [];
      for (const task of rest) this.runHere(task, err);
      this.logger.error({ err: err.message, deaths: this.deaths }, 'sign pool workers keep dying; signing on the main thread from now on');
    } else {
      this.logger.warn({ err: err.message, inFlight: slot.inFlight.size }, 'a sign pool worker died; its signatures are made on the main thread');
    }
    for (const task of slot.inFlight.values()) this.runHere(task, err);
    slot.inFlight.clear();
  }

  private runHere(task: Task, _cause: unknown): void {
    try {
      task.resolve(signInThread(task.algorithm, task.key, task.data));
    } catch (err) {
      task.reject(err as Error);
    }
  }
}

let shared: SignPool | undefined;

/** The process's pool, sized to the cores, created (not started) on first use. */
export function signPool(logger?: Logger): SignPool {
  shared ??= new SignPool({ logger });
  if (logger) shared.useLogger(logger);
  return shared;
}

/** Stops the process's pool if it was started (server shutdown); idle, it holds nothing anyway. */
export async function closeSignPool(): Promise<void> {
  await shared?.close();
}
