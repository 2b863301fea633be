/**
 * A separate worker process for the lease tests: claims inbox rows until none are left, marks each
 * processed, and prints the ids it handled as JSON.
 *   tsx test/helpers/claim-worker.ts <database url> <owner> <account tag>
 */
import { openDb } from '../../core/db.ts';
import { claimRows } from '../../core/jobs/lease.ts';

const [url, owner, tag] = process.argv.slice(2);
const db = openDb(url!);
const handled: number[] = [];
try {
  for (;;) {
    const rows = await claimRows<{ id: number }>(db, {
      table: 'provider_callbacks',
      where: (q) => q.where({ account: tag }).whereNull('processed_at'),
      orderBy: 'id',
      limit: 5,
      leaseMs: 60_000,
      owner: owner!,
      now: new Date(),
    });
    if (rows.length === 0) break;
    for (const row of rows) {
      handled.push(Number(row.id));
      await db('provider_callbacks').where({ id: row.id }).update({ processed_at: Date.now(), outcome: owner });
    }
  }
  process.stdout.write(JSON.stringify(handled));
} finally {
  await db.destroy();
}
