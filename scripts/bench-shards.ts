// Benchmark of scale-out: one `delineate segment` process on a 3072x3072 RGB GeoTIFF at 4.8 m (the shipped
// landcover-deepglobe model, tiles at its own resolution) against `segment --shard K/4` as 4 processes at once plus
// `delineate merge`: wall time of each, their ratio, peak RSS per process, tiles/s per core, and whether the merged
// result equals the single run (labels pixel for pixel, instance count, class areas). Needs `npm run build`.
//   node scripts/run-ts.mjs scripts/bench-shards.ts [--size 3072] [--shards 4] [--model landcover-deepglobe]
//        [--threads 2] [--shard-threads 1] [--tta] [--keep]
// The image: four DeepGlobe photos (../shared/data/landcover-deepglobe/images) side by side, labelled 4.8 m/px so
// the model runs them unresampled (real texture, not its true scale); generated fields and roads when they are absent.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { fieldsFallback, writeRgbStrips } from './fields-raster';
import { openImage } from '../main/engine/io';
import type { InstancesDocument } from '../preload/formats';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const size = Number(arg('size', '3072'));
const shards = Number(arg('shards', '4'));
const model = arg('model', 'landcover-deepglobe');
const threads = arg('threads', '2');
const shardThreads = arg('shard-threads', '1');
const tta = process.argv.includes('--tta');
const keep = process.argv.includes('--keep');
const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'bin', 'delineate.cjs');
const photos = path.resolve(root, '..', 'shared', 'data', 'landcover-deepglobe', 'images');

async function makeRaster(file: string, n: number): Promise<string> {
  const half = Math.ceil(n / 2);
  const names = existsSync(photos) ? readdirSync(photos).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, 4) : [];
  // Four quadrants, each a photo resized to half the raster, channel-planar.
  const quads: Uint8Array[] = [];
  for (const name of names.length === 4 ? names : []) {
    const { data } = await sharp(path.join(photos, name)).resize(half, half).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const planar = new Uint8Array(3 * half * half);
    for (let i = 0; i < half * half; i++) for (let c = 0; c < 3; c++) planar[c * half * half + i] = data[i * 3 + c]!;
    quads.push(planar);
  }
  await writeRgbStrips(file, n, 4.8, (band, y0, h) => {
    for (let y = 0; y < h; y++) {
      const gy = y0 + y;
      for (let x = 0; x < n; x++) {
        const i = y * n + x;
        for (let c = 0; c < 3; c++) {
          const q = quads[(gy >= half ? 2 : 0) + (x >= half ? 1 : 0)];
          band[c * n * h + i] = q ? q[c * half * half + (gy % half) * half + (x % half)]! : fieldsFallback(x, gy, c);
        }
      }
    }
  });
  return names.length === 4 ? `DeepGlobe photos ${names.join(', ')}` : 'generated fields and roads';
}

interface Timed {
  wallS: number;
  /** User + system CPU seconds: the cost on a machine of its own, whatever else shares these cores. */
  cpuS: number;
  peakRssMb: number;
  stdout: string;
}

/** Runs the CLI under /usr/bin/time for its peak RSS (maximum resident set, kB). */
function runCli(args: string[]): Promise<Timed> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const useTime = existsSync('/usr/bin/time');
    const child = useTime ? spawn('/usr/bin/time', ['-f', 'RSS_KB %M CPU_S %U %S', process.execPath, cli, ...args]) : spawn(process.execPath, [cli, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`delineate ${args.join(' ')} exited with ${code}: ${stderr}`));
      const rss = /RSS_KB (\d+) CPU_S ([\d.]+) ([\d.]+)/.exec(stderr);
      resolve({ wallS: (performance.now() - started) / 1000, cpuS: rss ? Number(rss[2]) + Number(rss[3]) : NaN, peakRssMb: rss ? Number(rss[1]) / 1024 : NaN, stdout });
    });
  });
}

async function band0(file: string): Promise<ArrayLike<number>> {
  const src = await openImage(file);
  try {
    return (await src.read({ channels: [0] })).data;
  } finally {
    await src.close();
  }
}

