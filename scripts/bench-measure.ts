// Benchmark of instances + measurements on a large synthetic label raster, beside scikit-image's label +
// regionprops on the same data. Prints time, peak RSS and the ratio.
//   node scripts/run-ts.mjs scripts/bench-measure.ts [--size 20000] [--objects 100000] [--skimage-size N] [--no-skimage]
// The raster is generated strip by strip into a temporary GeoTIFF (TiffWriter), then measured from disk by the
// streaming path (postprocess/streaming.ts): memory is bounded by the strip, not the raster. scikit-image runs on the
// same raster, or on its top-left N x N window when --skimage-size is given (its int64 label image needs 8 bytes/pixel
// more); the ratio then compares the streaming path on that same window, also read from a GeoTIFF on disk.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Geometry } from '../preload/formats';
import { openGeoTiff } from '../main/engine/io/geotiff';
import { TiffWriter } from '../main/engine/io/tiff-writer';
import { measureStreaming, STRIP_ROWS } from '../main/engine/postprocess/streaming';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const size = arg('size', 20000);
const objects = arg('objects', 100000);
const skSize = Math.min(size, arg('skimage-size', size));
const runSkimage = !process.argv.includes('--no-skimage');
// 0.5 mm pixels: every medical 2D field (perimeter, Feret, RECIST axes, centroidMm) is computed.
const geometry: Geometry = { type: 'pixel', spacingMm: [0.5, 0.5, 1] };
const classes = ['a', 'b', 'c'].map((name) => ({ name, color: '#ff0000' }));

interface Ellipse {
  cls: number;
  cx: number;
  cy: number;
  a: number;
  b: number;
  c: number;
  s: number;
  r: number;
}

/** Deterministic random ellipses of classes 1..3, radii scaled so objects cover ~15% of the raster. */
function makeEllipses(n: number, count: number): Ellipse[] {
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const meanR = Math.sqrt((0.15 * n * n) / count / Math.PI);
  const out: Ellipse[] = [];
  for (let k = 0; k < count; k++) {
    const cls = 1 + Math.floor(rand() * 3);
    const cx = rand() * n;
    const cy = rand() * n;
    const a = meanR * (0.5 + rand());
    const b = a * (0.4 + 0.6 * rand());
    const th = rand() * Math.PI;
    out.push({ cls, cx, cy, a, b, c: Math.cos(th), s: Math.sin(th), r: Math.ceil(a) });
  }
  return out;
}

/**
 * Writes the n x n raster strip by strip: each strip draws, in generation order, the ellipses that reach it (later
 * ones over earlier ones, as drawing the whole raster would). Returns the label GeoTIFF; with `window`, also the
 * top-left window x window as raw uint8 for numpy.
 */
async function writeLabels(dir: string, n: number, ellipses: Ellipse[], rawWindow: number | null, name: string): Promise<string> {
  const file = path.join(dir, `${name}.tif`);
  const writer = await TiffWriter.open(file, { width: n, height: n, channels: 1, dtype: 'uint8', geometry, nodata: 255 });
  const raw = rawWindow ? openSync(path.join(dir, `${name}.u8`), 'w') : null;
  const S = STRIP_ROWS;
  const buckets: number[][] = Array.from({ length: Math.ceil(n / S) }, () => []);
  ellipses.forEach((e, k) => {
    const y0 = Math.max(0, Math.floor(e.cy - e.r));
    const y1 = Math.min(n - 1, Math.ceil(e.cy + e.r));
    if (y0 > y1) return;
    for (let b = Math.floor(y0 / S); b <= Math.floor(y1 / S); b++) buckets[b]!.push(k);
  });
  try {
    for (let si = 0; si < buckets.length; si++) {
      const sy = si * S;
      const rows = Math.min(S, n - sy);
      const strip = new Uint8Array(n * rows);
      for (const k of buckets[si]!) {
        const { cls, cx, cy, a, b, c, s, r } = ellipses[k]!;
        for (let y = Math.max(sy, Math.floor(cy - r)); y <= Math.min(sy + rows - 1, Math.ceil(cy + r)); y++) {
          for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(n - 1, Math.ceil(cx + r)); x++) {
            const u = ((x - cx) * c + (y - cy) * s) / a;
            const v = (-(x - cx) * s + (y - cy) * c) / b;
            if (u * u + v * v <= 1) strip[(y - sy) * n + x] = cls;
          }
        }
      }
      await writer.writeWindow(0, sy, n, rows, strip);
      if (raw !== null && rawWindow) for (let y = sy; y < Math.min(sy + rows, rawWindow); y++) writeSync(raw, strip, (y - sy) * n, rawWindow);
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    if (raw !== null) closeSync(raw);
  }
  return file;
}

