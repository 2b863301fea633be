/**
 * autocannon, driven from a request source: a warm-up (discarded), then a measured window of fixed
 * length. Every answer is checked (an Alipay notify answered "failure" is fast and must never count
 * as throughput); latencies are autocannon's own per-request times, kept whole for percentiles.
 */
import autocannon from 'autocannon';
import http from 'node:http';
import { summarize, type Summary } from './stats.ts';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadSpec {
  /** `http://127.0.0.1:<port>` */
  base: string;
  connections: number;
  warmupSec: number;
  durationSec: number;
  /** The next request to send; null when the source is used up (the run then stops early). */
  next: () => LoadRequest | null;
  /** Whether an answer is the one the path must give. */
  ok: (status: number, body: string) => boolean;
  /** Called as the measured window begins (samplers reset there). */
  onMeasureStart?: () => void;
}

export interface LoadResult extends Summary {
  /** Answers that were not what the path must answer, and a few of them. */
  bad: number;
  badSamples: string[];
  /** Socket errors and timeouts seen by autocannon. */
  errors: number;
  /** Seconds into the window at which the request source ran out, if it did. */
  exhaustedAtSec: number | null;
}

const FILLER: LoadRequest = { method: 'GET', path: '/healthz' };

async function phase(spec: LoadSpec, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let bad = 0;
  const badSamples: string[] = [];
  let stoppedAt: number | null = null;
  let instance: autocannon.Instance | undefined;
  let done!: (r: autocannon.Result) => void;
  let failed!: (err: Error) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const started = performance.now();
  instance = autocannon({
    url: spec.base,
    connections: spec.connections,
    duration: seconds,
    pipelining: 1,
    timeout: 30,
    requests: [
      {
        setupRequest: (req: autocannon.Request, context: Record<string, unknown>) => {
          let r = spec.next();
          if (!r) {
            // Used up: stop, and keep the last few connections busy with something harmless that is not counted.
            if (stoppedAt === null) {
              stoppedAt = performance.now();
              setImmediate(() => instance?.stop());
            }
            context.filler = true;
            r = FILLER;
          }
          return { ...req, method: r.method, path: r.path, headers: { ...r.headers }, body: r.body ?? '' } as autocannon.Request;
        },
        onResponse: (status: number, body: string, context: Record<string, unknown>) => {
          if (context.filler) return;
          if (spec.ok(status, body)) ok++;
          else {
            bad++;
            if (badSamples.length < 3) badSamples.push(`${status} ${body.slice(0, 300)}`);
          }
        },
      } as autocannon.Request,
    ],
  }, (err, result) => (err ? failed(err as Error) : done(result)));
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    if (stoppedAt === null) latencies.push(responseTime);
  });
  const result = await finished;
  const ended = stoppedAt ?? performance.now();
  const secondsRun = (ended - started) / 1000;
  const summary = summarize(ok, secondsRun, latencies);
  return {
    ...summary,
    bad,
    badSamples,
    errors: result.errors + result.timeouts,
    exhaustedAtSec: stoppedAt === null ? null : secondsRun,
  };
}

/** Warm-up then the measured window; the warm-up fails the run only if its answers are wrong. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupSec > 0) {
    const warm = await phase(spec, spec.warmupSec);
    if (warm.bad > 0) return { ...warm, rate: 0 };
    if (warm.exhaustedAtSec !== null) return { ...warm, rate: 0, exhaustedAtSec: 0 };
  }
  spec.onMeasureStart?.();
  return phase(spec, spec.durationSec);
}

export interface PacedSpec extends Omit<LoadSpec, 'onMeasureStart'> {
  /** Requests per second offered, spread evenly, whatever the answers take (an open model). */
  rate: number;
  onMeasureStart?: () => void;
}

/**
 * Latency under a load the server can carry: requests go out at a fixed rate over at most
 * `connections` keep-alive sockets, and each one's latency runs from when it was due, so time spent
 * queued behind a slow answer counts (no coordinated omission). At saturation a closed loop only
 * measures its own queue (Little's law: 64 connections ÷ throughput); this is the figure a provider
 * waiting for its ack sees at a given traffic.
 */
export async function runPaced(spec: PacedSpec): Promise<LoadResult> {
  // fifo: every socket is used in turn. With the default lifo the few most recent carry the load and
  // the rest sit idle past the server's keep-alive timeout (5 s), which closes them just as a burst
  // picks one up again: an ECONNRESET that is the load generator's, not the server's.
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections, keepAliveMsecs: 30_000, scheduling: 'fifo' });
  const url = new URL(spec.base);
  const send = (r: LoadRequest): Promise<{ status: number; body: string }> =>
    new Promise((resolve) => {
      const req = http.request(
        { host: url.hostname, port: url.port, method: r.method, path: r.path, agent, headers: { ...r.headers, ...(r.body ? { 'content-length': Buffer.byteLength(r.body) } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', () => resolve({ status: 0, body: 'response error' }));
        },
      );
      req.on('error', (err) => resolve({ status: 0, body: err.message }));
      req.end(r.body);
    });

  const window = async (seconds: number, measure: boolean): Promise<LoadResult> => {
    const latencies: number[] = [];
    let ok = 0;
    let bad = 0;
    let errors = 0;
    const badSamples: string[] = [];
    let exhaustedAt: number | null = null;
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    const total = Math.floor(spec.rate * seconds);
    let sent = 0;
    while (sent < total && exhaustedAt === null) {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - started) / 1000) * spec.rate) + 1);
      while (sent < due) {
        const r = spec.next();
        if (!r) {
          exhaustedAt = now;
          break;
        }
        const dueAt = started + (sent / spec.rate) * 1000;
        sent++;
        const p = send(r).then(({ status, body }) => {
          inFlight.delete(p);
          if (!measure) return;
          latencies.push(performance.now() - dueAt);
          if (status === 0) errors++;
          if (spec.ok(status, body)) ok++;
          else {
            bad++;
            if (badSamples.length < 3) badSamples.push(`${status} ${body.slice(0, 300)}`);
          }
        });
        inFlight.add(p);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    const windowEnd = performance.now();
    await Promise.all(inFlight);
    const secondsRun = ((exhaustedAt ?? windowEnd) - started) / 1000;
    return { ...summarize(ok, secondsRun, latencies), bad, badSamples, errors, exhaustedAtSec: exhaustedAt === null ? null : secondsRun };
  };

  try {
    if (spec.warmupSec > 0) await window(spec.warmupSec, false);
    spec.onMeasureStart?.();
    return await window(spec.durationSec, true);
  } finally {
    agent.destroy();
  }
}
