import { errorSummary } from '../db.ts';
import type { Logger } from '../logger.ts';

export interface Job {
  name: string;
  /** Pause between two runs when the last run found nothing to do. */
  intervalMs: number;
  /** Does one batch; returns how many items it handled (a full batch runs again at once). */
  run(): Promise<number>;
}

export interface JobHealth {
  name: string;
  runs: number;
  failures: number;
  handled: number;
  lastRunAt: Date | null;
  /** When a run last ended without throwing. */
  lastSuccessAt: Date | null;
  /** Runs in a row that threw; 0 after a success. */
  consecutiveFailures: number;
  lastError: string | null;
}

/**
 * Every runner started in this process and not stopped, so /metrics (server/metrics.ts) can report
 * job health without being handed the runner: whoever starts a runner needs no metrics wiring.
 */
const started = new Set<JobRunner>();

/** The health of every job of every runner running in this process. */
export function runningJobs(): JobHealth[] {
  return [...started].flatMap((runner) => runner.status());
}

/**
 * After a run that threw, the next waits at least this long, doubling with each failure in a row up
 * to FAILURE_BACKOFF_MAX_MS: a job that looks often (the inbox every 250 ms) must not hammer a
 * database that is away, least of all SQLite, whose lock waits stop the event loop.
 */
export const FAILURE_BACKOFF_MS = 500;
export const FAILURE_BACKOFF_MAX_MS = 5_000;

/** The pause before the next run after `failures` failed runs in a row. */
export function failureDelay(intervalMs: number, failures: number): number {
  return Math.max(intervalMs, Math.min(FAILURE_BACKOFF_MAX_MS, FAILURE_BACKOFF_MS * 2 ** Math.max(0, failures - 1)));
}

/**
 * A small in-process scheduler. Jobs coordinate through database leases, not through this class,
 * so any number of runners (in `npm start` or `npm run worker` processes) can run side by side.
 */
export class JobRunner {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly health = new Map<string, JobHealth>();
  private stopped = true;

  constructor(
    private readonly jobs: readonly Job[],
    private readonly logger: Logger,
  ) {
    for (const job of jobs) {
      this.health.set(job.name, { name: job.name, runs: 0, failures: 0, handled: 0, lastRunAt: null, lastSuccessAt: null, consecutiveFailures: 0, lastError: null });
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    started.add(this);
    for (const job of this.jobs) this.schedule(job, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    started.delete(this);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Runs one job once now (the CLI and tests use this); returns what it handled. */
  async runOnce(name: string): Promise<number> {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) throw new Error(`no job named ${name}`);
    return this.execute(job);
  }

  status(): JobHealth[] {
    return [...this.health.values()].map((h) => ({ ...h }));
  }

  private schedule(job: Job, delay: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      const work = this.execute(job).then(
        (handled) => this.schedule(job, handled > 0 ? 0 : job.intervalMs),
        () => this.schedule(job, failureDelay(job.intervalMs, this.health.get(job.name)!.consecutiveFailures)),
      );
      this.running.set(job.name, work.finally(() => this.running.delete(job.name)));
    }, delay);
    timer.unref();
    this.timers.set(job.name, timer);
  }

  private async execute(job: Job): Promise<number> {
    const health = this.health.get(job.name)!;
    health.runs++;
    health.lastRunAt = new Date();
    try {
      const handled = await job.run();
      health.handled += handled;
      health.lastSuccessAt = new Date();
      health.consecutiveFailures = 0;
      health.lastError = null;
      return handled;
    } catch (err) {
      health.failures++;
      health.consecutiveFailures++;
      health.lastError = errorSummary(err);
      this.logger.error({ job: job.name, err: health.lastError }, 'job failed');
      throw err;
    }
  }
}
