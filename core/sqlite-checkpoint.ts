import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { dbKind, type Db } from './db.ts';
import type { Logger } from './logger.ts';

/**
 * SQLite's WAL checkpoints off the request path (docs/architecture.md#storage).
 *
 * By default SQLite checkpoints inside whichever commit takes the WAL past 1,000 pages: that commit
 * copies the log into the database file and fsyncs it (10–15 ms on this project's machine), and
 * better-sqlite3 runs it synchronously, so the whole event loop waits, and every request in flight
 * with it. Here the gateway's connection turns automatic checkpoints off and a worker thread with a
 * connection of its own runs a PASSIVE checkpoint every CHECKPOINT_INTERVAL_MS (it never blocks a
 * writer; the next writer after a complete one starts the log over). If the thread stops, the
 * connection gets automatic checkpoints back, so the log can never grow without bound.
 */

export const CHECKPOINT_INTERVAL_MS = 1_000;
/** SQLite's own default (pages), restored when the thread is gone. */
const AUTOCHECKPOINT_PAGES = 1_000;

// CommonJS, run by the worker thread from this text (no file to find under tsx or in dist/).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
let running = true;
const timer = setInterval(() => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ type: 'checkpoint', busy: result.busy, log: result.log, checkpointed: result.checkpointed });
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: String(err && err.message || err) });
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop' || !running) return;
  running = false;
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Pages in the log after the last checkpoint, and how many checkpoints ran (tests, metrics). */
  readonly stats: { runs: number; lastLogPages: number; errors: number };
  stop(): Promise<void>;
}

function sqliteFile(db: Db): string | null {
  const connection = db.client.config.connection as { filename?: string } | undefined;
  const filename = connection?.filename;
  return filename && filename !== ':memory:' ? filename : null;
}

/**
 * Starts the checkpointing thread for a SQLite file database; null for MariaDB or an in-memory
 * database (nothing to checkpoint) or when the thread cannot start (automatic checkpoints stay on).
 */
export async function startCheckpointer(db: Db, logger: Logger, options: { intervalMs?: number } = {}): Promise<Checkpointer | null> {
  if (dbKind(db) !== 'sqlite') return null;
  const filename = sqliteFile(db);
  if (!filename) return null;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, filename, intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS } });
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'SQLite checkpoint thread could not start; checkpoints stay inside commits');
    return null;
  }
  worker.unref();
  const stats = { runs: 0, lastLogPages: 0, errors: 0 };
  let stopped = false;
  const restoreAutomatic = () => db.raw(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`).catch(() => undefined);
  worker.on('message', (message: { type: string; log?: number; message?: string }) => {
    if (message.type === 'checkpoint') {
      stats.runs += 1;
      stats.lastLogPages = message.log ?? 0;
    } else if (message.type === 'error') {
      stats.errors += 1;
      logger.warn({ err: message.message }, 'SQLite checkpoint failed; trying again');
    }
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.once('error', (err) => logger.warn({ err: err.message }, 'SQLite checkpoint thread failed'));
  void exited.then(() => {
    if (!stopped) {
      logger.warn({}, 'SQLite checkpoint thread stopped; checkpoints are back inside commits');
      void restoreAutomatic();
    }
  });
  await db.raw('PRAGMA wal_autocheckpoint = 0');
  return {
    stats,
    async stop() {
      if (stopped) return;
      stopped = true;
      worker.postMessage('stop');
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref());
      await Promise.race([exited, timeout]);
      await worker.terminate().catch(() => undefined);
      await restoreAutomatic();
    },
  };
}
