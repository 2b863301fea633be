// Run before `npm start`, `npm run worker` and `npm run paygate`: compiles the TypeScript sources
// to dist/ (tsc, with source maps) when the compiler is installed, which it is after a plain
// `npm install`. A production install (`npm install --omit=dev`, or the packed tarball, which
// ships dist/ already built) has no compiler and runs what dist/ holds. Plain JavaScript, so that it
// runs with nothing but Node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
} catch {
  tsc = undefined;
}
if (tsc && existsSync(join(root, 'tsconfig.build.json'))) {
  const built = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
  if (built.status !== 0) {
    console.error('paygate: the build failed (npm run build shows the same errors)');
    process.exit(built.status ?? 1);
  }
} else if (!existsSync(join(root, 'dist', 'server', 'main.js'))) {
  console.error('paygate: dist/ is missing and no TypeScript compiler is installed: run `npm install` (with dev dependencies) and `npm run build`');
  process.exit(1);
}
