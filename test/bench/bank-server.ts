/**
 * The SinoPac bank for `npm run bench`, in its own process (started by fixtures.ts startBank over
 * IPC). Each call the gateway makes is a Nonce request then an Order request carrying that nonce;
 * the time from the first arriving to the second being answered is the provider round trip as the
 * bank sees it, kept until the bench asks for it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../core/logger.ts';
import { createSinopacSimulator, type SinopacSimulator } from '../../providers/sinopac/simulator/index.ts';
import type { BankMessage } from './fixtures.ts';

const started = new Map<string, number>();
let trips: number[] = [];
let sim: SinopacSimulator | undefined;

const server = http.createServer((req, res) => {
  const t0 = performance.now();
  if (req.url?.endsWith('/Nonce')) {
    // The simulator answers with one res.end(body); the nonce in it comes back in the Order envelope.
    const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
    res.end = ((...args: unknown[]) => {
      const nonce = typeof args[0] === 'string' ? /"Nonce":"([^"]+)"/.exec(args[0])?.[1] : undefined;
      if (nonce) started.set(nonce, t0);
      return end(...args);
    }) as typeof res.end;
  } else if (req.url?.endsWith('/Order')) {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const nonce = /"Nonce":"([^"]+)"/.exec(Buffer.concat(body).toString())?.[1];
      const first = nonce ? started.get(nonce) : undefined;
      if (first === undefined) return;
      started.delete(nonce!);
      res.once('finish', () => trips.push(performance.now() - first));
    });
  }
  sim!.handler(req, res);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // No auto-payment and no BackendURL retries: the bench drives every request itself.
  sim = createSinopacSimulator({ baseUrl: base, logger: silentLogger }, { atmAutoPayMs: null, backendRetryMs: [] });
  process.send!({ type: 'ready', base, config: sim.accountConfig('default') } satisfies BankMessage);
});

process.on('message', (m: BankMessage) => {
  if (m.type === 'reset') trips = [];
  if (m.type === 'get') process.send!({ type: 'trips', ms: trips } satisfies BankMessage);
});

const stop = () => {
  void sim?.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
// The bench is gone (killed outright): no bank left behind.
process.on('disconnect', stop);