async function main(): Promise<void> {
  if (!existsSync(path.join(root, 'dist', 'cli.cjs'))) throw new Error('run npm run build first (the bench runs the built CLI)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delineate-bench-shards-'));
  try {
    const raster = path.join(dir, 'raster.tif');
    const what = await makeRaster(raster, size);
    const common = ['--model', model, ...(tta ? [] : ['--no-tta'])];
    console.log(`raster: ${size}x${size} RGB at 4.8 m (${what}); model ${model}${tta ? '' : ' --no-tta'}; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);

    const one = await runCli(['segment', raster, '--out', path.join(dir, 'one'), '--threads', threads, ...common]);
    const oneTiles = Number(/(\d+) tiles/.exec(one.stdout)?.[1] ?? NaN);
    console.log(`one process (--threads ${threads}): ${one.wallS.toFixed(1)} s wall, ${one.cpuS.toFixed(1)} s CPU, ${oneTiles} tiles, peak RSS ${one.peakRssMb.toFixed(0)} MB`);

    const t0 = performance.now();
    const parts = await Promise.all(
      Array.from({ length: shards }, (_, i) => runCli(['segment', raster, '--out', path.join(dir, `shard-${i + 1}`), '--shard', `${i + 1}/${shards}`, '--threads', shardThreads, ...common])),
    );
    const shardsWallS = (performance.now() - t0) / 1000;
    const tiles = parts.map((p) => Number(/(\d+) tiles/.exec(p.stdout)?.[1] ?? NaN));
    parts.forEach((p, i) => console.log(`  shard ${i + 1}/${shards} (--threads ${shardThreads}): ${p.wallS.toFixed(1)} s wall, ${p.cpuS.toFixed(1)} s CPU, ${tiles[i]} tiles (${(tiles[i]! / p.cpuS).toFixed(2)} per CPU-second), peak RSS ${p.peakRssMb.toFixed(0)} MB`));
    const merge = await runCli(['merge', ...parts.map((_, i) => path.join(dir, `shard-${i + 1}`)), '--out', path.join(dir, 'merged')]);
    console.log(`${shards} shards at once: ${shardsWallS.toFixed(1)} s wall; merge: ${merge.wallS.toFixed(1)} s wall, ${merge.cpuS.toFixed(1)} s CPU, peak RSS ${merge.peakRssMb.toFixed(0)} MB`);
    const totalTiles = tiles.reduce((a, b) => a + b, 0);
    const cpuS = parts.reduce((a, p) => a + p.cpuS, 0);
    console.log(`CPU: one run ${one.wallS > 0 ? one.cpuS.toFixed(1) : '?'} s (${(oneTiles / one.cpuS).toFixed(2)} tiles per CPU-second); shards ${cpuS.toFixed(1)} s for ${totalTiles} tiles (${(totalTiles / cpuS).toFixed(2)} per CPU-second; ${totalTiles - oneTiles} tiles run twice at window borders) + merge ${merge.cpuS.toFixed(1)} s = ${((cpuS + merge.cpuS) / one.cpuS).toFixed(2)}x the CPU of one run`);

    const a = await band0(path.join(dir, 'one', 'labels.tif'));
    const b = await band0(path.join(dir, 'merged', 'labels.tif'));
    let diff = a.length === b.length ? 0 : Math.max(a.length, b.length);
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) diff++;
    const da = JSON.parse(readFileSync(path.join(dir, 'one', 'instances.json'), 'utf8')) as InstancesDocument;
    const db = JSON.parse(readFileSync(path.join(dir, 'merged', 'instances.json'), 'utf8')) as InstancesDocument;
    const areas = (d: InstancesDocument): string => JSON.stringify(d.classes.map((c) => [c.name, c.pixelCount, c.areaM2]));
    const equal = diff === 0 && da.instances.length === db.instances.length && areas(da) === areas(db) && JSON.stringify(da.instances) === JSON.stringify(db.instances);
    console.log(`labels: ${diff === 0 ? 'pixel-identical' : `${diff} px differ`}; instances: ${da.instances.length} one run, ${db.instances.length} merged; class areas ${areas(da) === areas(db) ? 'equal' : 'differ'}`);
    const ratio = (shardsWallS + merge.wallS) / one.wallS;
    console.log(`shards: ${shards} shards + merge take ${ratio.toFixed(2)}x the wall time of one process (${shardsWallS.toFixed(1)} + ${merge.wallS.toFixed(1)} s vs ${one.wallS.toFixed(1)} s), result ${equal ? 'equal' : 'NOT equal'} to one run`);
    if (!equal) process.exitCode = 1;
  } finally {
    if (keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
