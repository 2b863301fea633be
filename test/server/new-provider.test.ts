/**
 * `paygate new-provider <id>` (server/cli/new-provider.ts): bad ids are refused with nothing
 * written, and a provider it generates, in a copy of this checkout, typechecks and passes its own
 * conformance test unchanged (on both databases when MariaDB is there, as every integration test).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ['--import=tsx', join(ROOT, 'server', 'cli.ts'), ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'silent' } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
}

/** Every file under `dir` with its content, to prove a refusal wrote nothing. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out[path.slice(dir.length)] = await readFile(path, 'utf8');
    }
  }
  return out;
}

test('new-provider refuses bad ids with exit code 2 and writes nothing', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'paygate-new-provider-'));
  try {
    await cp(join(ROOT, 'providers', '_template'), join(root, 'providers', '_template'), { recursive: true });
    await cp(join(ROOT, 'providers', 'index.ts'), join(root, 'providers', 'index.ts'));
    await cp(join(ROOT, 'test', 'contract', 'template.test.ts'), join(root, 'test', 'contract', 'template.test.ts'));
    await mkdir(join(root, 'providers', 'sinopac'));
    await cp(join(ROOT, 'providers', 'index.ts'), join(root, 'test', 'contract', 'taken.test.ts'));
    const before = await tree(root);
    const bad = ['Acme', 'a', '9pay', 'acme_pay', 'acme pay', `a${'b'.repeat(32)}`, 'acme-', 'ac--me', '_template', 'kit', 'fakepay', 'sinopac', 'taken', '../escape'];
    const answers = await Promise.all(bad.map((id) => cli(['new-provider', id, '--root', root])));
    answers.forEach((res, i) => {
      t.is(res.code, 2, `${bad[i]}: ${res.stderr}`);
      t.regex(res.stderr, /new-provider/, `${bad[i]}: says which command`);
    });
    const missing = await cli(['new-provider', '--root', root]);
    t.is(missing.code, 2, 'no id');
    t.deepEqual(await tree(root), before, 'nothing written');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a provider new-provider generates typechecks and passes its conformance test unchanged', async (t) => {
  t.timeout(8 * 60_000);
  const root = await mkdtemp(join(tmpdir(), 'paygate-new-provider-'));
  try {
    // The working tree (others may be editing: tracked and new files as they are now), not .git or node_modules.
    const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    for (const file of stdout.split('\0').filter(Boolean)) {
      if (!existsSync(join(ROOT, file))) continue;
      await mkdir(dirname(join(root, file)), { recursive: true });
      await cp(join(ROOT, file), join(root, file));
    }
    await symlink(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');

    const made = await cli(['new-provider', 'acmepay', '--root', root]);
    t.is(made.code, 0, made.stderr);
    for (const file of ['providers/acmepay/index.ts', 'providers/acmepay/adapter.ts', 'providers/acmepay/simulator.ts', 'test/contract/acmepay.test.ts']) {
      t.true(made.stdout.includes(file), `prints ${file}`);
    }
    t.regex(made.stdout, /docs\/providers\.md/, 'points to the guide');
    const registry = await readFile(join(root, 'providers', 'index.ts'), 'utf8');
    t.regex(registry, /import \{ acmepayModule \} from '\.\/acmepay\/index\.ts';/);
    t.regex(registry, /providerModules[^;]*acmepayModule\(\)\];/);
    t.false(registry.includes('_template'), 'the template stays out of production');
    const again = await cli(['new-provider', 'acmepay', '--root', root]);
    t.is(again.code, 2, 'refuses to overwrite');

    const env = { ...process.env, LOG_LEVEL: 'silent' };
    await t.notThrowsAsync(run('npx', ['tsc', '--noEmit', '-p', '.'], { cwd: root, env, maxBuffer: 16 * 1024 * 1024 }), 'the copy typechecks');
    const ava = await run(process.execPath, [join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs'), 'test/contract/acmepay.test.ts'], { cwd: root, env, maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
    t.is(ava.code, 0, ava.out.slice(-4000));
    t.regex(ava.out, /acmepay \(ack after apply\) conforms: the stored notify again/, 'the shared refusal cases ran');
    if (process.env.PAYGATE_TEST_MYSQL_URL) t.regex(ava.out, /\[mariadb\]/, 'on MariaDB too');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
