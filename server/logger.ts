import { pino, type Logger as PinoLogger } from 'pino';

/** Keys whose values never reach a log line, at any depth (API keys, provider keys, HashKeys...). */
const SECRET_KEY = /^(authorization|cookie|set-cookie|(?:x-)?key-?id|(?:x-)?api[-_]?key|apikey|password|passwd|pass|token|pay_?token|secret|.*_secret|.*Secret|webhook_?secret|hash_?key|hash_?iv|private_?key|app_?private_?key|a1|a2|b1|b2|sign|card_?no|card_?number|pan)$/i;

const CARD_LIKE = /\b(?:\d[ -]?){12,18}\d\b/g;

function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Masks card-like numbers (13-19 digits passing the Luhn check) inside free text. */
export function scrubText(text: string): string {
  return text.replace(CARD_LIKE, (match) => {
    const digits = match.replace(/[ -]/g, '');
    return digits.length >= 13 && digits.length <= 19 && luhn(digits) ? `[card …${digits.slice(-4)}]` : match;
  });
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return scrubText(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) {
    // Kept as a plain object (pino's serializer never sees it), so name the class explicitly.
    const cause = (value as { cause?: unknown }).cause;
    return {
      name: value.name,
      message: scrubText(value.message),
      code: (value as { code?: unknown }).code,
      stack: value.stack ? scrubText(value.stack) : undefined,
      ...(cause === undefined ? {} : { cause: redact(cause, depth + 1) }),
    };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

export type AppLogger = PinoLogger;

export function createLogger(level: string, destination?: NodeJS.WritableStream): AppLogger {
  const logger = pino(
    {
      level,
      base: { service: 'paygate' },
      formatters: { log: (object) => redact(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubText(a) : a)) as typeof args;
          // logger.error(err) with no message: pino uses err.message verbatim as `msg`.
          const [first, second] = scrubbed as unknown[];
          if (first instanceof Error && typeof second !== 'string') scrubbed.splice(1, 0, scrubText(first.message));
          return method.apply(this, scrubbed);
        },
      },
    },
    destination as pino.DestinationStream | undefined,
  );
  // pino runs no formatter over child() bindings (it resets formatters.bindings for children), so
  // logger.child({ apiKey }) would print the key. Children inherit this from the root via the prototype.
  const baseChild = logger.child;
  logger.child = function (this: AppLogger, bindings, options) {
    return baseChild.call(this, redact(bindings) as pino.Bindings, options);
  } as typeof logger.child;
  return logger;
}
