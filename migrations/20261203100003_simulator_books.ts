import type { Knex } from 'knex';
import { utf8mb4 } from './helpers/table-options.ts';

// The provider simulators' books (core/simulator-books.ts): one JSON snapshot per simulator, so a
// restarted demo keeps its simulated accounts, keys, trades and counters beside the orders that
// point at them. `snapshot` is LONGTEXT on MariaDB (a full book is several MB); `updated_at` is
// BIGINT milliseconds since the epoch, as every time in this schema.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('simulator_books', (t) => {
    utf8mb4(knex, t);
    t.string('provider', 32).primary();
    t.text('snapshot', 'longtext').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('simulator_books');
}
