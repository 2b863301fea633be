/**
 * `npm run cluster:demo`: a throwaway three-node MariaDB Galera cluster behind HAProxy on loopback
 * (test/helpers/galera.ts), kept running until Ctrl-C, with the DATABASE_URLs to point paygate (or
 * `PAYGATE_BENCH_MYSQL_URL` for `npm run bench`) at. Everything lives in one temp dir, removed at
 * exit. docs/high-availability.md says what it shows.
 */
import mysql from 'mysql2/promise';
import { findGaleraBinaries, GaleraCluster } from '../helpers/galera.ts';

const binaries = findGaleraBinaries();
if ('missing' in binaries) {
  process.stderr.write(`cluster:demo needs ${binaries.missing.join(', ')} (apt-get install -y ${binaries.missing.join(' ')})\n`);
  process.exit(1);
}
const cluster = new GaleraCluster(binaries, { log: (m) => process.stderr.write(`${m}\n`) });
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write('stopping the cluster…\n');
  clearInterval(alive);
  await cluster.destroy();
  process.exit(code);
};
// The cluster's processes are detached: this timer is what keeps the demo (and so the cluster) alive.
const alive = setInterval(() => undefined, 60_000);
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
try {
  await cluster.start();
  const admin = await mysql.createConnection({ uri: cluster.writerUrl });
  await admin.query('CREATE DATABASE IF NOT EXISTS paygate CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
  await admin.end();
  process.stdout.write(
    [
      '',
      'A three-node Galera cluster is up. Point paygate at it:',
      `  single writer (HAProxy):  DATABASE_URL=${cluster.writerUrl}/paygate`,
      `  round robin (HAProxy):    DATABASE_URL=${cluster.multiUrl}/paygate?wsrep_sync_wait=1`,
      ...[1, 2, 3].map((n) => `  node ${n} directly:         DATABASE_URL=${cluster.nodeUrl(n)}/paygate`),
      `  npm run bench against it: PAYGATE_BENCH_MYSQL_URL=${cluster.writerUrl} npm run bench -- --db mariadb`,
      '',
      `Node pids: ${cluster.nodes.map((x, i) => `n${i + 1}=${x.proc?.pid}`).join(' ')} (kill -9 or kill -STOP one to see the cluster go on). Ctrl-C stops everything.`,
      '',
    ].join('\n'),
  );
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  await stop(1);
}
