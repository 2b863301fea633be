/**
 * Timers for the providers' simulators: every timer a simulator starts, so its close() can stop
 * them all and nothing is scheduled after it. Delays are capped at setTimeout's limit (2^31-1 ms;
 * beyond it Node fires after 1 ms).
 */
import type { Logger } from '../../core/logger.ts';

const MAX_DELAY_MS = 2 ** 31 - 1;

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly name: string,
  ) {}

  after(ms: number, task: () => unknown): void {
    if (this.closed) return;
    const timer = setTimeout(
      () => {
        this.pending.delete(timer);
        Promise.resolve()
          .then(task)
          .catch((err: unknown) => this.logger.error({ err: String(err) }, `${this.name} simulator: timer task failed`));
      },
      Math.min(MAX_DELAY_MS, Math.max(0, ms)),
    );
    timer.unref();
    this.pending.add(timer);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
