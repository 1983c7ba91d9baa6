// Benchmark of instances + measurements on a large synthetic label raster, beside scikit-image's label +
// regionprops on the same data. Prints time, peak RSS and the ratio.
//   npx tsx scripts/bench-measure.ts [--size 20000] [--objects 100000] [--skimage-size N] [--no-skimage]
// The raster is held in memory (labels uint8 + instance ids uint32: 5 bytes/pixel, ~2 GB at 20000²); windowed
// streaming is not implemented yet. scikit-image runs on the same raster, or on its top-left N x N window when
// --skimage-size is given (its int64 label image needs 8 bytes/pixel more).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectedComponents } from '../main/engine/postprocess/components';
import { countLabels, measureInstances } from '../main/engine/measure/index';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const size = arg('size', 20000);
const objects = arg('objects', 100000);
const skSize = Math.min(size, arg('skimage-size', size));
const runSkimage = !process.argv.includes('--no-skimage');

/** Deterministic random ellipses of classes 1..3, radii scaled so objects cover ~15% of the raster. */
function makeLabels(n: number, count: number): Uint8Array {
  const labels = new Uint8Array(n * n);
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const meanR = Math.sqrt((0.15 * n * n) / count / Math.PI);
  for (let k = 0; k < count; k++) {
    const cls = 1 + Math.floor(rand() * 3);
    const cx = rand() * n;
    const cy = rand() * n;
    const a = meanR * (0.5 + rand());
    const b = a * (0.4 + 0.6 * rand());
    const th = rand() * Math.PI;
    const c = Math.cos(th);
    const s = Math.sin(th);
    const r = Math.ceil(a);
    for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(n - 1, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(n - 1, Math.ceil(cx + r)); x++) {
        const u = ((x - cx) * c + (y - cy) * s) / a;
        const v = (-(x - cx) * s + (y - cy) * c) / b;
        if (u * u + v * v <= 1) labels[y * n + x] = cls;
      }
    }
  }
  return labels;
}

const t0 = performance.now();
const labels = makeLabels(size, objects);
const genS = (performance.now() - t0) / 1000;

const t1 = performance.now();
const cc = connectedComponents({ labels, width: size, height: size, depth: 1, nodataLabel: 255, connectivity: 8 });
const ccS = (performance.now() - t1) / 1000;
const counts = countLabels(labels, 3, 255);
const classes = ['a', 'b', 'c'].map((name) => ({ name, color: '#ff0000' }));
const t2 = performance.now();
const m = measureInstances(cc.stats, {
  // 0.5 mm pixels: every medical 2D field (perimeter, Feret, RECIST axes, centroidMm) is computed.
  geometry: { type: 'pixel', spacingMm: [0.5, 0.5, 1] },
  depth: 1,
  classes,
  validPixelCount: counts.valid,
  classPixelCounts: counts.perClass,
  hasProbability: false,
  hasIntensity: false,
  instanceMap: cc.instances,
  width: size,
  height: size,
  connectivity: 8,
});
const measureS = (performance.now() - t2) / 1000;
const oursS = ccS + measureS;
const rssMb = process.resourceUsage().maxRSS / 1024;
console.log(`raster ${size}x${size}, ${m.instances.length} instances (generated in ${genS.toFixed(1)} s)`);
console.log(`delineate: components ${ccS.toFixed(2)} s + measurements ${measureS.toFixed(2)} s = ${oursS.toFixed(2)} s, peak RSS ${rssMb.toFixed(0)} MB`);

if (runSkimage) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-measure-'));
  try {
    const file = path.join(dir, 'labels.u8');
    // The same data (or its top-left window) as raw uint8 for numpy.
    const window = skSize === size ? labels : new Uint8Array(skSize * skSize);
    if (skSize !== size) for (let y = 0; y < skSize; y++) window.set(labels.subarray(y * size, y * size + skSize), y * skSize);
    writeFileSync(file, window);
    // Our window time for the ratio when scikit-image runs on a window.
    let oursWindowS = oursS;
    if (skSize !== size) {
      const tw = performance.now();
      const ccw = connectedComponents({ labels: window, width: skSize, height: skSize, depth: 1, nodataLabel: 255, connectivity: 8 });
      const cw = countLabels(window, 3, 255);
      measureInstances(ccw.stats, {
        geometry: { type: 'pixel', spacingMm: [0.5, 0.5, 1] },
        depth: 1,
        classes,
        validPixelCount: cw.valid,
        classPixelCounts: cw.perClass,
        hasProbability: false,
        hasIntensity: false,
        instanceMap: ccw.instances,
        width: skSize,
        height: skSize,
        connectivity: 8,
      });
      oursWindowS = (performance.now() - tw) / 1000;
    }
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
    const r = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) {
      console.log(`scikit-image: failed (${r.stderr.trim().split('\n').pop() ?? r.status})`);
    } else {
      const [count, labelS, totalS, skRss] = r.stdout.trim().split(' ');
      const where = skSize === size ? 'same raster' : `top-left ${skSize}x${skSize} window`;
      console.log(
        `scikit-image (${where}): label ${labelS} s, label + regionprops (area, bbox, centroid, perimeter, feret_diameter_max, major_axis_length) ${totalS} s for ${count} regions, peak RSS ${skRss} MB`,
      );
      console.log(`ratio scikit-image / delineate on ${where}: ${(Number(totalS) / oursWindowS).toFixed(2)}x (delineate ${oursWindowS.toFixed(2)} s)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