/** Streaming components + measurements of a label GeoTIFF on disk; seconds and instance count. */
async function measureFile(file: string): Promise<{ seconds: number; count: number }> {
  const t = performance.now();
  const labels = await openGeoTiff(file);
  try {
    const m = await measureStreaming({ labels, nodataLabel: 255, connectivity: 8, geometry, classes });
    return { seconds: (performance.now() - t) / 1000, count: m.instances.length };
  } finally {
    await labels.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-measure-'));
  try {
    const t0 = performance.now();
    const ellipses = makeEllipses(size, objects);
    const rawWindow = runSkimage ? skSize : null;
    const file = await writeLabels(dir, size, ellipses, skSize === size ? rawWindow : null, 'labels');
    const genS = (performance.now() - t0) / 1000;
    const ours = await measureFile(file);
    const rssMb = process.resourceUsage().maxRSS / 1024;
    console.log(`raster ${size}x${size}, ${ours.count} instances (generated into a ${(statSync(file).size / 2 ** 20).toFixed(1)} MB GeoTIFF in ${genS.toFixed(1)} s)`);
    console.log(`delineate (streaming from disk, ${STRIP_ROWS}-row strips): components + measurements ${ours.seconds.toFixed(2)} s, peak RSS ${rssMb.toFixed(0)} MB`);
    if (!runSkimage) return;

    // Our time on the window scikit-image measures.
    let oursWindowS = ours.seconds;
    if (skSize !== size) {
      const winFile = await writeLabels(dir, skSize, ellipses, skSize, 'window');
      oursWindowS = (await measureFile(winFile)).seconds;
    }
    const rawFile = path.join(dir, skSize === size ? 'labels.u8' : 'window.u8');
    const script = [
      'import sys, time, resource, numpy as np',
      'from skimage import measure',
      `n = ${skSize}`,
      'lab = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(n, n)',
      't = time.perf_counter()',
      // Components per class (as ours): label each class mask and offset ids.
      'inst = np.zeros((n, n), dtype=np.int32); off = 0',
      'for c in (1, 2, 3):',
      '    l, k = measure.label(lab == c, connectivity=2, return_num=True)',
      '    inst[l > 0] = l[l > 0] + off; off += k',
      'tl = time.perf_counter() - t',
      'props = measure.regionprops(inst)',
      'rows = [(p.area, p.bbox, p.centroid, p.perimeter, p.feret_diameter_max, p.major_axis_length) for p in props]',
      'tt = time.perf_counter() - t',
      'print(f"{len(rows)} {tl:.3f} {tt:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")',
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', script, rawFile], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) {
      console.log(`scikit-image: failed (${r.stderr.trim().split('\n').pop() ?? r.status})`);
      return;
    }
    const [count, labelS, totalS, skRss] = r.stdout.trim().split(' ');
    const where = skSize === size ? 'same raster' : `top-left ${skSize}x${skSize} window`;
    console.log(
      `scikit-image (${where}, in memory): label ${labelS} s, label + regionprops (area, bbox, centroid, perimeter, feret_diameter_max, major_axis_length) ${totalS} s for ${count} regions, peak RSS ${skRss} MB`,
    );
    console.log(`ratio scikit-image / delineate on ${where}: ${(Number(totalS) / oursWindowS).toFixed(2)}x (delineate ${oursWindowS.toFixed(2)} s)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
