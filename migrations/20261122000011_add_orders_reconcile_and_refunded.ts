import type { Knex } from 'knex';

// Reconciliation bookkeeping (ask the provider on a backoff, under a lease) and the running total
// of money given back.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.bigInteger('refunded_minor').notNullable().defaultTo(0);
    t.integer('reconcile_attempts').notNullable().defaultTo(0);
    t.bigInteger('next_reconcile_at').nullable();
    t.string('lease_owner', 80).nullable();
    t.bigInteger('lease_until').nullable();
    t.index(['status', 'next_reconcile_at'], 'orders_reconcile_idx');
    t.index(['lease_owner'], 'orders_lease_owner_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropIndex(['lease_owner'], 'orders_lease_owner_idx');
    t.dropIndex(['status', 'next_reconcile_at'], 'orders_reconcile_idx');
    t.dropColumn('lease_until');
    t.dropColumn('lease_owner');
    t.dropColumn('next_reconcile_at');
    t.dropColumn('reconcile_attempts');
    t.dropColumn('refunded_minor');
  });
}
