import type { Knex } from 'knex';

// What the buyer's pages show about the shop (set with `merchant:update`): its display name, a logo
// (an https URL), and how to reach its support. All optional; the pages fall back to the name.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('merchants', (t) => {
    t.string('display_name', 100).nullable();
    t.string('logo_url', 500).nullable();
    t.string('support_email', 254).nullable();
    t.string('support_url', 500).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('merchants', (t) => {
    t.dropColumn('display_name');
    t.dropColumn('logo_url');
    t.dropColumn('support_email');
    t.dropColumn('support_url');
  });
}
