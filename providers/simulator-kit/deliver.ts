/**
 * How the provider simulators deliver a server-to-server notification to the merchant, minus what the protocol says:
 * one POST with a 10 s timeout and no redirect following, recording the HTTP status (0 when the merchant could not be
 * reached) and the first 2,000 characters of the answer; and the retry chain that repeats a delivery on a schedule of
 * gaps until it is acknowledged. What is sent, how it is signed and what counts as an acknowledgement stay with each
 * provider's notifier.
 */

/** One delivery attempt and the merchant's answer. */
export interface Delivered {
  /** HTTP status of the merchant's answer; 0 when it could not be reached. */
  status: number;
  /** The answer's body (cut to 2,000 characters), or why there was none. */
  body: string;
  /** The merchant acknowledged, as the provider's `acknowledged` judged it. */
  ok: boolean;
}

/** The timer a retry chain runs on: the simulator's Timers, so close() stops it. */
export interface Scheduler {
  after(ms: number, task: () => unknown): void;
}

const DELIVERY_TIMEOUT_MS = 10_000;
const BODY_KEPT = 2_000;

/** POSTs `body` to `url` once; `acknowledged` judges the merchant's HTTP status and (cut) body. Never throws. */
export async function postDelivery(
  url: string,
  contentType: string,
  body: string,
  acknowledged: (status: number, body: string) => boolean,
): Promise<Delivered> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      // A redirect is not an acknowledgement, and a notify URL is not to be redirected.
      redirect: 'manual',
    });
    const text = (await response.text()).slice(0, BODY_KEPT);
    return { status: response.status, body: text, ok: acknowledged(response.status, text) };
  } catch (err) {
    return { status: 0, body: err instanceof Error ? err.message : String(err), ok: false };
  }
}

/**
 * The retries after an unacknowledged delivery: `attempt` runs after gapsMs[0]; if that is not acknowledged either,
 * after gapsMs[1], and so on until one is acknowledged or the gaps run out.
 */
export function retryOnGaps(timers: Scheduler, gapsMs: readonly number[], attempt: () => Promise<{ ok: boolean }>, index = 0): void {
  const gap = gapsMs[index];
  if (gap === undefined) return;
  timers.after(gap, async () => {
    const answer = await attempt();
    if (!answer.ok) retryOnGaps(timers, gapsMs, attempt, index + 1);
  });
}
