import type { Knex } from 'knex';

/** MariaDB started without a config file defaults to latin1; order subjects are Chinese. */
export function utf8mb4(knex: Knex, t: Knex.CreateTableBuilder): void {
  if (knex.client.config.client === 'mysql2') {
    t.charset('utf8mb4');
    t.collate('utf8mb4_bin');
    t.engine('InnoDB');
  }
}
