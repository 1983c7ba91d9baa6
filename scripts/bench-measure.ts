// Benchmark of instances + measurements on a large synthetic label raster, beside scikit-image's label +
// regionprops on the same data. Prints time, peak RSS and the ratio.
//   node scripts/run-ts.mjs scripts/bench-measure.ts [--size 20000] [--objects 100000] [--skimage-size N] [--no-skimage]
// Other cases, each through `delineate measure`'s own entry (measureFiles, streamed above the threshold), the label
// raster serving as its own image; the last line names the figures (time, peak RSS):
//   --case zones [--zones 400]: class labels + a GeoJSON of N parcels (UTM 33N, 1 m pixels) -> zones.csv
//   --case instances [--objects 60000]: a uint16 raster of instance ids (--labels-are instances)
//   --case volume [--size 1024] [--depth 600] [--objects 20000]: a uint8 .nii.gz label volume of ellipsoids
// The raster is generated strip by strip into a temporary GeoTIFF (TiffWriter), then measured from disk by the
// streaming path (postprocess/streaming.ts): memory is bounded by the strip, not the raster. scikit-image runs on the
// same raster, or on its top-left N x N window when --skimage-size is given (its int64 label image needs 8 bytes/pixel
// more); the ratio then compares the streaming path on that same window, also read from a GeoTIFF on disk.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileSync } from 'node:fs';
import type { GeoGeometry, Geometry, MedicalGeometry } from '../preload/formats';
import { openGeoTiff } from '../main/engine/io/geotiff';
import { NiftiSliceWriter } from '../main/engine/io/nifti-stream';
import { TiffWriter } from '../main/engine/io/tiff-writer';
import { measureFiles } from '../main/engine/pipeline';
import { measureStreaming, STRIP_ROWS } from '../main/engine/postprocess/streaming';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function argString(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const benchCase = argString('case', 'classes');
const size = arg('size', benchCase === 'volume' ? 1024 : 20000);
const objects = arg('objects', benchCase === 'instances' ? 60000 : benchCase === 'volume' ? 20000 : 100000);
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
async function writeLabels(dir: string, n: number, ellipses: Ellipse[], rawWindow: number | null, name: string, as: { geometry: Geometry; instances: boolean } = { geometry, instances: false }): Promise<string> {
  const file = path.join(dir, `${name}.tif`);
  const writer = await TiffWriter.open(file, { width: n, height: n, channels: 1, dtype: as.instances ? 'uint16' : 'uint8', geometry: as.geometry, ...(as.instances ? {} : { nodata: 255 }) });
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
      const strip = as.instances ? new Uint16Array(n * rows) : new Uint8Array(n * rows);
      for (const k of buckets[si]!) {
        const { cx, cy, a, b, c, s, r } = ellipses[k]!;
        // Instance ids 1..65535 in generation order (ids are values, so a later ellipse cuts an earlier one).
        const cls = as.instances ? 1 + (k % 65535) : ellipses[k]!.cls;
        for (let y = Math.max(sy, Math.floor(cy - r)); y <= Math.min(sy + rows - 1, Math.ceil(cy + r)); y++) {
          for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(n - 1, Math.ceil(cx + r)); x++) {
            const u = ((x - cx) * c + (y - cy) * s) / a;
            const v = (-(x - cx) * s + (y - cy) * c) / b;
            if (u * u + v * v <= 1) strip[(y - sy) * n + x] = cls;
          }
        }
      }
      await writer.writeWindow(0, sy, n, rows, strip);
      if (raw !== null && rawWindow && strip instanceof Uint8Array) for (let y = sy; y < Math.min(sy + rows, rawWindow); y++) writeSync(raw, strip, (y - sy) * n, rawWindow);
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

/** Peak RSS of this process so far, MB. */
function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Parcels: an irregular grid of count quadrilaterals (jittered corners) over the raster, in map coordinates. */
function parcels(g: GeoGeometry, n: number, count: number): object {
  const k = Math.max(1, Math.round(Math.sqrt(count)));
  let seed = 777;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const [ox, a, , oy, , e] = g.geotransform;
  const step = n / k;
  const corner = Array.from({ length: (k + 1) * (k + 1) }, (_, i) => {
    const gx = i % (k + 1);
    const gy = Math.floor(i / (k + 1));
    const jx = gx === 0 || gx === k ? 0 : (rand() - 0.5) * step * 0.4;
    const jy = gy === 0 || gy === k ? 0 : (rand() - 0.5) * step * 0.4;
    return [ox + (gx * step + jx) * a, oy + (gy * step + jy) * e];
  });
  const features = [];
  for (let gy = 0; gy < k; gy++) {
    for (let gx = 0; gx < k; gx++) {
      const at = (x: number, y: number): number[] => corner[y * (k + 1) + x]!;
      const ring = [at(gx, gy), at(gx + 1, gy), at(gx + 1, gy + 1), at(gx, gy + 1), at(gx, gy)];
      features.push({ type: 'Feature', properties: { parcel: gy * k + gx + 1 }, geometry: { type: 'Polygon', coordinates: [ring] } });
    }
  }
  return { type: 'FeatureCollection', crs: { type: 'name', properties: { name: g.crs } }, features };
}

/** --case zones / instances: `delineate measure` on a generated 2D raster, streamed. */
async function benchRaster(kind: 'zones' | 'instances'): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bench-measure-${kind}-`));
  try {
    const geo: GeoGeometry = { type: 'geo', geotransform: [400000, 1, 0, 5600000, 0, -1], crs: 'EPSG:32633' };
    const t0 = performance.now();
    const file = await writeLabels(dir, size, makeEllipses(size, objects), null, 'labels', { geometry: geo, instances: kind === 'instances' });
    const genS = (performance.now() - t0) / 1000;
    const zoneCount = arg('zones', 400);
    const zonesFile = path.join(dir, 'zones.geojson');
    if (kind === 'zones') writeFileSync(zonesFile, JSON.stringify(parcels(geo, size, zoneCount)));
    const t = performance.now();
    const r = await measureFiles(file, file, path.join(dir, 'out'), kind === 'zones' ? { zones: zonesFile } : { labelsAre: 'instances' });
    const seconds = (performance.now() - t) / 1000;
    console.log(`raster ${size}x${size} (${(statSync(file).size / 2 ** 20).toFixed(1)} MB GeoTIFF, generated in ${genS.toFixed(1)} s), ${STRIP_ROWS}-row strips`);
    const what = kind === 'zones' ? `${Math.round(Math.sqrt(zoneCount)) ** 2} zones, ${r.instanceCount} instances` : `${r.instanceCount} given instances`;
    console.log(`measure-${kind}: ${size}x${size}, ${what}, ${seconds.toFixed(1)} s, peak RSS ${peakRssMb().toFixed(0)} MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** --case volume: `delineate measure` on a generated .nii.gz label volume, read slice by slice. */
async function benchVolume(): Promise<void> {
  const depth = arg('depth', 600);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-measure-volume-'));
  try {
    const g: MedicalGeometry = { type: 'medical', spacingMm: [0.5, 0.5, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
    const t0 = performance.now();
    let seed = 4242;
    const rand = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    // Ellipsoids of classes 1..3 covering ~10% of the volume, bucketed by the slices they reach.
    const meanR = Math.cbrt((0.1 * size * size * depth) / objects / ((4 / 3) * Math.PI));
    const blobs = Array.from({ length: objects }, () => ({ cls: 1 + Math.floor(rand() * 3), cx: rand() * size, cy: rand() * size, cz: rand() * depth, rx: meanR * (0.5 + rand()), ry: meanR * (0.5 + rand()), rz: meanR * (0.3 + rand()) }));
    const bySlice: number[][] = Array.from({ length: depth }, () => []);
    blobs.forEach((b, k) => {
      for (let z = Math.max(0, Math.floor(b.cz - b.rz)); z <= Math.min(depth - 1, Math.ceil(b.cz + b.rz)); z++) bySlice[z]!.push(k);
    });
    const file = path.join(dir, 'labels.nii.gz');
    const writer = await NiftiSliceWriter.open(file, { width: size, height: size, depth, dtype: 'uint8', geometry: g });
    const slice = new Uint8Array(size * size);
    for (let z = 0; z < depth; z++) {
      slice.fill(0);
      for (const k of bySlice[z]!) {
        const b = blobs[k]!;
        const fz = ((z - b.cz) / b.rz) ** 2;
        if (fz > 1) continue;
        const ry = b.ry * Math.sqrt(1 - fz);
        for (let y = Math.max(0, Math.floor(b.cy - ry)); y <= Math.min(size - 1, Math.ceil(b.cy + ry)); y++) {
          const fy = ((y - b.cy) / b.ry) ** 2 + fz;
          if (fy > 1) continue;
          const rx = b.rx * Math.sqrt(1 - fy);
          for (let x = Math.max(0, Math.ceil(b.cx - rx)); x <= Math.min(size - 1, Math.floor(b.cx + rx)); x++) slice[y * size + x] = b.cls;
        }
      }
      await writer.write(slice);
    }
    await writer.close();
    const genS = (performance.now() - t0) / 1000;
    const genRss = peakRssMb();
    const t = performance.now();
    const r = await measureFiles(file, file, path.join(dir, 'out'), {});
    const seconds = (performance.now() - t) / 1000;
    const mb = (size * size * depth) / 2 ** 20;
    console.log(`volume ${size}x${size}x${depth} uint8 (${mb.toFixed(0)} MB decoded, ${(statSync(file).size / 2 ** 20).toFixed(1)} MB .nii.gz, generated in ${genS.toFixed(1)} s, RSS then ${genRss.toFixed(0)} MB)`);
    console.log(`measure-volume: ${size}x${size}x${depth}, ${r.instanceCount} instances (26-connected), ${seconds.toFixed(1)} s, peak RSS ${peakRssMb().toFixed(0)} MB for ${mb.toFixed(0)} MB of labels`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const run = benchCase === 'zones' || benchCase === 'instances' ? () => benchRaster(benchCase) : benchCase === 'volume' ? benchVolume : main;
run().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
