/**
 * The reliability suite runs at a size that fits CI inside `npm test`, and at the issue's full
 * sizes under `npm run test:reliability` (PAYGATE_RELIABILITY_FULL=1).
 */
export const FULL = process.env.PAYGATE_RELIABILITY_FULL === '1';

export function size(ci: number, full: number): number {
  return FULL ? full : ci;
}

/** Runs `total` tasks with at most `concurrency` in flight. */
export async function pool<T>(total: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/** One line the full run's README table is built from. */
export function figure(name: string, values: Record<string, unknown>): void {
  process.stdout.write(`[reliability] ${name}: ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
}
