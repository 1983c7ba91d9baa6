// `delineate measure` run twice on the same files, in memory and streamed (threshold lowered), and the two result
// folders compared: what the streaming tests (2D strips, given instances, zones, NIfTI slices) all check first.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { InstancesDocument } from '../../preload/formats';
import { measureFiles, type MeasureOptions } from '../../main/engine/pipeline';
import { readSamples } from './helpers';

type Measured = { document: InstancesDocument; instanceCount: number; files: string[] };

/**
 * The whole document of a measure run: the streamed path for class-id labels leaves its records on disk (an empty
 * `instances` with `instanceCount` > 0), so they are read back from its instances.json.
 */
export function wholeDocument(r: Measured, outDir: string): InstancesDocument {
  if (r.document.instances.length === r.instanceCount) return r.document;
  expect(r.document.instances).toEqual([]);
  const doc = JSON.parse(readFileSync(path.join(outDir, 'instances.json'), 'utf8')) as InstancesDocument;
  expect(doc.instances.length).toBe(r.instanceCount);
  return doc;
}

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
  const streamed = await measureFiles(c.image, c.labels, path.join(c.dir, 'str'), options);
  expect(mem.instanceCount).toBe(mem.document.instances.length);
  expect(streamed.instanceCount).toBe(mem.instanceCount);
  const str = { ...streamed, document: wholeDocument(streamed, path.join(c.dir, 'str')) };
  expect(str.document).toEqual(mem.document);
  expect(str.files.map((f) => path.basename(f))).toEqual(mem.files.map((f) => path.basename(f)));
  // Text files as text, so a difference shows as a readable diff; images byte for byte.
  const file = (dir: string, name: string): string | Buffer => (name.endsWith('.png') ? readFileSync(path.join(c.dir, dir, name)) : readFileSync(path.join(c.dir, dir, name), 'utf8'));
  for (const name of compare.files) expect(file('str', name), name).toEqual(file('mem', name));
  const read = compare.readRaster ?? readSamples;
  for (const name of compare.rasters) expect(await read(path.join(c.dir, 'str', name))).toEqual(await read(path.join(c.dir, 'mem', name)));
  return { mem, str };
}
