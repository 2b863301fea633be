import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

/** One value paygate made up at start because no setting gave it. */
export interface MadeUpSecret {
  /** Its line in the secrets file: lower-case `name=value`. */
  name: 'admin_password' | 'demo_api_key';
  value: string;
  /** Lines kept beside it in the file (not secret: a URL, a user name, a merchant id). */
  context: Record<string, string>;
  /** What the terminal banner says, the value included. */
  banner: string[];
  /** The log line's message when the value went to the file (never the value). */
  logMessage: string;
  /** The variable that would have spared making it up. */
  setting: string;
  /**
   * The value came from that variable: never printed (the banner says which variable holds it, and
   * any copy of the value in it is masked) and never stored in the file.
   */
  chosen?: boolean;
}

export interface SecretsOutput {
  /** Shows `secret` on the terminal, or (stdout not a terminal) stores it in the file and logs the path. */
  reveal(secret: MadeUpSecret): void;
  /**
   * Lines for the person at the terminal that are not secret (where a lost key is replaced...):
   * shown in the banner on a terminal, nowhere else.
   */
  note(lines: string[]): void;
  /** From now on, the banner's lines wait for flush() (`npm start`: one block after the start-up logs). */
  hold(): void;
  /** Writes the held lines as one framed block, if any. */
  flush(): void;
  /** The file it writes to when stdout is not a terminal. */
  readonly file: string;
}

export interface SecretsOutputOptions {
  /** PAYGATE_SECRETS_FILE (core/config.ts defaultSecretsFile). */
  file: string;
  /**
   * PAYGATE_SECRETS_TO. `auto` (default): the banner when `out` is a terminal, else the file.
   * `file`: always the file, e.g. under `docker run -t`, where stdout is a terminal and still the
   * log. `terminal`: always the banner, even into a pipe (the operator reads it there on purpose).
   */
  to?: 'auto' | 'file' | 'terminal';
  logger: Logger;
  /** Where the banner goes; process.stdout by default. With `to: 'auto'` only its `isTTY` decides. */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
}

const HEADER = [
  '# Secrets paygate made up at start because no setting gave them (readable by this user only).',
  '# Note them, then delete this file; set PAYGATE_ADMIN_PASSWORD (and PAYGATE_DEMO_API_KEY) to choose them.',
];

/**
 * Secrets made up at start never go where logs go. stdout carries the JSON log stream, and under
 * systemd, Docker or Kubernetes stdout is the log aggregator: there (stdout not a terminal, or
 * PAYGATE_SECRETS_TO=file) the value goes to a 0600 file and only the file's path is logged. On a
 * terminal a person is watching: the banner is shown there, framed apart from the log lines. A value
 * the operator set (`chosen`) is never printed nor stored.
 */
export function secretsOutput(options: SecretsOutputOptions): SecretsOutput {
  const out = options.out ?? process.stdout;
  const to = options.to ?? 'auto';
  const terminal = () => to === 'terminal' || (to === 'auto' && out.isTTY === true);
  let held: string[][] | null = null;
  const show = (lines: string[]) => {
    if (held) held.push(lines);
    else out.write(frame(lines));
  };
  return {
    file: options.file,
    hold() {
      held ??= [];
    },
    flush() {
      const blocks = held ?? [];
      held = null;
      // One block: each part's lines, a blank line between parts.
      if (blocks.length > 0) out.write(frame(blocks.flatMap((lines, i) => (i === 0 ? lines : ['', ...lines]))));
    },
    note(lines) {
      if (terminal()) show(lines);
    },
    reveal(secret) {
      if (terminal()) {
        show(secret.chosen ? masked(secret) : secret.banner);
        return;
      }
      if (secret.chosen) {
        options.logger.info(secret.context, secret.logMessage);
        return;
      }
      try {
        storeSecret(options.file, secret);
      } catch (err) {
        throw new ConfigError(
          `${secret.logMessage}, but it cannot be written to ${options.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}) ` +
            `and stdout is not a terminal, where it would reach the logs. Set ${secret.setting}, or PAYGATE_SECRETS_FILE to a writable path.`,
          [{ path: secret.setting, message: 'needed when stdout is not a terminal and the secrets file cannot be written' }],
        );
      }
      options.logger.warn({ secretsFile: options.file, ...secret.context }, `${secret.logMessage}; it is in the secrets file (mode 0600), not in the logs`);
    },
  };
}

/** The banner with every copy of a value the operator set replaced by where it is set. */
function masked(secret: MadeUpSecret): string[] {
  const mask = `<the key you set in ${secret.setting}>`;
  return secret.value === '' ? secret.banner : secret.banner.map((line) => line.split(secret.value).join(mask));
}

function frame(lines: string[]): string {
  const rule = `  ${'='.repeat(72)}`;
  return `\n${rule}\n${lines.map((l) => `  ${l}`).join('\n')}\n  (shown on this terminal only, never written to the logs)\n${rule}\n\n`;
}

/** `name=value` lines, the ones already there kept (a demo key from an earlier start stays). */
function parse(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([a-z][a-z0-9_]*)=(.*)$/.exec(line);
    if (match) entries.set(match[1]!, match[2]!);
  }
  return entries;
}

/**
 * Written whole to a new 0600 file beside it, then renamed over it: never readable by others for a
 * moment, never written through a symlink someone left at the path. The file's own mode is what
 * protects it: a directory paygate creates is 0700, but one that exists already (./data, made 0755
 * by the SQLite file's creation, or an operator's) is left as it is, since other things live there.
 */
export function storeSecret(file: string, secret: Pick<MadeUpSecret, 'name' | 'value' | 'context'>): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let entries = new Map<string, string>();
  try {
    entries = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const [key, value] of Object.entries(secret.context)) entries.set(key, oneLine(value));
  entries.set(secret.name, oneLine(secret.value));
  entries.set(`${secret.name}_written_at`, new Date().toISOString());
  const text = `${HEADER.join('\n')}\n${[...entries].map(([k, v]) => `${k}=${v}`).join('\n')}\n`;

  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // whatever the umask
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

const oneLine = (value: string): string => value.replace(/[\r\n]/g, ' ');
