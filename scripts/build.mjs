// Builds the app: esbuild bundles the Node/Electron side (main, preload, engine host, CLI) into CommonJS,
// Vite builds the React renderer. Native modules stay external so their prebuilt binaries load as shipped.
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';
import { copyFileSync, rmSync } from 'node:fs';
import { writeNotices } from './third-party-notices.mjs';
import { nodeBundleOptions as watchless, nodeExternals as external } from './esbuild-node.mjs';

rmSync('dist', { recursive: true, force: true });
await Promise.all([
  build({ ...watchless, entryPoints: ['main/index.ts'], outfile: 'dist/main/index.cjs', external }),
  build({ ...watchless, entryPoints: ['main/engine/host/entry.ts'], outfile: 'dist/engine-host.cjs', external }),
  build({ ...watchless, entryPoints: ['main/cli/index.ts'], outfile: 'dist/cli.cjs', external }),
  // GeoTIFF decode workers: the CLI and the engine host both find it beside themselves (io/geotiff-pool.ts).
  build({ ...watchless, entryPoints: ['main/engine/io/geotiff-worker.ts'], outfile: 'dist/geotiff-worker.cjs', external }),
  // A sandboxed preload may require only 'electron': everything else is bundled in.
  build({ ...watchless, entryPoints: ['preload/index.ts'], outfile: 'dist/preload/index.cjs', external: ['electron'] }),
]);
await viteBuild({ configFile: 'vite.config.ts', logLevel: 'warn' });
// Licences travel with the bundles: the About view reads them from dist/, packaging copies them beside the program.
copyFileSync('LICENSE', 'dist/LICENSE.txt');
writeNotices(process.cwd(), 'dist/THIRD-PARTY-NOTICES.txt');
console.log('built dist/');
