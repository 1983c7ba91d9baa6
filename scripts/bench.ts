// Benchmarks by name: `npm run bench` runs them all, `npm run bench -- <name> [args]` one of them.
// Each entry measures one path that has a performance target; add new ones to BENCHES.
import { spawnSync } from 'node:child_process';
import { benchGeotiff, parseBenchGeotiffArgs } from './bench-geotiff';

/** Runs a script-style benchmark in its own process (it holds large rasters; a fresh heap keeps RSS honest). */
function runScript(script: string, args: string[]): Promise<void> {
  const r = spawnSync(process.execPath, ['scripts/run-ts.mjs', script, ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${script} exited with ${r.status ?? r.signal}`);
  return Promise.resolve();
}

const BENCHES: Record<string, { about: string; run: (args: string[]) => Promise<void> }> = {
  dicom: {
    about: 'load a generated 512x512xN CT series (default N = 300), beside dcm2niix',
    // In its own process: bundled with the GeoTIFF benchmark the same read took 10.8 s instead of 2.4 s (the reader's
    // typed-array loop ran slower once that code was loaded), which is not what the app or the CLI do (2.0-2.4 s).
    run: (args) => runScript('scripts/bench-dicom.ts', args),
  },
  geotiff: {
    about: 'full read of a generated 10000x10000x3 DEFLATE COG (default size 10000) with the decode pool, beside gdal_translate -of ENVI with GDAL_NUM_THREADS=ALL_CPUS; last line: time ratio (target <= 1.0). Args: [size] [--repeats N] [--single]',
    run: (args) => {
      const { size, ...options } = parseBenchGeotiffArgs(args);
      return benchGeotiff(size, options);
    },
  },
  inference: {
    about: 'segment a generated 8192x8192 RGB GeoTIFF with a ~1.56M-parameter U-Net (time, session.run share, tiles/s, Mpx/s, RSS), then peak RSS on 20000x20000 with a pixel model',
    run: async (args) => {
      if (args.length > 0) return runScript('scripts/bench-inference.ts', args);
      await runScript('scripts/bench-inference.ts', ['--size', '8192', '--model', 'unet']);
      await runScript('scripts/bench-inference.ts', ['--size', '20000', '--model', 'pixel']);
    },
  },
  viewer: {
    about: 'pan a 10000x10000 GeoTIFF with overlay in headless Chromium (draw ms per frame, canvas 2D vs WebGL2), Run -> first overlay on 512x512',
    // Under tsx, not bundled: the test host builds its browser bridge from test/host/ at run time.
    run: (args) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-viewer.ts', ...args], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`scripts/bench-viewer.ts exited with ${r.status ?? r.signal}`);
      return Promise.resolve();
    },
  },
  prompt: {
    about: 'interactive segmentation on a generated 10000x10000 RGB GeoTIFF: model ms per click (prompt.json), whole call seconds, peak RSS',
    run: (args) => runScript('scripts/bench-prompt.ts', args),
  },
  'app-vs-cli': {
    about: 'the shipped brain model on a 22-slice FLAIR volume (../shared/data/tumor-lgg-flair, else generated) through the engine host as the app runs it and as `delineate segment` (wall time each, ratio; target <= 1.2; needs npm run build)',
    run: (args) => runScript('scripts/bench-app-vs-cli.ts', args),
  },
  brain: {
    about: 'end-to-end `delineate segment` of the shipped brain model on a 256x256x22 FLAIR volume (../shared/data/tumor-lgg-flair, else generated), a fresh process per run; last line: seconds per volume (target <= 3 s on 2 cores; needs npm run build)',
    run: (args) => runScript('scripts/bench-brain.ts', args),
  },
  shards: {
    about: 'one `delineate segment` process on a 3072x3072 RGB GeoTIFF (landcover-deepglobe, --no-tta unless --tta) vs `--shard K/4` as 4 processes at once + `delineate merge`: wall-time ratio, peak RSS per process, tiles/s per core, and whether the merged result equals the single run (needs npm run build)',
    run: (args) => runScript('scripts/bench-shards.ts', args),
  },
  'app-large': {
    about: 'a generated 20000x20000 RGB GeoTIFF at 4.8 m (--size N) segmented through the engine host as the app runs it (windowed, result kept on disk; --model small|landcover-deepglobe|<folder>, default a 1x1 convolution with landcover-deepglobe\'s inputs and outputs), then three full-resolution result tiles; last line: peak RSS of engine host + this process (target <= 1.5 GB, the same +-20% at 40000 as at 10000); --cancel: cancel time and what is left (needs npm run build)',
    run: (args) => runScript('scripts/bench-app-large.ts', args),
  },
  'landcover-8192': {
    about: '`delineate segment` of an 8192x8192 RGB GeoTIFF at 4.8 m (a mosaic of ../shared/data/landcover-deepglobe photos, else generated) with the shipped landcover-deepglobe model, flips on, vs onnxruntime alone running the same tiles and flips; last line: time ratio (target <= 1.3), peak RSS (target <= 1.5 GB), instances. Args: [--size N] [--raster file.tif] [--threads N] [--keep]; needs npm run build',
    run: (args) => runScript('scripts/bench-landcover.ts', args),
  },
  'vector-export': {
    about: 'GeoJSON, GeoPackage and Shapefile export of a generated 20000x20000 windowed result folder (--size N, --cell px: one field per cell, 97,344 objects by default, uint32 ids), streamed from instances.tif; --in-memory also runs the whole-folder path; last line: seconds and peak RSS per format. Args: [--formats gpkg,geojson,shp] [--keep dir]',
    run: (args) => runScript('scripts/bench-vector-export.ts', args),
  },
  measure: {
    about:
      'components + measurements of a 20000x20000 label raster with 100000 objects, streamed from a GeoTIFF on disk (time, peak RSS), beside scikit-image; then `measure --zones` (400 parcels) and `--labels-are instances` (60000 ids) on 20000x20000, and a 1024x1024x600 .nii.gz label volume (time, peak RSS each; `-- measure --case zones|instances|volume` for one)',
    run: async (args) => {
      if (args.length > 0) return runScript('scripts/bench-measure.ts', args);
      for (const c of ['classes', 'zones', 'instances', 'volume']) await runScript('scripts/bench-measure.ts', ['--case', c]);
    },
  },
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  if (name === '--help' || (name !== undefined && !(name in BENCHES))) {
    console.log(`usage: npm run bench [-- <name> [args]]\n${Object.entries(BENCHES).map(([n, b]) => `  ${n}: ${b.about}`).join('\n')}`);
    process.exitCode = name === '--help' ? 0 : 2;
    return;
  }
  for (const [n, b] of Object.entries(BENCHES)) {
    if (name !== undefined && n !== name) continue;
    console.log(`== ${n}`);
    await b.run(name !== undefined ? args : []);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
