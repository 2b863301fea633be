import type { Knex } from 'knex';

// Webhook secret rotation with an overlap (docs/webhooks.md, "Rotating the secret"): the secret that
// was current before the last rotation, and until when deliveries are still signed with it as well.
// Both are null when no rotation is in its overlap window.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('merchants', (t) => {
    t.string('webhook_secret_previous', 100).nullable();
    t.bigInteger('webhook_secret_previous_until').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('merchants', (t) => {
    t.dropColumn('webhook_secret_previous');
    t.dropColumn('webhook_secret_previous_until');
  });
}
