import type { Db } from './db.ts';
import type { Logger } from './logger.ts';
import type { SimulatorInstance } from './payment-provider.ts';

/**
 * The provider simulators' books in the database (table simulator_books, one JSON snapshot per
 * simulator): loaded before the registry builds the simulators, saved when they change. The demo's
 * simulated accounts, keys, trades and counters then survive a restart of the gateway on the same
 * database, beside the orders that point at them.
 */

/** Snapshots by provider id; a provider without a row is simply absent. */
export async function loadSimulatorBooks(db: Db, logger: Logger): Promise<Map<string, unknown>> {
  const rows = (await db('simulator_books').select('provider', 'snapshot')) as { provider: string; snapshot: string }[];
  const books = new Map<string, unknown>();
  for (const row of rows) {
    try {
      books.set(row.provider, JSON.parse(row.snapshot));
    } catch {
      // A damaged snapshot costs that simulator its books (it starts empty), not the gateway its start.
      logger.warn({ provider: row.provider }, 'simulator books unreadable: the simulator starts empty');
    }
  }
  return books;
}

interface Tracked {
  providerId: string;
  instance: SimulatorInstance<unknown>;
  /** The JSON last written (or loaded): a snapshot equal to it is not written again. */
  saved: string | undefined;
}

/** Writes each simulator's snapshot when it differs from the one last written; checks every `intervalMs`. */
export class SimulatorBooksSaver {
  private readonly tracked: Tracked[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    simulators: readonly { providerId: string; instance: SimulatorInstance<unknown> }[],
    private readonly logger: Logger,
    loaded: ReadonlyMap<string, unknown> = new Map(),
  ) {
    this.tracked = simulators
      .filter((s) => typeof s.instance.snapshot === 'function')
      .map((s) => ({ providerId: s.providerId, instance: s.instance, saved: loaded.has(s.providerId) ? JSON.stringify(loaded.get(s.providerId)) : undefined }));
  }

  start(intervalMs = 1_000): void {
    if (this.timer || this.tracked.length === 0) return;
    this.timer = setInterval(() => void this.save(), intervalMs);
    this.timer.unref();
  }

  /** Saves what changed; runs one save at a time. Resolves once written (failures are logged, not thrown). */
  save(): Promise<void> {
    this.running = this.running.then(() => this.saveNow());
    return this.running;
  }

  /** Stops the checks and writes the last changes. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.save();
  }

  private async saveNow(): Promise<void> {
    for (const t of this.tracked) {
      let json: string;
      try {
        json = JSON.stringify(t.instance.snapshot!());
      } catch (err) {
        this.logger.error({ provider: t.providerId, err: String(err) }, 'simulator books: snapshot failed');
        continue;
      }
      if (json === t.saved) continue;
      try {
        await this.db('simulator_books')
          .insert({ provider: t.providerId, snapshot: json, updated_at: Date.now() })
          .onConflict('provider')
          .merge(['snapshot', 'updated_at']);
        t.saved = json;
      } catch (err) {
        // Tried again at the next check: the snapshot still differs from the one saved.
        this.logger.error({ provider: t.providerId, err: String(err) }, 'simulator books: save failed');
      }
    }
  }
}
