// Benchmark `landcover-8192`: `delineate segment` of an 8192x8192 RGB GeoTIFF at 4.8 m with the shipped
// landcover-deepglobe model (its test-time flips on), against onnxruntime alone running the same tiles: the same
// model file and thread settings, the same number of tile batches and flips the segment ran (read back from its
// instances.json), on one real tile's pixels, with no reading, blending, post-processing or writing. Both run as
// their own process under /usr/bin/time, so wall time and peak RSS are each process's own. Needs `npm run build`.
//   node scripts/run-ts.mjs scripts/bench-landcover.ts [--size 8192] [--raster <file.tif>] [--threads N] [--keep]
// The raster: DeepGlobe tiles (../shared/data/landcover-deepglobe/images, 256 px each) laid out as a mosaic, each
// mirrored or turned by a fixed pseudo-random choice, georeferenced at 4.8 m/px so the model runs them at its own
// resolution (real texture and a realistic patch count); generated fields and roads when the photos are absent.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { fieldsFallback, writeRgbStrips } from './fields-raster';
import { openImage } from '../main/engine/io';
import { resolveModel } from '../main/engine/inference/manifest';
import { normalizeSlice, planNormalization } from '../main/engine/inference/normalize';
import { flipTensor } from '../main/engine/inference/tiling';
import { createOrtRuntime, type Tensor4 } from '../main/engine/inference/runtime';
import type { InstancesDocument, TestTimeFlip } from '../preload/formats';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'bin', 'delineate.cjs');
const photos = path.resolve(root, '..', 'shared', 'data', 'landcover-deepglobe', 'images');
const MODEL = 'landcover-deepglobe';

/** Mosaic of DeepGlobe photos (see the header), written in bands of 256 rows: never whole in memory. */
export async function makeMosaic(file: string, n: number): Promise<string> {
  const T = 256;
  const names = existsSync(photos) ? readdirSync(photos).filter((f) => /\.jpe?g$/i.test(f)).sort() : [];
  const tiles: Uint8Array[] = [];
  for (const name of names) {
    const { data, info } = await sharp(path.join(photos, name)).removeAlpha().resize(T, T, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) continue;
    tiles.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
  }
  let seed = 2024;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 8;
  };
  await writeRgbStrips(
    file,
    n,
    4.8,
    (band, y0, h) => {
      for (let x0 = 0; x0 < n; x0 += T) {
        const w = Math.min(T, n - x0);
        const tile = tiles.length ? tiles[rand() % tiles.length]! : null;
        const turn = rand() % 8; // bit 0: mirror x, bit 1: mirror y, bit 2: transpose
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            let sx = turn & 4 ? y : x;
            let sy = turn & 4 ? x : y;
            if (turn & 1) sx = T - 1 - sx;
            if (turn & 2) sy = T - 1 - sy;
            const i = y * n + x0 + x;
            for (let c = 0; c < 3; c++) band[c * n * h + i] = tile ? tile[(sy * T + sx) * 3 + c]! : fieldsFallback(x0 + x, y0 + y, c);
          }
        }
      }
    },
    T,
  );
  return tiles.length ? `${tiles.length} DeepGlobe photos as a mosaic of ${T} px tiles` : 'generated fields and roads (DeepGlobe photos not found)';
}

/** Runs a command under /usr/bin/time: wall seconds, peak RSS (MB), exit status and output. */
function timed(cmd: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; rssMb: number; status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', ...cmd], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`${cmd.join(' ')}: no timing (${r.error?.message ?? r.stderr.slice(-500)})`);
  return { seconds: Number(m[1]), rssMb: Number(m[2]) / 1024, status: r.status, stdout: r.stdout, stderr: r.stderr.slice(0, m.index) };
}

/**
 * The baseline (`--phase ort`): `runs` batches of `batch` tiles through the model, each also run mirrored along
 * every flip, on one real tile of the raster (normalised as the segment normalises it, flipped inputs made once).
 */
