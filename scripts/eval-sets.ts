// The evaluation sets of the shipped models, split into validation and test (models/training/splits/): every
// choice (thresholds, temperature, range thresholds) is made on validation; test gives the final figures only.
// <m>_test.txt is a seeded half of <m>_val.txt (make_test_splits.py); validation is the other half. Also the
// reference of each item in the model's label space (0 = no class, 1..K = manifest classes, 255 = ignored).
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ImageSource } from '../main/engine/image';
import { openImage } from '../main/engine/io';
import type { ResolvedModel } from '../main/engine/inference/manifest';
import type { SegmentOutcome } from '../main/engine/pipeline';
import { brainTruth, DATA, readSplit } from './eval-data';

export type SplitName = 'validation' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['validation', 'test'];
export const IGNORE_LABEL = 255;

/** Validation = the ids of <val> not in <test>; test = <test> (each must be in <val>). */
export function splitIds(valFile: string, testFile: string): Record<SplitName, string[]> {
  const val = readSplit(valFile);
  const test = readSplit(testFile);
  const missing = test.filter((t) => !val.includes(t));
  if (missing.length) throw new Error(`${testFile}: ${missing.join(', ')} not in ${valFile} (the test split is a half of it)`);
  return { validation: val.filter((v) => !test.includes(v)), test };
}

export interface Block {
  tile: string;
  row0: number;
  col0: number;
  size: number;
}

const blockKey = (b: Block): string => `${b.tile} ${b.row0} ${b.col0} ${b.size}`;

function parseBlock(line: string): Block {
  const [tile, r, c, s] = line.split(/\s+/);
  return { tile: tile!, row0: Number(r), col0: Number(c), size: Number(s) };
}

/** Buildings: each validation quadrant's four blocks (the test file's block size); test = those listed. */
export function buildingBlocks(): Record<SplitName, Block[]> {
  const test = readSplit('buildings_test.txt').map(parseBlock);
  const size = test[0]?.size;
  if (!size) throw new Error('buildings_test.txt lists no block');
  const testKeys = new Set(test.map(blockKey));
  const all: Block[] = [];
  for (const q of readSplit('buildings_val.txt').map(parseBlock)) {
    for (let r = q.row0; r < q.row0 + q.size; r += size) for (let c = q.col0; c < q.col0 + q.size; c += size) all.push({ tile: q.tile, row0: r, col0: c, size });
  }
  const missing = test.filter((b) => !all.some((a) => blockKey(a) === blockKey(b)));
  if (missing.length) throw new Error(`buildings_test.txt: ${missing.map(blockKey).join('; ')} is not a block of buildings_val.txt`);
  return { validation: all.filter((b) => !testKeys.has(blockKey(b))), test };
}

export interface SemanticSet {
  dataset: string;
  val: string;
  test: string;
  imagePath: (stem: string) => string;
  labelPath: (stem: string) => string;
  /** true: data class 0 is a real class (the model's "no class"); false: 0 = unknown, ignored. */
  zeroIsClass: boolean;
}

export const DEEPGLOBE: SemanticSet = {
  dataset: 'landcover-deepglobe',
  val: 'landcover_val.txt',
  test: 'landcover_test.txt',
  imagePath: (s) => path.join('images', `${s}.jpg`),
  labelPath: (s) => path.join('masks', `${s}.png`),
  zeroIsClass: false,
};

// Sentinel-2 patches: images/<YYYYMM>_patchN_<k>.tif pair with labels/<YYYYMM>_mask_<k>.tif.
export const SENTINEL2: SemanticSet = {
  dataset: 'landcover-sentinel2-korea',
  val: 'sentinel2_val.txt',
  test: 'sentinel2_test.txt',
  imagePath: (s) => path.join('images', `${s}.tif`),
  labelPath: (s) => path.join('labels', `${s.replace('_patchN_', '_mask_')}.tif`),
  zeroIsClass: true,
};

/** Data class index -> model label (by class name), unknown -> IGNORE_LABEL. */
export function semanticLabelMap(spec: SemanticSet, model: ResolvedModel): (dataClass: number) => number {
  const dataDir = path.join(DATA, spec.dataset);
  const dataClasses = JSON.parse(readFileSync(path.join(dataDir, 'classes.json'), 'utf8')) as Record<string, { name: string }>;
  const map = new Map<number, number>();
  for (const [i, v] of Object.entries(dataClasses)) {
    const k = model.manifest.classes.findIndex((c) => c.name.toLowerCase() === v.name.toLowerCase());
    if (k >= 0) map.set(Number(i), k + 1);
    else if (i === '0') map.set(0, spec.zeroIsClass ? 0 : IGNORE_LABEL);
  }
  return (d) => map.get(d) ?? IGNORE_LABEL;
}

/** Reference of a semantic item in model labels. */
export async function semanticTruth(spec: SemanticSet, model: ResolvedModel, stem: string): Promise<Uint8Array> {
  const toLabel = semanticLabelMap(spec, model);
  const mask = await openImage(path.join(DATA, spec.dataset, spec.labelPath(stem)));
  try {
    return Uint8Array.from((await mask.read({ channels: [0] })).data, (v) => toLabel(v));
  } finally {
    await mask.close();
  }
}

export async function openBrain(patient: string): Promise<{ src: ImageSource; truth: () => Promise<Uint8Array> }> {
  const dir = path.join(DATA, 'tumor-lgg-flair', patient);
  const src = await openImage(dir);
  return { src, truth: () => brainTruth(dir, src) };
}

export const dataPresent = (dataset: string): boolean => existsSync(path.join(DATA, dataset));

/** Predicted foreground: any class label (not 0, not nodata). */
export function foreground(out: SegmentOutcome): Uint8Array {
  const { labels, nodataLabel } = out.rasters;
  const fg = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) fg[i] = labels[i] !== 0 && labels[i] !== nodataLabel ? 1 : 0;
  return fg;
}
