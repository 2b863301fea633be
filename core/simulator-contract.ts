import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.ts';

/*
 * The simulator half of the provider contract (core/payment-provider.ts re-exports it): what a
 * provider's simulator serves, the control API every simulator answers, and how it is started.
 */

/**
 * What every simulator's control API does, acting as the buyer (pay, decline) or as the provider
 * (renotify: the last notify again) and leaving the rest to the normal callbacks. The same three are
 * served over HTTP as `POST /sim/<provider>/_control/<action>` with `{"orderNo": "..."}` (an answer
 * of 404 names an order the simulator does not know; 409 one in the wrong state), which is how the
 * conformance suite, the CLI's `trigger` and scripts drive them.
 */
export const SIMULATOR_CONTROL_ACTIONS = ['pay', 'decline', 'renotify'] as const;
export type SimulatorControlAction = (typeof SIMULATOR_CONTROL_ACTIONS)[number];

export interface SimulatorControl {
  /**
   * The buyer pays. Where the buyer must then come back through the browser for the payment to
   * complete (a notify the browser brings, docs/architecture.md#a-notify-the-browser-brings), the
   * simulator brings it as the browser would and its answer names that URL as `nextUrl`
   * (SimulatorPayAnswer), so a script can play the buyer without a browser.
   */
  pay(orderNo: string): Promise<unknown>;
  decline(orderNo: string): Promise<unknown>;
  renotify(orderNo: string): Promise<unknown>;
}

/** What `pay` answers beside each simulator's own fields, where the buyer's browser has somewhere to go next. */
export interface SimulatorPayAnswer {
  /** The URL the buyer's browser is sent to next (with the provider's query string), absolute. */
  nextUrl?: string;
}

/** The HTTP path of a simulator's control action, under the gateway's public URL. */
export function simulatorControlPath(providerId: string, action: SimulatorControlAction): string {
  return `/sim/${providerId}/_control/${action}`;
}

/** A simulator mounted under /sim/<provider>/ when the provider has no real credentials. */
export interface SimulatorInstance<Config> extends SimulatorControl {
  /** A plain Node request handler; the server strips the /sim/<provider> prefix before calling it. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** Account configuration that points the real adapter at this simulator. */
  accountConfig(account: string): Config;
  /**
   * The simulator's books as plain JSON (accounts and their keys, trades, identifier counters), for
   * the gateway to store and hand back through `SimulatorOptions.books` at the next start. Bounded;
   * optional (a simulator without it starts empty every time).
   */
  snapshot?(): unknown;
  close(): Promise<void>;
}

export interface SimulatorOptions {
  /** The public URL the simulator is reachable at, e.g. http://localhost:3000/sim/<id>. */
  baseUrl: string;
  logger: Logger;
  /** Multiplies the provider's retry schedule (1 = real time; tests use small values). */
  timeScale?: number;
  /**
   * What `snapshot()` returned before the last stop (core/simulator-books.ts), to start from: the
   * same accounts and keys, its trades, and identifiers that continue after the ones handed out.
   * Unknown shape to core; a simulator ignores books it cannot read.
   */
  books?: unknown;
}
