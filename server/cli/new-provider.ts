import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { str, UsageError, type FlagValues, type Flags } from './args.ts';

/**
 * `paygate new-provider <id>`: a new provider folder from the template (providers/_template/,
 * docs/providers.md), its conformance test, and its line in providers/index.ts. Development only: it
 * writes source files into a checkout, never into an installed package.
 */

export const newProviderFlags: Flags = {
  id: { type: 'string' },
  root: { type: 'string' },
};

export const NEW_PROVIDER_USAGE = `  new-provider <id> [--root <dir>]
                                  copy providers/_template/ to providers/<id>/ with its names
                                  rewritten, write test/contract/<id>.test.ts and register it in
                                  providers/index.ts; <id> is [a-z][a-z0-9-]{1,31}. --root: the
                                  checkout to write in (default: this package). See docs/providers.md
`;

const ID = /^[a-z][a-z0-9-]{1,31}$/;
/** Folder names under providers/ that are not providers, and the template's own id. */
const RESERVED = new Set(['_template', 'template', 'kit', 'simulator-kit', 'fakepay', 'index']);
/** The template's names, rewritten in every copied file (longest first). */
const TEMPLATE = { id: 'fakepay', pascal: 'FakePay', camel: 'fakePay', displayName: 'FakePay (template)' };

/** The package root: the nearest folder up from this file with a package.json (from server/ or dist/server/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the package root');
    dir = up;
  }
  return dir;
}

export function names(id: string): { id: string; pascal: string; camel: string } {
  const pascal = id
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return { id, pascal, camel: pascal.charAt(0).toLowerCase() + pascal.slice(1) };
}

/** Every template name in `text` replaced by the new provider's. */
export function rewrite(text: string, id: string): string {
  const n = names(id);
  return text
    .replaceAll(TEMPLATE.displayName, n.pascal)
    .replaceAll(TEMPLATE.pascal, n.pascal)
    .replaceAll(TEMPLATE.camel, n.camel)
    .replaceAll(TEMPLATE.id, n.id)
    .replaceAll('providers/_template/', `providers/${n.id}/`);
}

/** Why `id` cannot be a new provider in `root`, or null. */
export function idProblem(root: string, id: string): string | null {
  if (!ID.test(id)) return `provider id ${JSON.stringify(id)} must match [a-z][a-z0-9-]{1,31} (lower-case letters, digits and hyphens, 2-32 characters, a letter first)`;
  if (id.endsWith('-') || id.includes('--')) return `provider id ${JSON.stringify(id)} must not end with a hyphen or hold two in a row`;
  if (RESERVED.has(id)) return `provider id ${JSON.stringify(id)} is reserved`;
  if (existsSync(join(root, 'providers', id))) return `providers/${id}/ already exists`;
  if (existsSync(join(root, 'test', 'contract', `${id}.test.ts`))) return `test/contract/${id}.test.ts already exists`;
  const registry = readFileSync(join(root, 'providers', 'index.ts'), 'utf8');
  if (registry.includes(`${names(id).camel}Module`) || registry.includes(`'./${id}/`)) return `providers/index.ts already registers ${id}`;
  return null;
}

/** providers/index.ts with the new module imported and listed last in `providerModules`. */
export function register(source: string, id: string): string {
  const { camel } = names(id);
  const imports = [...source.matchAll(/^import .*;$/gm)];
  const last = imports[imports.length - 1];
  const list = /(export const providerModules[^=]*=\s*\[)([\s\S]*?)(\];)/.exec(source);
  if (!last || last.index === undefined || !list) throw new Error('providers/index.ts does not have the expected shape (imports, then `export const providerModules = [...]`)');
  const entries = list[2]!.trim().replace(/,\s*$/, '');
  const listed = source.replace(list[0], `${list[1]}${entries ? `${entries}, ` : ''}${camel}Module()${list[3]}`);
  const at = last.index + last[0].length;
  return `${listed.slice(0, at)}\nimport { ${camel}Module } from './${id}/index.ts';${listed.slice(at)}`;
}

export async function runNewProvider(values: FlagValues): Promise<number> {
  const id = str(values, 'id');
  if (!id) throw new UsageError('name the new provider: new-provider <id>');
  const root = resolve(str(values, 'root') ?? packageRoot());
  const template = join(root, 'providers', '_template');
  const templateTest = join(root, 'test', 'contract', 'template.test.ts');
  if (!existsSync(template) || !existsSync(templateTest) || !existsSync(join(root, 'providers', 'index.ts'))) {
    throw new UsageError(`${root} is not a paygate checkout (no providers/_template/, test/contract/template.test.ts or providers/index.ts)`);
  }
  const problem = idProblem(root, id);
  if (problem) throw new UsageError(problem);

  // Everything is read and rewritten first, then written: a refusal leaves nothing behind.
  const files = new Map<string, string>();
  for (const name of readdirSync(template).filter((f) => f.endsWith('.ts'))) {
    files.set(join(root, 'providers', id, name), rewrite(readFileSync(join(template, name), 'utf8'), id));
  }
  files.set(join(root, 'test', 'contract', `${id}.test.ts`), rewrite(readFileSync(templateTest, 'utf8'), id).replace(/^\/\*\*[\s\S]*?\*\/\n/, `/** ${names(id).pascal} runs the whole conformance suite (docs/providers.md#the-conformance-suite). */\n`));
  const registryPath = join(root, 'providers', 'index.ts');
  const registry = register(readFileSync(registryPath, 'utf8'), id);

  mkdirSync(join(root, 'providers', id));
  for (const [path, text] of files) writeFileSync(path, text, { flag: 'wx' });
  writeFileSync(registryPath, registry);

  const shown = (path: string) => relative(root, path);
  process.stdout.write(
    [
      `wrote:`,
      ...[...files.keys()].map((p) => `  ${shown(p)}`),
      `  ${shown(registryPath)} (import and entry in providerModules)`,
      '',
      'next (docs/providers.md, "Add a provider in an afternoon"):',
      `  1. npx tsc --noEmit -p . && npm test -- test/contract/${id}.test.ts   (passes as written: the template's protocol)`,
      `  2. write docs/protocols/${id}.md from the provider's spec; mark what you could not check UNVERIFIED`,
      `  3. replace the protocol in providers/${id}/ (config.ts, crypto.ts, adapter.ts, simulator.ts), one file at a time, the test green after each`,
      `  4. set callbackFields in test/contract/${id}.test.ts to the fields your notify really carries`,
      `  5. add the README provider table row, and the names buyers know it by as the module's buyerNames (providers/<id>/index.ts)`,
      '',
    ].join('\n'),
  );
  return 0;
}
