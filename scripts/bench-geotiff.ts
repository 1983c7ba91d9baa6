// Benchmark: full read of a 10000x10000 3-band DEFLATE COG (generated once with GDAL, reused from the temp folder),
// time and peak RSS of our reader (in a child process, so the figure is its own) beside `gdal_translate -of ENVI`
// on the same file, as ratios. Target: within 2x of GDAL's time, peak memory under 1 GB.
// Run: node scripts/run-ts.mjs scripts/bench-geotiff.ts [size], or call benchGeotiff() from scripts/bench.ts
// (heavy: ~300 MB of pixels; the generated file is kept in the temp folder for the next run).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGeoTiff } from '../main/engine/io/geotiff';

interface Run {
  seconds: number;
  peakRssMb: number;
}

/** Our read, measured inside the child process. */
async function child(file: string): Promise<void> {
  const t0 = performance.now();
  const src = await openGeoTiff(file);
  const block = await src.read();
  const seconds = (performance.now() - t0) / 1000;
  await src.close();
  // maxRSS is in KiB.
  const run: Run = { seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify({ ...run, samples: block.data.length }) + '\n');
}

/** Generates the COG: smooth gradients plus noise, about as compressible as an orthophoto. */
function generate(file: string, size: number): void {
  const code = `
import sys, numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
out, n = sys.argv[1], int(sys.argv[2])
mem = gdal.GetDriverByName('MEM').Create('', n, n, 3, gdal.GDT_Byte)
mem.SetGeoTransform([600000, 0.5, 0, 6650000, 0, -0.5])
s = osr.SpatialReference(); s.ImportFromEPSG(32633); mem.SetProjection(s.ExportToWkt())
rng = np.random.default_rng(1)
for b in range(3):
    band = mem.GetRasterBand(b + 1)
    for y0 in range(0, n, 1000):
        h = min(1000, n - y0)
        yy, xx = np.mgrid[y0:y0 + h, 0:n]
        a = (np.sin(xx / (90.0 + b * 7)) * 60 + np.cos(yy / 130.0) * 50 + 128 + rng.integers(0, 24, size=(h, n))).clip(0, 255).astype(np.uint8)
        band.WriteArray(a, 0, y0)
gdal.GetDriverByName('COG').CreateCopy(out, mem, options=['COMPRESS=DEFLATE', 'BLOCKSIZE=512', 'NUM_THREADS=2'])
`;
  const r = spawnSync('/usr/bin/python3', ['-c', code, file, String(size)], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('generating the COG failed (needs python3-gdal)');
}

/** gdal_translate -of ENVI, time and peak RSS from /usr/bin/time. */
function gdal(file: string, dir: string): Run {
  const out = join(dir, 'gdal-out.bin');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'gdal_translate', '-q', '-of', 'ENVI', file, out], { encoding: 'utf8' });
  rmSync(out, { force: true });
  rmSync(`${out}.aux.xml`, { force: true });
  rmSync(join(dir, 'gdal-out.hdr'), { force: true });
  const [seconds, kb] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  if (r.status !== 0 || seconds === undefined || kb === undefined) throw new Error(`gdal_translate failed: ${r.stderr}`);
  return { seconds, peakRssMb: kb / 1024 };
}

const CHILD_ENV = 'DELINEATE_BENCH_GEOTIFF_CHILD';

/**
 * The benchmark. Our read runs in a child: the same entry script and arguments re-run with CHILD_ENV set, so whichever
 * entry reaches benchGeotiff() (this file, or scripts/bench.ts dispatching here) does the measured read and exits.
 */
export async function benchGeotiff(size = 10000): Promise<void> {
  const childFile = process.env[CHILD_ENV];
  if (childFile) {
    await child(childFile);
    process.exit(0);
  }
  const dir = join(tmpdir(), 'delineate-bench-geotiff');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cog-${size}-rgb-deflate.tif`);
  if (!existsSync(file)) {
    const t0 = performance.now();
    generate(file, size);
    console.log(`generated ${file} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } else {
    console.log(`reusing ${file}`);
  }
  // Warm the page cache for both, so neither pays the first disk read.
  gdal(file, dir);
  const g = gdal(file, dir);
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { encoding: 'utf8', env: { ...process.env, [CHILD_ENV]: file } });
  if (r.status !== 0) throw new Error(`our read failed: ${r.stderr}`);
  const ours = JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
  const fmt = (x: Run): string => `${x.seconds.toFixed(2)} s, peak ${x.peakRssMb.toFixed(0)} MB`;
  console.log(`${size}x${size}x3 DEFLATE COG full read`);
  console.log(`  delineate:               ${fmt(ours)}`);
  console.log(`  gdal_translate -of ENVI: ${fmt(g)}`);
  const ratio = ours.seconds / g.seconds;
  console.log(`  time ratio ${ratio.toFixed(2)}x (target <= 2x), peak memory ${ours.peakRssMb.toFixed(0)} MB (target < 1024 MB): ${ratio <= 2 && ours.peakRssMb < 1024 ? 'OK' : 'MISSED'}`);
}

// Run directly (not imported by scripts/bench.ts).
if (/bench-geotiff\.(ts|cjs|js)$/.test(process.argv[1] ?? '')) {
  const arg = process.argv[2];
  benchGeotiff(arg ? Number(arg) : undefined).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
