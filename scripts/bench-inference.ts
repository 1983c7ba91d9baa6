// Benchmark of the inference engine on a generated RGB GeoTIFF: total wall time of `segment` (window by window,
// streamed output), time inside session.run, their ratio (target <= 1.2), tiles/s, megapixels/s and peak RSS.
//   node scripts/run-ts.mjs scripts/bench-inference.ts [--size 8192] [--model unet|pixel|<file.onnx>] [--tile 512]
//        [--overlap 0.25] [--threads 2] [--instances] [--keep]
// unet: models/landcover-deepglobe/model.onnx when it exists, else a generated ~1.56M-parameter U-Net (random
// weights: the cost of a real one, not its output). pixel: a 1x1 convolution, for memory runs on huge rasters
// (peak RSS is set by the window, not the model). Per-instance records are off unless --instances (the bench
// measures inference; instances of big rasters are a separate stage).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFieldsRaster } from './fields-raster';
import { resolveModel } from '../main/engine/inference/manifest';
import { segmentToFolder } from '../main/engine/pipeline';
import type { ModelManifest } from '../preload/formats';
import { buildPixelModel, buildUNet } from '../test/fixtures/onnx-builder';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const size = Number(arg('size', '8192'));
const modelArg = arg('model', 'unet');
const tile = Number(arg('tile', '512'));
const overlap = Number(arg('overlap', '0.25'));
const threads = Number(arg('threads', '2'));
const withInstances = process.argv.includes('--instances');
const keep = process.argv.includes('--keep');

/** A 3-band uint8 GeoTIFF with fields (128 px), roads and noise, at 0.5 m, never whole in memory. */
const makeRaster = (file: string, n: number): Promise<void> =>
  writeFieldsRaster(file, n, { gsdM: 0.5, fieldShift: 7, road: { periodPx: [700, 900], widthPx: [12, 10], value: 90 } });

function manifest(id: string, classes: number): ModelManifest {
  return {
    id,
    name: id,
    version: '0.0.0',
    task: 'semantic',
    kinds: ['geo', 'image'],
    file: 'model.onnx',
    input: { channels: ['red', 'green', 'blue'], sliceMode: '2d' },
    normalization: { type: 'fixed', mean: [123.7, 116.3, 103.5], std: [58.4, 57.1, 57.4] },
    tileSize: [tile, tile],
    tileOverlap: overlap,
    classes: Array.from({ length: classes }, (_, i) => ({ name: `class ${i + 1}`, color: ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4'][i % 6]! })),
    outputs: { type: 'softmax', backgroundChannel: true },
    license: 'MIT',
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delineate-bench-inference-'));
  try {
    const raster = path.join(dir, `rgb-${size}.tif`);
    let t0 = performance.now();
    await makeRaster(raster, size);
    console.log(`generated ${size}x${size} RGB GeoTIFF in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    let modelPath: string;
    let about: string;
    const shipped = path.resolve('models/landcover-deepglobe/model.onnx');
    if (modelArg === 'unet' && existsSync(shipped)) {
      modelPath = path.dirname(shipped);
      about = 'models/landcover-deepglobe';
    } else if (modelArg === 'unet' || modelArg === 'pixel') {
      const id = `bench-${modelArg}`;
      const folder = path.join(dir, 'models', id);
      mkdirSync(folder, { recursive: true });
      if (modelArg === 'unet') {
        const unet = buildUNet({ inChannels: 3, outChannels: 7, seed: 7 });
        writeFileSync(path.join(folder, 'model.onnx'), unet.bytes);
        writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify(manifest(id, 6)));
        about = `generated U-Net 16-32-64-128-192, ${(unet.parameters / 1e6).toFixed(2)}M parameters, 7 outputs`;
      } else {
        writeFileSync(path.join(folder, 'model.onnx'), buildPixelModel({ inChannels: 3, weights: [[0, 0, 0], [0.02, 0.02, 0.02]], bias: [0, -4], activation: 'softmax' }));
        writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify({ ...manifest(id, 1), input: { channels: ['red', 'green', 'blue'], sliceMode: '2d' } }));
        about = 'generated 1x1 convolution (pixel model)';
      }
      modelPath = folder;
    } else {
      modelPath = modelArg;
      about = modelArg;
    }
    const model = await resolveModel(modelPath);
    console.log(`model: ${about}; tile ${model.manifest.tileSize.join('x')}, overlap ${model.manifest.tileOverlap ?? 0.5}, ${threads} threads`);

    const rssBefore = process.resourceUsage().maxRSS / 1024;
    t0 = performance.now();
    let lastPrint = 0;
    const { outcome } = await segmentToFolder(
      raster,
      path.join(dir, 'out'),
      { model, device: 'cpu', threads, ...(withInstances ? {} : { instanceMaxPx: 0 }) },
      (p) => {
        if (p.stage !== 'inference' || !process.stderr.isTTY) return;
        const now = Date.now();
        if (now - lastPrint < 1000) return;
        lastPrint = now;
        process.stderr.write(`\r  ${p.done}/${p.total} tiles, ${Math.ceil(p.etaSeconds ?? 0)} s left   `);
      },
    );
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const totalS = (performance.now() - t0) / 1000;
    const inf = outcome.document.inference!;
    const runS = Number(inf.inferenceSeconds);
    const rssMb = process.resourceUsage().maxRSS / 1024;
    const mpx = (size * size) / 1e6;
    console.log(
      [
        `size ${size}x${size} (${mpx.toFixed(1)} Mpx), ${inf.tiles} tiles of ${inf.tileSize.join('x')} in ${JSON.stringify(inf.windowed ?? 'one pass')}`,
        `total ${totalS.toFixed(1)} s, inside session.run ${runS.toFixed(1)} s, ratio ${(totalS / runS).toFixed(3)} (target <= 1.2)`,
        `${(inf.tiles / totalS).toFixed(2)} tiles/s, ${(mpx / totalS).toFixed(2)} Mpx/s`,
        `peak RSS ${rssMb.toFixed(0)} MB (${rssBefore.toFixed(0)} MB before segmenting; target < 1500 MB at 20000x20000)`,
      ].join('\n'),
    );
  } finally {
    if (keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
