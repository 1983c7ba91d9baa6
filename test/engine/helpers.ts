// Test helpers for engine io tests: temp folders, tiny PNG fixtures, oracle tool detection.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PNG } from 'pngjs';
import { it } from 'vitest';
import { openImage } from '../../main/engine/io';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const sharedDir = path.resolve(repoRoot, '..', 'shared');

export function tempDir(prefix = 'delineate-io-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The first band of an image file, with its size (label and instance rasters written by the CLI, references). */
export async function readBand0(file: string): Promise<{ data: ArrayLike<number>; width: number; height: number }> {
  const src = await openImage(file);
  try {
    return { data: (await src.read({ channels: [0] })).data, width: src.width, height: src.height };
  } finally {
    await src.close();
  }
}

/** The size x size square of a row-major map (width W) whose top-left corner is (row0, col0). */
export function cropSquare(map: ArrayLike<number>, W: number, row0: number, col0: number, size: number): Uint32Array {
  const out = new Uint32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = map[(row0 + y) * W + col0 + x]!;
  return out;
}

export function commandWorks(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}

export const hasGdal = commandWorks('gdalinfo', ['--version']) && commandWorks('gdal_translate', ['--version']);
export const hasNibabel = commandWorks('/usr/bin/python3', ['-c', 'import nibabel, numpy']);

const COLOR_TYPE: Record<number, 0 | 2 | 4 | 6> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/** Writes a PNG from interleaved samples (8- or 16-bit) with pngjs, which keeps grey and 16-bit as given. */
export function writeTestPng(file: string, width: number, height: number, channels: 1 | 2 | 3 | 4, samples: Uint8Array | Uint16Array): void {
  const colorType = COLOR_TYPE[channels]!;
  const bitDepth: 8 | 16 = samples instanceof Uint16Array ? 16 : 8;
  const png = new PNG({ width, height, colorType, bitDepth, inputColorType: colorType, inputHasAlpha: channels === 2 || channels === 4 });
  png.data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  writeFileSync(file, PNG.sync.write(png, { colorType, bitDepth, inputColorType: colorType, inputHasAlpha: channels === 2 || channels === 4 }));
}

/** Interleaved -> channel-planar, the layout of our image model. */
export function planar<T extends Uint8Array | Uint16Array>(inter: T, channels: number): number[] {
  const n = inter.length / channels;
  const out: number[] = [];
  for (let c = 0; c < channels; c++) for (let i = 0; i < n; i++) out.push(inter[i * channels + c]!);
  return out;
}

/** Suffix for a test title that names why it is skipped, only when it is (a passing test should not say "skipped"). */
export function skipNote(skipped: boolean, why: string): string {
  return skipped ? ` (skipped: ${why})` : '';
}

/**
 * For a suite with one test per data file: when there are no files (../shared missing), one skipped test that
 * names what is missing, so the suite shows up as skipped instead of vanishing from the report.
 */
export function skipWhenNone(items: readonly unknown[], what: string, why: string): void {
  if (items.length === 0) it.skip(`${what} (skipped: ${why})`, () => undefined);
}
