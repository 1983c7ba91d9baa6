// Validation data shared by the evaluations (eval.ts, eval-interactive.ts): where the data and the committed
// splits are, split files, and the reference masks of a brain patient folder in the stack's slice order.
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { ImageSource } from '../main/engine/image';
import { naturalCompare, openImage } from '../main/engine/io';
import { findAppRoot } from '../main/engine/inference/manifest';

export const ROOT = findAppRoot(__dirname) ?? process.cwd();
export const DATA = path.resolve(process.env.DELINEATE_DATA ?? path.join(ROOT, '..', 'shared', 'data'));
export const SPLITS = path.join(ROOT, 'models', 'training', 'splits');

/** Non-comment lines of a split file. */
export function readSplit(name: string): string[] {
  return readFileSync(path.join(SPLITS, name), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Reference masks of a patient folder in the stack's slice order (NNN_image.png <-> NNN_mask.png). */
export async function brainTruth(dir: string, src: ImageSource): Promise<Uint8Array> {
  const images = readdirSync(dir)
    .filter((n) => /_image\.png$/i.test(n))
    .sort(naturalCompare);
  if (images.length !== src.depth || src.meta.firstSlice !== images[0] || src.meta.lastSlice !== images[images.length - 1]) {
    throw new Error(`${dir}: the stack's slices (${src.depth}, ${String(src.meta.firstSlice)}..${String(src.meta.lastSlice)}) do not pair with the *_image.png files (${images.length})`);
  }
  const plane = src.width * src.height;
  const truth = new Uint8Array(plane * src.depth);
  for (let z = 0; z < images.length; z++) {
    const maskFile = path.join(dir, images[z]!.replace(/_image\.png$/i, '_mask.png'));
    const mask = await openImage(maskFile);
    try {
      if (mask.width !== src.width || mask.height !== src.height) throw new Error(`${maskFile}: ${mask.width}x${mask.height}, the image is ${src.width}x${src.height}`);
      const block = await mask.read({ channels: [0] });
      for (let i = 0; i < plane; i++) truth[z * plane + i] = block.data[i]! > 0 ? 1 : 0;
    } finally {
      await mask.close();
    }
  }
  return truth;
}

