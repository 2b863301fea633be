/**
 * What a production install (`npm install --omit=dev`) brings: nothing that only tests, the
 * benchmark or the browser journeys use (issue 13, item 7).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

const TEST_ONLY = ['playwright-core', 'autocannon', 'ava', 'sinon', 'fast-check', '@seriousme/openapi-schema-validator', 'typescript'];

test('test-only packages are dev dependencies, never production ones', (t) => {
  for (const name of TEST_ONLY) {
    t.false(name in pkg.dependencies, `${name} is not a production dependency`);
  }
  t.true('playwright-core' in pkg.devDependencies);
  for (const name of Object.keys(pkg.dependencies)) t.false(name.startsWith('@types/'), `${name}: types are dev dependencies`);
});
