/**
 * The deliveries a simulator has sent and not yet seen answered, so tests (and close()) can wait
 * until the gateway has heard everything already on its way. Scheduled retries are not in flight.
 */
export class InFlight {
  private readonly tasks = new Set<Promise<unknown>>();

  /** Tracks `task` until it settles, and hands it back. */
  track<T>(task: Promise<T>): Promise<T> {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task)).catch(() => undefined);
    return task;
  }

  /** Resolves when nothing is in flight, including what the settling tasks start meanwhile. */
  async settle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }
}
