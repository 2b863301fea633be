/**
 * Preloaded into a gateway child process by the reliability tests (`node --import=tsx
 * --import=./test/reliability/clock-shift.ts server/main.ts`): moves that process's wall clock
 * forward, so a test can let minutes pass without waiting for them.
 *
 *   PAYGATE_TEST_CLOCK_OFFSET_MS  the clock starts this far ahead of real time (default 0)
 *   PAYGATE_TEST_CLOCK_STEP_MS    every SIGUSR2 moves it this much further ahead (default 0: ignored)
 *
 * Why: a notify row that a processor has claimed is leased for PROCESSING_LEASE_MS (5 min). When
 * that processor dies (SIGKILL) or loses its database half-way, the row waits for the lease to run
 * out before the inbox-retry job or a provider retry may take it again. Time going forward by the
 * lease is the real recovery path; a CI run cannot wait 5 minutes for it, so the tests move this
 * process's clock instead. Only the wall clock (Date) moves; timers and the simulators do not.
 */
const RealDate = Date;
let offset = Number(process.env.PAYGATE_TEST_CLOCK_OFFSET_MS ?? 0) || 0;
const step = Number(process.env.PAYGATE_TEST_CLOCK_STEP_MS ?? 0) || 0;
const now = (): number => RealDate.now() + offset;

globalThis.Date = new Proxy(RealDate, {
  construct(target, args: unknown[], newTarget) {
    return Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget) as object;
  },
  apply() {
    // Date() called as a function: the current time as a string.
    return new RealDate(now()).toString();
  },
  get(target, prop, receiver) {
    if (prop === 'now') return now;
    return Reflect.get(target, prop, receiver) as unknown;
  },
});

if (step !== 0) {
  process.on('SIGUSR2', () => {
    offset += step;
    process.stderr.write(`[clock-shift] pid ${process.pid}: clock now ${offset} ms ahead\n`);
  });
}
