// `delineate measure` run twice on the same files, in memory and streamed (threshold lowered), and the two result
// folders compared: what the streaming tests (2D strips, given instances, zones, NIfTI slices) all check first.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { InstancesDocument } from '../../preload/formats';
import { measureFiles, type MeasureOptions } from '../../main/engine/pipeline';
import { readSamples } from './helpers';

type Measured = { document: InstancesDocument; files: string[] };

/**
 * Measures c.image against c.labels into c.dir/mem, then with DELINEATE_STREAMING_THRESHOLD_PX at 1000 (so the
 * streamed path runs; the caller's afterEach restores it) into c.dir/str, and expects the same document, the same
 * files in the same order, equal `files` and sample-equal `rasters` (read with readRaster).
 */
export async function measureBothWays(
  c: { dir: string; image: string; labels: string },
  options: MeasureOptions,
  compare: { files: string[]; rasters: string[]; readRaster?: (file: string) => Promise<number[]> },
): Promise<{ mem: Measured; str: Measured }> {
  const mem = await measureFiles(c.image, c.labels, path.join(c.dir, 'mem'), options);
  process.env.DELINEATE_STREAMING_THRESHOLD_PX = '1000';
  const str = await measureFiles(c.image, c.labels, path.join(c.dir, 'str'), options);
  expect(str.document).toEqual(mem.document);
  expect(str.files.map((f) => path.basename(f))).toEqual(mem.files.map((f) => path.basename(f)));
  // Text files as text, so a difference shows as a readable diff; images byte for byte.
  const file = (dir: string, name: string): string | Buffer => (name.endsWith('.png') ? readFileSync(path.join(c.dir, dir, name)) : readFileSync(path.join(c.dir, dir, name), 'utf8'));
  for (const name of compare.files) expect(file('str', name), name).toEqual(file('mem', name));
  const read = compare.readRaster ?? readSamples;
  for (const name of compare.rasters) expect(await read(path.join(c.dir, 'str', name))).toEqual(await read(path.join(c.dir, 'mem', name)));
  return { mem, str };
}
