// The app's Run on a large orthomosaic: a generated RGB GeoTIFF at 4.8 m segmented through the engine host as the
// app runs it (a forked dist/engine-host.cjs, the 'segment' call of the segment:run handler with a job id and
// progress), which takes the windowed path and keeps the result on disk; then three full-resolution result tiles
// ('result:tile') and a page of the table ('result:instances'), as the viewer asks for them. Peak RSS of the engine
// host (VmHWM) plus this process. Target: <= 1.5 GB, the same (+-20%) at 40000² as at 10000².
//   node scripts/run-ts.mjs scripts/bench-app-large.ts [--size 20000] [--model small|landcover-deepglobe|<folder>]
//        [--cancel] [--store-only [--edits]] [--keep] [--raster <the RGB raster an earlier run generated at this size>]
// small (default): a 1x1 convolution with landcover-deepglobe's inputs and outputs (RGB in, 6 land-cover classes
// out, 256 px tiles, 25 % overlap, 4.8 m), so 40000² runs in reasonable time on two cores; the shipped model's
// test-time flips are left out. --cancel: cancels after the first inference progress and prints how long the
// job took to reject and whether the host's result folder is gone. --store-only: no model and no host: synthetic
// labels, instances and probabilities (500 px objects) written straight to GeoTIFF, then the disk result store alone
// (overviews, records, the same three tiles, a preview, a heat-map and a page) in this process, for the store's
// share of the memory at sizes the model cannot reach on two cores; with --edits, then pixel edits (brush into an
// object and into a new one, polygon, split, eraser, undo/redo) and the labels export with them, timed, in the
// same peak. Needs `npm run build` (not for --store-only).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineHostClient, forkHost } from '../main/engine/host/client';
import { TiffWriter } from '../main/engine/io/tiff-writer';
import { writeFieldsRaster } from './fields-raster';
import { buildPixelModel } from '../test/fixtures/onnx-builder';
import { DiskResultStore } from '../main/engine/results/disk';
import type { InstanceRecord, InstancesDocument } from '../preload/formats';
import type { EditOperation } from '../preload/api';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const SIZE = Number(arg('size', '20000'));
const MODEL = arg('model', 'small');
const CANCEL = process.argv.includes('--cancel');
const KEEP = process.argv.includes('--keep');
const STORE_ONLY = process.argv.includes('--store-only');
const EDITS = process.argv.includes('--edits');
const ROOT = process.cwd();
const GSD_M = 4.8;

/** Fields (256 px, five colours), roads and noise, written in bands of tile rows: never whole in memory. */
const makeRaster = (file: string, n: number): Promise<void> =>
  writeFieldsRaster(file, n, { gsdM: GSD_M, fieldShift: 8, road: { periodPx: [1500, 1700], widthPx: [6, 5], value: 60 } });

