import type { Knex } from 'knex';

// Dashboard sessions ended by signing out, shared by every server process so a cookie copied before
// the sign-out stops working everywhere at once. A row lives until the session would have expired
// anyway (expires_at, epoch ms), then sign-outs prune it.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('admin_revoked_sessions', (t) => {
    // SHA-256 (hex) of the session id, never the id itself.
    t.string('sid_hash', 64).primary();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('revoked_at').notNullable();
    t.index(['expires_at'], 'admin_revoked_sessions_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('admin_revoked_sessions');
}
