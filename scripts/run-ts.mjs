// Runs a TypeScript script that uses the engine: bundles it with the app's esbuild options into .tmp/ and runs
// the bundle with the remaining arguments. tsx cannot load the engine (nifti-reader-js is ESM-only).
// Usage: node scripts/run-ts.mjs scripts/eval.ts [args...]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeBundleOptions, nodeExternals } from './esbuild-node.mjs';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args...]');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Inside the repo, so the engine finds the app root (package.json) and the shipped models from the bundle.
const outfile = path.join(root, '.tmp', 'run', `${path.basename(entry).replace(/\.[cm]?tsx?$/, '')}.cjs`);
await Promise.all([
  build({ ...nodeBundleOptions, entryPoints: [path.resolve(entry)], outfile, external: nodeExternals }),
  // The GeoTIFF decode pool looks for its worker beside the running bundle, as in dist/.
  build({ ...nodeBundleOptions, entryPoints: [path.join(root, 'main/engine/io/geotiff-worker.ts')], outfile: path.join(path.dirname(outfile), 'geotiff-worker.cjs'), external: nodeExternals }),
]);
const run = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
