import type { Server } from 'node:http';
import net from 'node:net';
import { ConfigError } from '../core/errors.ts';

/** Why the port could not be bound, in words that name it and the variable that sets it. */
export function portProblem(err: unknown, port: number, host: string | undefined): ConfigError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = host ? `${host}:${port}` : `port ${port}`;
  const detail = [{ path: 'PORT', message: `${where} cannot be bound (${code})` }];
  if (code === 'EADDRINUSE') {
    return new ConfigError(
      `port ${port} is already in use${host ? ` on ${host}` : ''} (another paygate, or another program, listens there). ` +
        `Stop it, or start on another port: PORT=${port === 3000 ? 3001 : 3000} npm start`,
      detail,
    );
  }
  if (code === 'EACCES') {
    return new ConfigError(`port ${port} needs privileges this user does not have; choose a port above 1023 with PORT (e.g. PORT=3000)`, detail);
  }
  if (code === 'EADDRNOTAVAIL') return new ConfigError(`${host ?? 'the host'} is not an address of this machine; check HOST`, [{ path: 'HOST', message: `${host} is not local` }]);
  return undefined;
}

/** Listens, or rejects with portProblem's explanation (the raw error when it has none). */
export async function listenOn(server: Server | net.Server, port: number, host: string | undefined): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(portProblem(err, port, host) ?? err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Binds the port and lets it go again: the cluster primary's check that its workers can listen,
 * made before anything is made up or printed. (A program that takes the port in between is still
 * caught: the first worker then fails to start.)
 */
export async function checkPortFree(port: number, host: string | undefined): Promise<void> {
  const probe = net.createServer();
  await listenOn(probe, port, host);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}
