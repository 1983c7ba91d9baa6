// Benchmark: full read of a 10000x10000 3-band DEFLATE COG (generated once with GDAL, reused from the temp folder),
// time and peak RSS of our reader with its decode pool (in a child process, so the figure is its own) beside
// `gdal_translate -of ENVI` with GDAL_NUM_THREADS=ALL_CPUS on the same file. Runs alternate (GDAL, ours) `repeats`
// times and the best of each counts, since the cores are shared; the load average is printed with the figures.
// Target: time ratio <= 1.0, peak memory under 1 GB. `--single` also times our read with the pool off.
// Run: npm run bench -- geotiff [size] [--repeats N] [--single], or node scripts/run-ts.mjs scripts/bench-geotiff.ts
// (heavy: ~300 MB of pixels; the generated file is kept in the temp folder for the next run).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGeoTiff } from '../main/engine/io/geotiff';
import { closeDecodePool, decodeThreads } from '../main/engine/io/geotiff-pool';

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
  await closeDecodePool();
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

/** gdal_translate -of ENVI with all cores (GDAL_NUM_THREADS=ALL_CPUS), time and peak RSS from /usr/bin/time. */
function gdal(file: string, dir: string): Run {
  const out = join(dir, 'gdal-out.bin');
  const env = { ...process.env, GDAL_NUM_THREADS: 'ALL_CPUS' };
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'gdal_translate', '-q', '-of', 'ENVI', file, out], { encoding: 'utf8', env });
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
export async function benchGeotiff(size = 10000, options: { repeats?: number; single?: boolean } = {}): Promise<void> {
  const childFile = process.env[CHILD_ENV];
  if (childFile) {
    await child(childFile);
    process.exit(0);
  }
  const repeats = Math.max(1, options.repeats ?? 2);
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
  const threads = decodeThreads();
  const ourRead = (env: Record<string, string> = {}): Run => {
    const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { encoding: 'utf8', env: { ...process.env, ...env, [CHILD_ENV]: file } });
    if (r.status !== 0) throw new Error(`our read failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
  };
  const best = (runs: Run[]): Run => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');
  const loadBefore = load();
  // Warm the page cache for both, so neither pays the first disk read.
  gdal(file, dir);
  const gRuns: Run[] = [];
  const oRuns: Run[] = [];
  const sRuns: Run[] = [];
  for (let i = 0; i < repeats; i++) {
    gRuns.push(gdal(file, dir));
    oRuns.push(ourRead());
    if (options.single) sRuns.push(ourRead({ DELINEATE_DECODE_THREADS: '0' }));
  }
  const g = best(gRuns);
  const ours = best(oRuns);
  const fmt = (x: Run): string => `${x.seconds.toFixed(2)} s, peak ${x.peakRssMb.toFixed(0)} MB`;
  const all = (runs: Run[]): string => runs.map((r) => r.seconds.toFixed(2)).join(', ');
  console.log(`${size}x${size}x3 DEFLATE COG full read, best of ${repeats} (load average ${loadBefore} before, ${load()} after; ${availableParallelism()} cores)`);
  console.log(`  delineate, pool ${threads} threads:         ${fmt(ours)}  [runs: ${all(oRuns)}]`);
  if (options.single) console.log(`  delineate, no pool:                ${fmt(best(sRuns))}  [runs: ${all(sRuns)}]`);
  console.log(`  gdal_translate, GDAL_NUM_THREADS=ALL_CPUS: ${fmt(g)}  [runs: ${all(gRuns)}]`);
  const ratio = ours.seconds / g.seconds;
  console.log(`  peak memory ${ours.peakRssMb.toFixed(0)} MB (target < 1024 MB): ${ours.peakRssMb < 1024 ? 'OK' : 'MISSED'}; time ratio target <= 1.0: ${ratio <= 1 ? 'OK' : 'MISSED'}`);
  console.log(`geotiff: ratio ${ratio.toFixed(2)} (ours ${ours.seconds.toFixed(1)} s / GDAL ALL_CPUS ${g.seconds.toFixed(1)} s, ${size}x${size}x3 DEFLATE, pool ${threads} threads, load ${loadBefore.split(' ')[0]})`);
}

/** [size] [--repeats N] [--single] */
export function parseBenchGeotiffArgs(args: string[]): { size?: number; repeats?: number; single?: boolean } {
  const out: { size?: number; repeats?: number; single?: boolean } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--single') out.single = true;
    else if (a === '--repeats') out.repeats = Number(args[++i]);
    else if (/^\d+$/.test(a)) out.size = Number(a);
    else throw new Error(`bench geotiff: unknown argument ${a} (usage: [size] [--repeats N] [--single])`);
  }
  return out;
}

// Run directly (not imported by scripts/bench.ts).
if (/bench-geotiff\.(ts|cjs|js)$/.test(process.argv[1] ?? '')) {
  const { size, ...options } = parseBenchGeotiffArgs(process.argv.slice(2));
  benchGeotiff(size, options).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
