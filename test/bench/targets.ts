/**
 * Which floor bounds each path, and the targets checked against a run's figures.
 */
import type { Bound, FloorEntry, PathEntry, ServerRss, Target } from './report.ts';

function floorAt(floors: readonly FloorEntry[], name: string, db: string | null, connections: number | null): FloorEntry | undefined {
  return floors.find((f) => f.name === name && f.db === db && (connections === null || f.connections === connections));
}

/** The crypto floors on every core (the largest thread count measured). */
function allCores(floors: readonly FloorEntry[], name: string): FloorEntry | undefined {
  return floors.filter((f) => f.name === name).sort((a, b) => (b.threads ?? 0) - (a.threads ?? 0))[0];
}

/**
 * The floors a path cannot beat, at its connection count; the lowest binds. The database floors are
 * the driver's (the machine's: the same rows through prepared statements, in the fewest commits the
 * design allows), not knex's. Crypto floors are on every core; SinoPac's create makes two sealed
 * calls (each an AES+Sign out and one back), so half the AES+Sign rate.
 */
export function boundFor(floors: readonly FloorEntry[], path: string, db: string, connections: number): Bound | null {
  const candidates: Bound[] = [];
  const add = (name: string, entry: FloorEntry | undefined, factor = 1) => {
    if (entry && entry.rate > 0) candidates.push({ name, rate: entry.rate * factor });
  };
  const http = floorAt(floors, 'http', null, connections);
  const writes = floorAt(floors, 'db-notify-tx', db, connections);
  const inbox = floorAt(floors, 'db-inbox-insert', db, connections);
  add('http', http);
  switch (path) {
    case 'notify':
    case 'notify-cluster':
      add('db notify tx', writes);
      add('RSA verify', allCores(floors, 'rsa2-verify'));
      break;
    case 'naive':
      add('RSA verify', allCores(floors, 'rsa2-verify'));
      break;
    case 'notify-dup':
    case 'sinopac-ack':
      add('inbox insert', inbox);
      break;
    case 'create-alipay':
      add('RSA sign', allCores(floors, 'rsa2-sign'));
      add('db notify tx', writes);
      break;
    case 'create-sinopac':
      add('AES+Sign ÷ 2', allCores(floors, 'sinopac-aes-sign'), 0.5);
      add('db notify tx', writes);
      break;
  }
  return candidates.sort((a, b) => a.rate - b.rate)[0] ?? null;
}

const pct = (n: number) => `${(n * 100).toFixed(0)} %`;
const ms = (n: number) => `${n.toFixed(1)} ms`;
const rate = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;

