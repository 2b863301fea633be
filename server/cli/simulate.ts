import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../core/config.ts';
import type { SimulatorInstance } from '../../core/payment-provider.ts';
import { providerModules } from '../../providers/index.ts';
import { createLogger } from '../logger.ts';
import { parseIntFlag, str, UsageError, type FlagValues, type Flags } from './args.ts';

export const simulateFlags: Flags = {
  port: { type: 'string' },
  host: { type: 'string' },
  'public-url': { type: 'string' },
  'config-out': { type: 'string' },
};

export const SIMULATE_USAGE = `  simulate [--port 4100] [--host 127.0.0.1] [--public-url <url>] [--config-out <file>]
                                  every provider's simulator on one HTTP server, each under
                                  /sim/<provider> (no gateway, no database), for a merchant's own
                                  integration tests; prints the PAYGATE_CONFIG that points a gateway at
                                  them, with keys made for this run (--config-out also writes it,
                                  mode 0600). --public-url is the base a gateway reaches them at
                                  (default http://<host>:<port>). Runs until SIGINT or SIGTERM.
`;

/** The host part of a URL for a bind address: a wildcard bind is reached as localhost. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function writePrivate(path: string, text: string): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600); // an existing file keeps its mode on open: the keys must not stay readable
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** `npm run paygate -- simulate ...`: serves until a signal; returns the exit code. */
export async function runSimulate(values: FlagValues): Promise<number> {
  const port = parseIntFlag('port', str(values, 'port'), 4100, 0, 65_535);
  const host = str(values, 'host') ?? '127.0.0.1';
  let publicUrl = str(values, 'public-url');
  if (publicUrl !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(publicUrl);
    } catch {
      // reported below
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol)) throw new UsageError('--public-url must be an http(s) URL');
    publicUrl = publicUrl.replace(/\/+$/, '');
  }
  // Only the log level and the time scale matter here; the gateway's own PAYGATE_CONFIG (which may
  // even be the file --config-out is about to write) is not read.
  const config = loadConfig({ ...process.env, PAYGATE_CONFIG: undefined });
  const logger = createLogger(config.logLevel, process.stderr);

  const simulators = new Map<string, SimulatorInstance<unknown>>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const match = /^\/sim\/([^/]+)(\/.*)?$/.exec(path);
    const sim = match ? simulators.get(match[1]!) : undefined;
    if (sim) {
      req.url = req.url!.slice(`/sim/${match![1]}`.length) || '/';
      sim.handler(req, res);
      return;
    }
    const status = path === '/' || path === '/sim' || path === '/sim/' ? 200 : 404;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status === 200 ? { simulators: [...simulators.keys()].map((id) => ({ provider: id, path: `/sim/${id}/` })) } : { error: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use (try --port)` : `cannot listen on ${host}:${port}: ${err.message}`);
  });
  const { port: bound } = server.address() as AddressInfo;
  const base = publicUrl ?? `http://${urlHost(host)}:${bound}`;

  const providers: Record<string, { default: unknown }> = {};
  for (const module of providerModules) {
    if (!module.simulator) continue;
    const instance = await module.simulator({ baseUrl: `${base}/sim/${module.id}`, logger, timeScale: config.simulatorTimeScale });
    simulators.set(module.id, instance);
    providers[module.id] = { default: instance.accountConfig('default') };
  }
  const json = `${JSON.stringify({ providers }, null, 2)}\n`;
  const configOut = str(values, 'config-out');
  if (configOut !== undefined) writePrivate(configOut, json);

  // Printed once on the terminal (stdout), never into the log stream (stderr): the keys are this run's.
  const out: string[] = [`paygate simulators listening on ${base}  (bound to ${host}:${bound})`];
  for (const module of providerModules) {
    if (simulators.has(module.id)) out.push(`  ${module.id.padEnd(10)} ${base}/sim/${module.id}/   ${module.displayName}`);
  }
  out.push(
    'Control API (acts as the buyer): POST <simulator>/_control/pay | _control/decline | _control/renotify  {"orderNo": "..."}',
    '',
    `PAYGATE_CONFIG for a gateway that uses these simulators (keys made for this run only${configOut ? `; also written to ${configOut}` : ''}):`,
    json,
    'Ctrl-C (SIGINT) or SIGTERM stops the simulators.',
  );
  process.stdout.write(`${out.join('\n')}\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info({ signal }, 'simulators stopping');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await Promise.allSettled([closed, ...[...simulators.values()].map((s) => s.close())]);
  return 0;
}
