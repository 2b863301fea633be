/**
 * The shop's branding on the buyer's pages: the migration that stores it, the validation, and the
 * `merchant:update` command that sets it. The pages themselves: test/server/checkout.test.ts and
 * test/e2e/buyer-pages.test.ts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ValidationError } from '../../core/errors.ts';
import { createMerchant, findMerchantDisplay, updateMerchantDisplay } from '../../core/merchants.ts';
import { dbTest } from '../helpers/db.ts';

const run = promisify(execFile);
const MIGRATION = '20261203100001_merchant_display.ts';
const COLUMNS = ['display_name', 'logo_url', 'support_email', 'support_url'];

const cli = (url: string, ...args: string[]) =>
  run(process.execPath, ['--import=tsx', 'server/cli.ts', ...args], { env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' } });

/** The CLI's exit code, stdout and stderr, whether it succeeded or not. */
async function cliResult(url: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await cli(url, ...args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

dbTest('the migration adds the four display columns and its down removes them, keeping the merchants', async (t, h) => {
  const { merchant } = await createMerchant(h.db, { name: 'Before the migration ran again' });
  for (const column of COLUMNS) t.true(await h.db.schema.hasColumn('merchants', column), column);
  await h.db.migrate.down({ name: MIGRATION });
  try {
    for (const column of COLUMNS) t.false(await h.db.schema.hasColumn('merchants', column), `${column} dropped`);
    t.is((await h.db('merchants').where({ id: merchant.id }).first())?.name, 'Before the migration ran again');
  } finally {
    await h.db.migrate.up({ name: MIGRATION });
  }
  for (const column of COLUMNS) t.true(await h.db.schema.hasColumn('merchants', column), `${column} back`);
  // The longest values the validation allows fit the columns on either database.
  const long = {
    displayName: '店'.repeat(100),
    logoUrl: `https://cdn.example/${'a'.repeat(480)}`,
    supportEmail: `${'m'.repeat(64)}@${'d'.repeat(180)}.example`,
    supportUrl: `https://help.example/${'b'.repeat(479)}`,
  };
  const stored = await updateMerchantDisplay(h.db, merchant.id, long);
  t.deepEqual(stored, { name: long.displayName, logoUrl: long.logoUrl, supportEmail: long.supportEmail, supportUrl: long.supportUrl });
});

dbTest('display fields are validated with the field at fault; nothing is written on error', async (t, h) => {
  const { merchant } = await createMerchant(h.db, { name: 'Validated shop' });
  const refused = async (input: Record<string, unknown>, path: string, message: RegExp) => {
    const err = await t.throwsAsync(updateMerchantDisplay(h.db, merchant.id, input), { instanceOf: ValidationError });
    t.deepEqual(err!.details.map((d) => d.path), [path], JSON.stringify(input));
    t.regex(err!.details[0]!.message, message);
  };
  await refused({ logoUrl: 'http://cdn.example/logo.png' }, 'logoUrl', /https/);
  await refused({ logoUrl: 'javascript:alert(1)' }, 'logoUrl', /https/);
  await refused({ logoUrl: 'https://user:pw@cdn.example/logo.png' }, 'logoUrl', /no user name or password/);
  await refused({ supportEmail: 'not an email' }, 'supportEmail', /email/);
  await refused({ supportUrl: 'ftp://files.example/' }, 'supportUrl', /http/);
  await refused({ displayName: 'x'.repeat(101) }, 'displayName', /at most 100/);
  await refused({ displayName: 'a\nb' }, 'displayName', /control/);
  await refused({ displayName: 'nul\u0000' }, 'displayName', /NUL/);
  await refused({ displayName: 'Fine', colour: 'red' }, 'colour', /not a known field/);
  await t.throwsAsync(updateMerchantDisplay(h.db, merchant.id, {}), { instanceOf: ValidationError, message: /at least one/ });
  t.deepEqual(await findMerchantDisplay(h.db, merchant.id), { name: 'Validated shop', logoUrl: null, supportEmail: null, supportUrl: null });
});

dbTest('merchant:update sets, shows and clears the display fields; a bad value names its flag (exit 2); an unknown merchant exits 1', async (t, h) => {
  const { merchant } = await createMerchant(h.db, { name: 'CLI shop' });
  const set = await cliResult(
    h.url,
    'merchant:update',
    '--id',
    merchant.id,
    '--display-name',
    '茶與蛋糕 Tea & Cakes',
    '--logo-url',
    'https://cdn.shop.example/logo.png',
    '--support-email',
    'help@shop.example',
  );
  t.is(set.code, 0, set.stderr);
  t.regex(set.stdout, /display name:\s+茶與蛋糕 Tea & Cakes/);
  t.regex(set.stdout, /support URL:\s+-/);
  t.deepEqual(await findMerchantDisplay(h.db, merchant.id), {
    name: '茶與蛋糕 Tea & Cakes',
    logoUrl: 'https://cdn.shop.example/logo.png',
    supportEmail: 'help@shop.example',
    supportUrl: null,
  });

  const bad = await cliResult(h.url, 'merchant:update', '--id', merchant.id, '--logo-url', 'http://cdn.shop.example/logo.png', '--support-email', 'nope');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--logo-url must be an https:\/\/ URL/);
  t.regex(bad.stderr, /--support-email must be an email address/);
  t.is((await findMerchantDisplay(h.db, merchant.id))?.logoUrl, 'https://cdn.shop.example/logo.png', 'nothing written');

  const nothing = await cliResult(h.url, 'merchant:update', '--id', merchant.id);
  t.is(nothing.code, 2);
  t.regex(nothing.stderr, /give at least one of --display-name/);

  const cleared = await cliResult(h.url, 'merchant:update', '--id', merchant.id, '--logo-url', '', '--support-url', 'https://shop.example/help');
  t.is(cleared.code, 0, cleared.stderr);
  t.deepEqual(await findMerchantDisplay(h.db, merchant.id), {
    name: '茶與蛋糕 Tea & Cakes',
    logoUrl: null,
    supportEmail: 'help@shop.example',
    supportUrl: 'https://shop.example/help',
  });

  const unknown = await cliResult(h.url, 'merchant:update', '--id', 'mch_nobody', '--display-name', 'x');
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /no merchant mch_nobody/);

  const help = await cliResult(h.url, '--help');
  t.regex(help.stdout, /merchant:update --id <id> \[--display-name <name>\] \[--logo-url <https url>\]/);
});