export function evaluateTargets(
  paths: readonly PathEntry[],
  dbs: readonly string[],
  connections: readonly number[],
  serverRss: readonly ServerRss[],
): Target[] {
  const top = Math.max(...connections);
  const at = (db: string, path: string, c = top, processes = 1) =>
    paths.find((p) => p.db === db && p.path === path && p.connections === c && p.processes === processes && p.offeredRate === null);
  // Latency is judged at a load the gateway carries (the paced run), when there is one.
  const atLoad = (db: string, path: string, c: number) => paths.find((p) => p.db === db && p.path === path && p.connections === c && p.offeredRate !== null) ?? at(db, path, c);
  const load = (p: PathEntry) => (p.offeredRate === null ? `at saturation, ${rate(p.rate)}` : `paced at ${rate(p.offeredRate)}`);
  const targets: Target[] = [];
  for (const db of dbs) {
    const notify = at(db, 'notify');
    const naive = at(db, 'naive');
    const dup = at(db, 'notify-dup');
    targets.push(
      notify?.ofBound != null
        ? { name: `[${db}] verified notifies ≥ 0.7 of the binding floor (${top} conns)`, met: notify.ofBound >= 0.7, measured: `${rate(notify.rate)} = ${pct(notify.ofBound)} of ${notify.bound!.name} ${rate(notify.bound!.rate)}` }
        : { name: `[${db}] verified notifies ≥ 0.7 of the binding floor`, met: null, measured: 'not measured' },
    );
    targets.push(
      notify && naive && notify.costVsNaive !== null
        ? { name: `[${db}] verified notifies ≤ 1.5× the naive peer's cost per request (${top} conns)`, met: notify.costVsNaive <= 1.5, measured: `${notify.costVsNaive.toFixed(2)}× (${rate(notify.rate)} vs naive ${rate(naive.rate)})` }
        : { name: `[${db}] verified notifies ≤ 1.5× the naive peer's cost`, met: null, measured: 'not measured' },
    );
    targets.push(
      notify && dup
        ? { name: `[${db}] duplicate notifies ≥ 2× the distinct-order rate (${top} conns)`, met: dup.rate >= 2 * notify.rate, measured: `${(dup.rate / notify.rate).toFixed(2)}× (${rate(dup.rate)} vs ${rate(notify.rate)})` }
        : { name: `[${db}] duplicate notifies ≥ 2× the distinct-order rate`, met: null, measured: 'not measured' },
    );
  }
  const c64 = connections.includes(64) ? 64 : top;
  const ack = atLoad('sqlite', 'sinopac-ack', c64);
  targets.push(
    ack
      ? { name: `[sqlite] SinoPac ack p99 < 10 ms at ${c64} conns`, met: ack.p99 < 10, measured: `p99 ${ms(ack.p99)} (${load(ack)})` }
      : { name: '[sqlite] SinoPac ack p99 < 10 ms', met: null, measured: 'not measured' },
  );
  const page = atLoad('sqlite', 'create-alipay', c64);
  targets.push(
    page
      ? { name: `[sqlite] create payment (Alipay page) p99 < 20 ms at ${c64} conns`, met: page.p99 < 20, measured: `p99 ${ms(page.p99)} (${load(page)})` }
      : { name: '[sqlite] create payment (Alipay page) p99 < 20 ms', met: null, measured: 'not measured' },
  );
  const atm = atLoad('sqlite', 'create-sinopac', c64);
  const trip = atm ? Number(atm.extra['bank p99 ms']) : Number.NaN;
  targets.push(
    atm && !Number.isNaN(trip)
      ? {
          name: `[sqlite] create payment (SinoPac ATM) p99 < 20 ms at ${c64} conns, without the bank's round trip`,
          met: atm.p99 - trip < 20,
          measured: `p99 ${ms(atm.p99)} − bank round trip p99 ${ms(trip)} ≈ ${ms(atm.p99 - trip)} (${load(atm)})`,
          why: 'approximate: percentiles of two distributions, not per request',
        }
      : { name: '[sqlite] create payment (SinoPac ATM) p99 < 20 ms without the round trip', met: null, measured: 'not measured' },
  );
  const peak = serverRss.reduce((m, r) => Math.max(m, r.peakProcessMb), 0);
  const worst = serverRss.find((r) => r.peakProcessMb === peak);
  targets.push({
    name: 'server peak RSS < 200 MB through the whole run',
    met: serverRss.length ? peak < 200 : null,
    measured: worst ? `${Math.round(peak)} MB (${worst.db} ${worst.run})` : 'not measured',
  });
  const one = at('mariadb', 'notify-cluster', top, 1);
  const two = at('mariadb', 'notify-cluster', top, 2);
  targets.push(
    one && two
      ? {
          name: `[mariadb] PAYGATE_WORKERS=2 scales the notify path (${top} conns)`,
          met: two.rate >= 1.1 * one.rate,
          measured: `${rate(one.rate)} with 1 process, ${rate(two.rate)} with 2 (${(two.rate / one.rate).toFixed(2)}×)`,
        }
      : { name: '[mariadb] PAYGATE_WORKERS=2 scales the notify path', met: null, measured: 'not measured' },
  );
  return targets;
}
