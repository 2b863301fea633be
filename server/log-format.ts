import { createRequire } from 'node:module';

export type LogFormat = 'pretty' | 'json';

/**
 * A person at a terminal reads coloured one-line logs; anything else (a pipe, a file, systemd,
 * Docker) gets one JSON object per line for the log aggregator. Pretty needs pino-pretty, a dev
 * dependency: a production install (`npm ci --omit=dev`) has none, and gets JSON even on a terminal.
 */
export function chooseLogFormat(out: { isTTY?: boolean }, prettyAvailable: boolean): LogFormat {
  return out.isTTY === true && prettyAvailable ? 'pretty' : 'json';
}

type PrettyFactory = (options: Record<string, unknown>) => NodeJS.WritableStream;

/** pino-pretty's factory, or undefined when it is not installed (never throws for that). */
export function loadPretty(require: (id: string) => unknown = createRequire(import.meta.url)): PrettyFactory | undefined {
  try {
    const loaded = require('pino-pretty') as PrettyFactory | { default: PrettyFactory };
    return typeof loaded === 'function' ? loaded : loaded.default;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * Where the server's logs go: stdout, through pino-pretty when `chooseLogFormat` says so. Pretty
 * runs in this thread and writes synchronously (no worker-thread transport), so a log line and the
 * start-up banner written to the same terminal never interleave.
 */
export function logDestination(out: NodeJS.WritableStream & { isTTY?: boolean; fd?: number } = process.stdout, pretty: PrettyFactory | null = loadPretty() ?? null): { format: LogFormat; stream?: NodeJS.WritableStream } {
  const format = chooseLogFormat(out, pretty !== null);
  if (format === 'json' || !pretty) return { format };
  return {
    format,
    stream: pretty({
      destination: out.fd ?? 1,
      sync: true,
      colorize: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
      singleLine: true,
    }),
  };
}
