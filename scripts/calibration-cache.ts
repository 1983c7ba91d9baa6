// Caches what the calibration fit needs, per validation item, from the app's own inference path: the model's
// class probabilities before calibration (uint8, p x 255, classes x pixels), the final label map and the reference
// in model labels. Files: $DELINEATE_CALIB_CACHE (default /tmp/delineate-calibration)/<model>-<hash>/<item>.bin, the
// hash over the ONNX file and the manifest fields that shape the output, so a changed model is run again.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openImage } from '../main/engine/io';
import type { ResolvedModel } from '../main/engine/inference/manifest';
import { segmentImage } from '../main/engine/pipeline';
import { DATA } from './eval-data';
import { buildingBlocks, DEEPGLOBE, openBrain, semanticTruth, SENTINEL2, splitIds, type SemanticSet, type SplitName } from './eval-sets';

export const CACHE_DIR = path.resolve(process.env.DELINEATE_CALIB_CACHE ?? path.join(os.tmpdir(), 'delineate-calibration'));

export interface CachedItem {
  id: string;
  width: number;
  height: number;
  depth: number;
  classes: number;
  /** classes x pixels, p x 255, before calibration. */
  probs: Uint8Array;
  labels: Uint8Array;
  /** The engine's instance map (0 = none). */
  instances: Uint32Array;
  /** Model labels (0 no class, 1..K, 255 ignored); buildings: footprint ids > 0 as 1, unshifted. */
  truth: Uint8Array;
}

/** Cache folder of a model: its id and a hash of the ONNX file and of what shapes its output (flips, clean-up). */
function modelDir(model: ResolvedModel): string {
  const m = model.manifest;
  const key = createHash('sha256')
    .update(readFileSync(model.onnxPath))
    .update(JSON.stringify([m.testTimeFlips ?? null, m.postprocess ?? null, m.outputs, m.tileSize, m.tileOverlap ?? null, m.normalization]))
    // Only where set, so that the caches of models without it keep their key.
    .update(m.testTimeFlipsMinProbability ? JSON.stringify(m.testTimeFlipsMinProbability) : '')
    .digest('hex')
    .slice(0, 12);
  return path.join(CACHE_DIR, `${m.id}-${key}`);
}

function itemFile(dir: string, id: string): string {
  return path.join(dir, `${id.replace(/[^A-Za-z0-9_.-]/g, '_')}.bin`);
}

function writeItem(dir: string, item: CachedItem): void {
  const header = Buffer.from(JSON.stringify({ id: item.id, width: item.width, height: item.height, depth: item.depth, classes: item.classes }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  mkdirSync(dir, { recursive: true });
  const inst = Buffer.from(item.instances.buffer, item.instances.byteOffset, item.instances.byteLength);
  writeFileSync(itemFile(dir, item.id), Buffer.concat([len, header, item.probs, item.labels, item.truth, inst]));
}

export function readItem(dir: string, id: string): CachedItem | null {
  const file = itemFile(dir, id);
  if (!existsSync(file)) return null;
  const buf = readFileSync(file);
  const n = buf.readUInt32LE(0);
  const h = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as Omit<CachedItem, 'probs' | 'labels' | 'truth' | 'instances'>;
  const P = h.width * h.height * h.depth;
  let o = 4 + n;
  const take = (len: number): Uint8Array => {
    const out = new Uint8Array(buf.buffer, buf.byteOffset + o, len);
    o += len;
    return out;
  };
  const probs = take(h.classes * P);
  const labels = take(P);
  const truth = take(P);
  // Copied: the Uint32Array view needs 4-byte alignment, which the file's layout does not promise.
  const instances = new Uint32Array(Uint8Array.from(take(4 * P)).buffer);
  return { ...h, probs, labels, truth, instances };
}

/** Item ids of a model's split (buildings: tiles holding a block of the split). */
export function itemIds(modelId: string, split: SplitName): string[] {
  if (modelId === 'brain-flair-lgg') return splitIds('brain_val.txt', 'brain_test.txt')[split];
  if (modelId === 'landcover-deepglobe') return splitIds(DEEPGLOBE.val, DEEPGLOBE.test)[split];
  if (modelId === 'landcover-sentinel2-korea') return splitIds(SENTINEL2.val, SENTINEL2.test)[split];
  if (modelId === 'buildings-joplin') return [...new Set(buildingBlocks()[split].map((b) => b.tile))];
  throw new Error(`no evaluation set for ${modelId}`);
}

async function runRaw(model: ResolvedModel, src: Parameters<typeof segmentImage>[0], threads: number): Promise<{ probs: Uint8Array; labels: Uint8Array; instances: Uint32Array }> {
  const out = await segmentImage(src, { model, device: 'cpu', threads, probabilities: true, calibration: false }, () => {});
  const probs = out.rasters.probabilities?.data;
  if (!probs) throw new Error(`${src.file}: no probability maps came back`);
  const labels = out.rasters.labels;
  if (!(labels instanceof Uint8Array)) throw new Error(`${src.file}: more than 254 classes`);
  return { probs, labels, instances: Uint32Array.from(out.rasters.instances) };
}

/** Runs the model (uncalibrated) over the split's items that are not cached yet. */
export async function cacheSplit(model: ResolvedModel, split: SplitName, threads: number, log: (s: string) => void): Promise<CachedItem[]> {
  const id = model.manifest.id;
  const K = model.manifest.classes.length;
  const dir = modelDir(model);
  const items: CachedItem[] = [];
  for (const item of itemIds(id, split)) {
    const hit = readItem(dir, item);
    if (hit) {
      items.push(hit);
      continue;
    }
    const t0 = performance.now();
    let cached: CachedItem;
    if (id === 'brain-flair-lgg') {
      const { src, truth } = await openBrain(item);
      try {
        cached = { id: item, width: src.width, height: src.height, depth: src.depth, classes: K, ...(await runRaw(model, src, threads)), truth: await truth() };
      } finally {
        await src.close();
      }
    } else if (id === 'buildings-joplin') {
      const src = await openImage(path.join(DATA, 'buildings-joplin', 'images', `${item}.tif`));
      let raw: { probs: Uint8Array; labels: Uint8Array; instances: Uint32Array };
      try {
        raw = await runRaw(model, src, threads);
      } finally {
        await src.close();
      }
      const gt = await openImage(path.join(DATA, 'buildings-joplin', 'instances', `${item}.tif`));
      try {
        const full = (await gt.read({ channels: [0] })).data;
        cached = { id: item, width: gt.width, height: gt.height, depth: 1, classes: K, ...raw, truth: Uint8Array.from(full, (v) => (v > 0 ? 1 : 0)) };
      } finally {
        await gt.close();
      }
    } else {
      const spec: SemanticSet = id === 'landcover-deepglobe' ? DEEPGLOBE : SENTINEL2;
      const src = await openImage(path.join(DATA, spec.dataset, spec.imagePath(item)));
      try {
        cached = { id: item, width: src.width, height: src.height, depth: 1, classes: K, ...(await runRaw(model, src, threads)), truth: await semanticTruth(spec, model, item) };
      } finally {
        await src.close();
      }
    }
    writeItem(dir, cached);
    log(`  cached ${id} ${item} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    items.push(cached);
  }
  return items;
}
