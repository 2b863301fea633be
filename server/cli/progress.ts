import cliProgress from 'cli-progress';

export interface ProgressCounts {
  changed: number;
  faults: number;
}

/** Progress of a long command: a bar on a terminal, a plain line every few seconds otherwise (logs, CI). */
export interface Progress {
  start(total: number): void;
  /** One more item done; `at` says where in the work it was (an order's creation time). */
  tick(at: string, counts: ProgressCounts): void;
  stop(): void;
}

export function createProgress(label: string, out: NodeJS.WriteStream = process.stdout, everyMs = 5_000): Progress {
  if (out.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {value}/{total} | {at} | changed {changed} | faults {faults}`,
        stream: out,
        barsize: 30,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (total) => bar.start(total, 0, { at: '', changed: 0, faults: 0 }),
      tick: (at, counts) => bar.increment(1, { at, ...counts }),
      stop: () => bar.stop(),
    };
  }
  let total = 0;
  let done = 0;
  let last = Date.now();
  let current = { at: '', changed: 0, faults: 0 };
  const line = () => out.write(`${label} ${done}/${total} done (at ${current.at || '-'}), changed ${current.changed}, faults ${current.faults}\n`);
  return {
    start(n) {
      total = n;
      last = Date.now();
    },
    tick(at, counts) {
      done++;
      current = { at, ...counts };
      if (Date.now() - last >= everyMs) {
        last = Date.now();
        line();
      }
    },
    stop() {
      if (done > 0) line();
    },
  };
}
