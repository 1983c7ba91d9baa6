// Benchmark of interactive segmentation on a large raster: a generated 10000 x 10000 RGB GeoTIFF (DEFLATE, 256 px
// tiles) with square "fields", a click sequence on one of them through promptToFolder (what `delineate prompt`
// runs), then the figures the acceptance asks for: model ms per click from prompt.json (onnxruntime time only),
// the whole call's seconds, and peak RSS. The model is the shipped interactive-geo-rgb when it is installed, else
// a generated U-Net of realistic cost (timing only; its masks mean nothing).
// Usage: npm run bench -- prompt [size] [--model id|manifest]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { TiffWriter } from '../main/engine/io/tiff-writer';
import { findAppRoot, resolveModel, scanModels } from '../main/engine/inference/manifest';
import { promptToFolder, type PromptJson } from '../main/engine/interactive/prompt';
import { buildUNet } from '../test/fixtures/onnx-builder';

const ROOT = findAppRoot(__dirname) ?? process.cwd();
const TMP = path.join(ROOT, '.tmp', 'bench-prompt');

async function makeRaster(file: string, size: number): Promise<void> {
  if (existsSync(file)) return;
  const w = await TiffWriter.open(file, { width: size, height: size, channels: 3, dtype: 'uint8', geometry: { type: 'geo', geotransform: [500000, 0.5, 0, 4000000, 0, -0.5], crs: 'EPSG:32633' } });
  const rows = w.tileSize;
  for (let y = 0; y < size; y += rows) {
    const h = Math.min(rows, size - y);
    const data = new Uint8Array(3 * size * h);
    for (let c = 0; c < 3; c++) {
      for (let yy = 0; yy < h; yy++) {
        for (let x = 0; x < size; x++) {
          // 300 px fields in a checkerboard of two crops, with a little texture.
          const field = (Math.floor(x / 300) + Math.floor((y + yy) / 300)) % 2;
          data[(c * h + yy) * size + x] = (field ? 170 : 70) + (((x * 7 + (y + yy) * 13) % 17) - 8) + c * 10;
        }
      }
    }
    await w.writeWindow(0, y, size, h, data);
  }
  await w.close();
}

async function modelSpec(requested: string | undefined): Promise<string> {
  if (requested) return requested;
  const scan = await scanModels();
  if (scan.models.some((m) => m.manifest.id === 'interactive-geo-rgb')) return 'interactive-geo-rgb';
  // Stand-in of realistic cost: a ~1.56M-parameter U-Net on 3 + 3 channels, 128 px crops.
  const dir = path.join(TMP, 'unet-click');
  mkdirSync(dir, { recursive: true });
  const unet = buildUNet({ inChannels: 6, outChannels: 1 });
  writeFileSync(path.join(dir, 'model.onnx'), unet.bytes);
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      id: 'bench-unet-click',
      name: 'U-Net stand-in (benchmark)',
      version: '0',
      task: 'prompt',
      kinds: ['geo'],
      file: 'model.onnx',
      input: { name: 'input', channels: ['R', 'G', 'B'] },
      normalization: { type: 'percentile', pLow: 1, pHigh: 99, scope: 'crop', mask: 'all', clip: [0, 1] },
      interactive: { format: 'clickmaps', cropSize: 128, firstCropPx: 96, minCropPx: 48, maxBorderGrow: 1 },
      license: 'MIT',
    }),
  );
  return path.join(dir, 'manifest.json');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const mi = argv.indexOf('--model');
  const requested = mi >= 0 ? argv[mi + 1] : undefined;
  const sizeArg = argv.find((a, i) => /^\d+$/.test(a) && argv[i - 1] !== '--model');
  const size = sizeArg ? Number(sizeArg) : 10000;
  mkdirSync(TMP, { recursive: true });
  const file = path.join(TMP, `fields-${size}.tif`);
  let t0 = performance.now();
  await makeRaster(file, size);
  console.log(`raster: ${size}x${size}x3 uint8 GeoTIFF (${((performance.now() - t0) / 1000).toFixed(1)} s to generate or reuse): ${path.relative(ROOT, file)}`);
  const spec = await modelSpec(requested);
  const model = await resolveModel(spec);
  // A field in the middle of the raster: one include click, then two corrections.
  const cx = Math.floor(size / 2 / 300) * 300 + 150;
  const clicks = [
    { x: cx, y: cx, positive: true },
    { x: cx + 120, y: cx - 120, positive: true },
    { x: cx + 170, y: cx, positive: false },
  ];
  const perClick: number[] = [];
  const seconds: number[] = [];
  for (let k = 1; k <= clicks.length; k++) {
    t0 = performance.now();
    const out = await promptToFolder(file, path.join(TMP, `out-${k}`), { model, clicks: clicks.slice(0, k), threads: 2 });
    const p: PromptJson = out.prompt;
    perClick.push((p.modelSeconds * 1000) / p.steps.length);
    seconds.push(p.seconds);
    console.log(`  ${k} click${k > 1 ? 's' : ''}: model ${(p.modelSeconds * 1000).toFixed(1)} ms for ${p.steps.length} steps (${perClick.at(-1)!.toFixed(1)} ms per click), whole call ${p.seconds.toFixed(2)} s, crop ${JSON.stringify(p.crop)}, object ${out.document.instances[0]?.pixelCount ?? 0} px`);
  }
  const sorted = [...perClick].sort((a, b) => a - b);
  console.log(`model ${model.manifest.id}: median model time per click ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms (prompt.json modelSeconds / steps); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