/** landcover-deepglobe's manifest with a 1x1 convolution that picks the class whose red-channel centre is nearest. */
function smallModel(dir: string): string {
  const shipped = JSON.parse(readFileSync(path.join(ROOT, 'models', 'landcover-deepglobe', 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const { testTimeFlips: _flips, calibration: _cal, card: _card, training: _training, ...rest } = shipped;
  void _flips;
  void _cal;
  void _card;
  void _training;
  const folder = path.join(dir, 'models', 'bench-landcover-small');
  mkdirSync(folder, { recursive: true });
  // Red of the five generated field colours after the manifest's normalisation; a sixth class sits far away.
  const mean = 104.69;
  const std = 32.9;
  const centres = [30, 70, 110, 150, 190, 600].map((r) => (r + 8 - mean) / std);
  const sharp = 4;
  writeFileSync(path.join(folder, 'model.onnx'), buildPixelModel({ inChannels: 3, weights: centres.map((c) => [2 * c * sharp, 0, 0]), bias: centres.map((c) => -c * c * sharp), activation: 'softmax' }));
  writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify({ ...rest, id: 'bench-landcover-small', name: 'landcover-deepglobe inputs and outputs, 1x1 convolution (benchmark)' }, null, 2));
  return folder;
}

/** Peak resident set of a live process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Result folders the host keeps under its temporary folder. */
function hostFolders(tmp: string): string[] {
  if (!existsSync(tmp)) return [];
  return readdirSync(tmp)
    .filter((n) => n.startsWith('delineate-results-'))
    .flatMap((n) => readdirSync(path.join(tmp, n)).map((r) => path.join(n, r)));
}

/** Peak resident set of this process so far, in MB. */
function selfPeakMb(): number {
  return peakRssMb(process.pid);
}

/** --store-only: the disk result store on synthetic rasters, without the model (see the header). */
async function storeOnly(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delineate-bench-app-large-store-'));
  try {
    const block = 500;
    const across = Math.ceil(SIZE / block);
    const geometry = { type: 'geo' as const, geotransform: [500000, GSD_M, 0, 5000000, 0, -GSD_M] as [number, number, number, number, number, number], crs: 'EPSG:32633' };
    let t0 = performance.now();
    const labels = await TiffWriter.open(path.join(dir, 'labels.tif'), { width: SIZE, height: SIZE, channels: 1, dtype: 'uint8', geometry, nodata: 255 });
    const instances = await TiffWriter.open(path.join(dir, 'instances.tif'), { width: SIZE, height: SIZE, channels: 1, dtype: 'uint32', geometry });
    const probabilities = await TiffWriter.open(path.join(dir, 'probabilities.tif'), { width: SIZE, height: SIZE, channels: 1, dtype: 'uint8', geometry });
    for (let y0 = 0; y0 < SIZE; y0 += 256) {
      const h = Math.min(256, SIZE - y0);
      const l = new Uint8Array(SIZE * h);
      const ids = new Uint32Array(SIZE * h);
      const p = new Uint8Array(SIZE * h).fill(10);
      for (let y = 0; y < h; y++) {
        const gy = y0 + y;
        if (gy % block <= 20) continue;
        for (let x = 0; x < SIZE; x++) {
          if (x % block <= 20) continue;
          const k = y * SIZE + x;
          l[k] = 1;
          ids[k] = Math.floor(gy / block) * across + Math.floor(x / block) + 1;
          p[k] = 230;
        }
      }
      await labels.writeWindow(0, y0, SIZE, h, l);
      await instances.writeWindow(0, y0, SIZE, h, ids);
      await probabilities.writeWindow(0, y0, SIZE, h, p);
    }
    for (const w of [labels, instances, probabilities]) await w.close();
    console.log(`generated ${SIZE}x${SIZE} labels, instances and probabilities in ${((performance.now() - t0) / 1000).toFixed(1)} s (peak ${Math.round(selfPeakMb())} MB so far)`);
    const side = block - 21;
    const records: InstanceRecord[] = [];
    for (let id = 1; id <= across * across; id++) {
      // The object's real box (edits re-measure inside it); objects on the right and bottom edges are clipped.
      const x0 = ((id - 1) % across) * block + 21;
      const y0 = Math.floor((id - 1) / across) * block + 21;
      const x1 = Math.min(SIZE - 1, x0 + side - 1);
      const y1 = Math.min(SIZE - 1, y0 + side - 1);
      const n = (x1 - x0 + 1) * (y1 - y0 + 1);
      records.push({ id, classId: 1, className: 'object', pixelCount: n, bbox: { min: [x0, y0], max: [x1, y1] }, centroidPx: [(x0 + x1) / 2, (y0 + y1) / 2], areaM2: n * GSD_M * GSD_M, meanProbability: 0.9 });
    }
    const document: InstancesDocument = { source: { file: 'synthetic.tif', kind: 'geo', width: SIZE, height: SIZE, depth: 1 }, classes: [{ id: 1, name: 'object', color: '#e6194b', instanceCount: records.length, pixelCount: records.length * side * side, fraction: 0.9 }], instances: records };
    const store = new DiskResultStore();
    t0 = performance.now();
    const id = await store.add({ dir, path: 'synthetic.tif', document, classes: [{ name: 'object', color: '#e6194b' }], geometry, width: SIZE, height: SIZE, nodataLabel: 255 });
    records.length = 0;
    const addS = (performance.now() - t0) / 1000;
    const last = Math.floor((SIZE - 1) / 512);
    for (const [x, y] of [[last >> 1, last >> 1], [0, 0], [last, last]] as const) await store.tile({ resultId: id, level: 0, x, y, tileSize: 512, z: 0 });
    await store.slice(id, 0, 2048);
    await store.probability({ resultId: id, classId: 1, z: 0, maxSize: 2048 });
    await store.instancePage({ resultId: id, offset: 0, limit: 1000, sort: { key: 'area', descending: true } });
    if (EDITS) await timedEdits(store, id, block, dir);
    await store.close(id);
    console.log(`app-large store only: peak RSS ${Math.round(selfPeakMb())} MB, ${SIZE}x${SIZE}, ${across * across} objects, overviews + records ${addS.toFixed(0)} s, 3 tiles`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** --edits: pixel edits around the middle object of the store-only raster, each timed, then the labels export. */
async function timedEdits(store: DiskResultStore, id: string, block: number, dir: string): Promise<void> {
  const c = Math.floor(SIZE / 2 / block) * block;
  const mid = (await store.instanceAt(id, c + 250, c + 250, 0))!.id;
  const ops: EditOperation[] = [
    { op: 'paintStroke', z: 0, points: [[c + 250, c + 250], [c + 250, c + 520]], radiusPx: [12, 12], target: { instanceId: mid } },
    { op: 'paintStroke', z: 0, points: [[c + 5, c + 100], [c + 5, c + 400]], radiusPx: [6, 6], target: { newInstanceOfClass: 1 } },
    { op: 'fillPolygon', z: 0, points: [[c + 400, c + 400], [c + 700, c + 420], [c + 650, c + 700]], target: { newInstanceOfClass: 1 } },
    { op: 'splitInstance', z: 0, instanceId: mid, line: [[c + 10, c + 300], [c + 510, c + 300]] },
    { op: 'eraseStroke', z: 0, points: [[c + 100, c + 150], [c + 400, c + 160]], radiusPx: [8, 8] },
  ];
  const ms: number[] = [];
  for (const op of ops) {
    const t0 = performance.now();
    await store.edit(id, op);
    ms.push(performance.now() - t0);
  }
  for (const step of ['undo', 'undo', 'redo'] as const) {
    const t0 = performance.now();
    await (step === 'undo' ? store.undo(id) : store.redo(id));
    ms.push(performance.now() - t0);
  }
  const tile = await store.tile({ resultId: id, level: 0, x: Math.floor((c + 250) / 512), y: Math.floor((c + 250) / 512), tileSize: 512, z: 0 });
  if (!tile.instances.includes(mid)) throw new Error('the edited object is missing from its tile');
  const t0 = performance.now();
  await store.export(id, 'geotiff', path.join(dir, 'labels-edited.tif'));
  const exportS = (performance.now() - t0) / 1000;
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(`app-large store edits: ${ops.length} edits + 3 undo/redo, median ${sorted[sorted.length >> 1]!.toFixed(0)} ms, slowest ${sorted.at(-1)!.toFixed(0)} ms (${ms.map((v) => v.toFixed(0)).join(' ')}), labels export with edits ${exportS.toFixed(1)} s`);
}

async function main(): Promise<void> {
  if (STORE_ONLY) return storeOnly();
  const hostBundle = path.join(ROOT, 'dist', 'engine-host.cjs');
  if (!existsSync(hostBundle)) throw new Error('dist/engine-host.cjs is missing: run npm run build first');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delineate-bench-app-large-'));
  // The host's temporary folder (where it keeps result folders), so the bench can see what it leaves.
  const hostTmp = path.join(dir, 'host-tmp');
  mkdirSync(hostTmp);
  const engine = new EngineHostClient({ spawn: forkHost(hostBundle, [], { TMPDIR: hostTmp, DELINEATE_AUTOSAVE_DIR: path.join(dir, 'autosave') }) });
  try {
    // --raster: a raster an earlier run generated (--keep), to measure again without the generation (8 min at 40000²).
    const given = arg('raster', '');
    const raster = given || path.join(dir, `rgb-${SIZE}.tif`);
    let t0 = performance.now();
    if (!given) {
      await makeRaster(raster, SIZE);
      console.log(`generated ${SIZE}x${SIZE} RGB GeoTIFF at ${GSD_M} m in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const model = MODEL === 'small' ? smallModel(dir) : MODEL;
    await engine.start();
    const pid = engine.pid!;
    const jobId = 'bench-app-large';
    let lastPrint = 0;
    let firstInference: number | null = null;
    t0 = performance.now();
    const run = engine.call('segment', [raster, { modelId: model, device: 'cpu' }, {}], {
      jobId,
      onProgress: (p) => {
        if (p.stage === 'inference' && firstInference === null) {
          firstInference = performance.now();
          if (CANCEL) engine.cancel(jobId);
        }
        const now = Date.now();
        if (process.stderr.isTTY && now - lastPrint > 1000) {
          lastPrint = now;
          process.stderr.write(`\r  ${p.stage} ${p.done}/${p.total}${p.etaSeconds !== undefined ? `, ${Math.ceil(p.etaSeconds)} s left` : ''}   `);
        }
      },
    });
    if (CANCEL) {
      const outcome = await run.then(
        () => 'finished',
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      const ms = performance.now() - (firstInference ?? t0);
      const left = hostFolders(hostTmp);
      console.log(`app-large cancel: ${SIZE}x${SIZE}, rejected ${ms.toFixed(0)} ms after the cancel (${outcome}); result folders left: ${left.length ? left.join(', ') : 'none'}`);
      return;
    }
    const r = await run;
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const runS = (performance.now() - t0) / 1000;
    if (!r.windowed || !r.resultId) throw new Error('the run did not take the windowed path');
    console.log(`run: ${runS.toFixed(1)} s, ${r.windowed.instanceCount} objects, classes ${r.document.classes.map((c) => `${c.name} ${c.instanceCount}`).join(', ')}`);
    // Three full-resolution tiles where a person zooms in: the centre, a corner, the far edge.
    const last = Math.floor((SIZE - 1) / 512);
    const half = Math.floor(last / 2);
    t0 = performance.now();
    for (const [x, y] of [[half, half], [0, 0], [last, last]] as const) {
      const tile = await engine.call('resultTile', [{ resultId: r.resultId, level: 0, x, y, tileSize: 512, z: 0 }]);
      if (tile.instances.length !== tile.width * tile.height) throw new Error('tile size mismatch');
    }
    const tileMs = (performance.now() - t0) / 3;
    const page = await engine.call('resultInstances', [{ resultId: r.resultId, offset: 0, limit: 100, sort: { key: 'area', descending: true } }]);
    console.log(`tiles: ${tileMs.toFixed(0)} ms each (512 px, level 0); table page of ${page.instances.length} of ${page.total}`);
    const hostMb = peakRssMb(pid);
    const selfMb = process.resourceUsage().maxRSS / 1024;
    await engine.call('closeResult', [r.resultId]);
    const left = hostFolders(hostTmp);
    if (left.length) console.log(`result folders left after close: ${left.join(', ')}`);
    console.log(`app-large: peak RSS ${Math.round(hostMb + selfMb)} MB (engine host ${Math.round(hostMb)} MB + test host ${Math.round(selfMb)} MB), ${SIZE}x${SIZE}, 3 tiles`);
  } finally {
    await engine.stop();
    if (KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
