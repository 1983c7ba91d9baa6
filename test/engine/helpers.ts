// Test helpers for engine io tests: temp folders, tiny PNG fixtures, oracle tool detection.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PNG } from 'pngjs';
import { it } from 'vitest';
import { openImage } from '../../main/engine/io';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const sharedDir = path.resolve(repoRoot, '..', 'shared');

/** Newest modification time of the .ts files under dir (0 when none). */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
  }
  return newest;
}

/**
 * Rebuilds dist/cli.cjs when a source under main/ or preload/ is newer than it, with the app's own esbuild options
 * (scripts/esbuild-node.mjs), so the externals stay in step with `npm run build`.
 */
export async function ensureCliBundle(): Promise<void> {
  const cliBundle = path.join(repoRoot, 'dist', 'cli.cjs');
  if (existsSync(cliBundle) && statSync(cliBundle).mtimeMs >= Math.max(newestSource(path.join(repoRoot, 'main')), newestSource(path.join(repoRoot, 'preload')))) return;
  const { build } = await import('esbuild');
  const { nodeBundleOptions, nodeExternals } = (await import(path.join(repoRoot, 'scripts', 'esbuild-node.mjs'))) as { nodeBundleOptions: Record<string, unknown>; nodeExternals: string[] };
  await build({ ...nodeBundleOptions, entryPoints: [path.join(repoRoot, 'main/cli/index.ts')], outfile: cliBundle, external: nodeExternals });
}

/** Runs `delineate <args>` (bin/delineate.cjs) in a child process with extra environment variables. */
export function runCli(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'delineate.cjs'), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

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

/** Every sample of a raster (all channels, channel-planar) as numbers, for comparing two written files. */
export async function readSamples(file: string): Promise<number[]> {
  const src = await openImage(file);
  try {
    return Array.from((await src.read()).data);
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