async function ortAlone(raster: string, runs: number, batch: number, flips: TestTimeFlip[], threads: number | undefined): Promise<void> {
  const model = await resolveModel(MODEL);
  const m = model.manifest;
  const [tw, th] = m.tileSize;
  const C = m.input.channels.length;
  const src = await openImage(raster);
  let input: Float32Array;
  try {
    const x = Math.max(0, Math.floor(src.width / 2) - tw);
    const y = Math.max(0, Math.floor(src.height / 2) - th);
    const block = await src.read({ x, y, width: tw, height: th, channels: Array.from({ length: C }, (_, c) => c) });
    const one = normalizeSlice({ data: block.data, width: tw, height: th, depth: 1, channels: C }, 0, planNormalization(m.normalization, { data: new Float32Array(0), width: 0, height: 0, depth: 1, channels: C }));
    input = new Float32Array(batch * C * tw * th);
    for (let b = 0; b < batch; b++) input.set(one, b * one.length);
  } finally {
    await src.close();
  }
  const session = await createOrtRuntime().createSession(model.onnxPath, { device: 'cpu', ...(threads ? { threads } : {}) });
  const inputs: Tensor4[] = [input, ...flips.map((f) => flipTensor(input, batch * C, th, tw, f))].map((data) => ({ data, dims: [batch, C, th, tw] }));
  const t0 = performance.now();
  for (let r = 0; r < runs; r++) for (const t of inputs) await session.run(t);
  const s = (performance.now() - t0) / 1000;
  await session.dispose();
  console.log(`ORT ${s.toFixed(2)} ${runs * inputs.length}`);
}

async function main(): Promise<void> {
  const phase = arg('phase', 'main');
  const threadsArg = arg('threads', '');
  const threads = threadsArg ? Number(threadsArg) : undefined;
  if (phase === 'mosaic') {
    console.log(await makeMosaic(arg('raster', ''), Number(arg('size', '8192'))));
    return;
  }
  if (phase === 'ort') {
    await ortAlone(arg('raster', ''), Number(arg('runs', '0')), Number(arg('batch', '1')), arg('flips', '').split(',').filter(Boolean) as TestTimeFlip[], threads);
    return;
  }
  if (!existsSync(cli) || !existsSync(path.join(root, 'dist', 'cli.cjs'))) throw new Error('run `npm run build` first (the benchmark runs the built `delineate` CLI)');
  const size = Number(arg('size', '8192'));
  const keep = process.argv.includes('--keep');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delineate-bench-landcover-'));
  try {
    let raster = arg('raster', '');
    if (!raster) {
      raster = path.join(dir, `mosaic-${size}.tif`);
      const t0 = performance.now();
      const about = await makeMosaic(raster, size);
      console.log(`raster: ${size}x${size} RGB GeoTIFF at 4.8 m, ${about} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
    const out = path.join(dir, 'out');
    const seg = timed([process.execPath, cli, 'segment', raster, '--model', MODEL, '--out', out, ...(threads ? ['--threads', String(threads)] : [])]);
    if (seg.status !== 0) throw new Error(`delineate segment exited with ${seg.status}: ${seg.stderr.slice(-2000)}`);
    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as InstancesDocument;
    const inf = doc.inference!;
    const flips = Array.isArray(inf.testTimeFlips) ? (inf.testTimeFlips as TestTimeFlip[]) : [];
    const batch = inf.batch;
    // The tiles the model ran: planned per window, less nodata tiles and outputs an earlier window left for reuse.
    const ran = inf.tiles - (typeof inf.tilesSkipped === 'number' ? inf.tilesSkipped : 0) - (typeof inf.tilesReused === 'number' ? inf.tilesReused : 0);
    const runs = Math.ceil(ran / batch);
    console.log(`segment: ${seg.seconds.toFixed(1)} s, peak RSS ${seg.rssMb.toFixed(0)} MB; ${inf.tiles} tiles planned, ${ran} run of ${inf.tileSize.join('x')}, batch ${batch}, flips ${flips.join(',') || 'none'}, inside session.run ${Number(inf.inferenceSeconds).toFixed(1)} s; ${JSON.stringify(inf.windowed)}; ${doc.instances.length} instances (${String(inf.instances ?? inf.instanceSplit)})`);
    const self = process.argv[1]!;
    const ort = timed([process.execPath, self, '--phase', 'ort', '--raster', raster, '--runs', String(runs), '--batch', String(batch), '--flips', flips.join(','), ...(threads ? ['--threads', String(threads)] : [])]);
    if (ort.status !== 0) throw new Error(`ORT baseline exited with ${ort.status}: ${ort.stderr.slice(-2000)}`);
    const line = /ORT ([\d.]+) (\d+)/.exec(ort.stdout);
    console.log(`onnxruntime alone: ${ort.seconds.toFixed(1)} s process (${line ? `${line[1]} s in ${line[2]} session.run calls` : 'no detail'}), peak RSS ${ort.rssMb.toFixed(0)} MB`);
    const ratio = seg.seconds / ort.seconds;
    console.log(`landcover-${size}: ratio ${ratio.toFixed(2)} (segment ${seg.seconds.toFixed(0)} s / ORT alone ${ort.seconds.toFixed(0)} s; target <= 1.3), peak RSS ${(seg.rssMb / 1024).toFixed(2)} GB (target <= 1.5), ${doc.instances.length} instances`);
  } finally {
    if (keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
