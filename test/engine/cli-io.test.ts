// The real `delineate` bin: info and convert on generated files; bad input gives one stderr line and exit 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { build } from 'esbuild';
import { openImage } from '../../main/engine/io';
import { repoRoot, tempDir, writeTestPng } from './helpers';

const tmp = tempDir('delineate-cli-');
afterAll(() => tmp.cleanup());
const at = (name: string): string => path.join(tmp.dir, name);
const bin = path.join(repoRoot, 'bin', 'delineate.cjs');
const cli = path.join(repoRoot, 'dist', 'cli.cjs');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

beforeAll(async () => {
  // Same bundle as `npm run build` makes for the CLI; rebuilt only when main/ or preload/ changed since.
  const stale = !existsSync(cli) || statSync(cli).mtimeMs < Math.max(newestSource(path.join(repoRoot, 'main')), newestSource(path.join(repoRoot, 'preload')));
  if (stale) {
    // The app's own esbuild options (scripts/esbuild-node.mjs), so the externals stay in step with the build.
    const { nodeBundleOptions, nodeExternals } = (await import(path.join(repoRoot, 'scripts', 'esbuild-node.mjs'))) as { nodeBundleOptions: Record<string, unknown>; nodeExternals: string[] };
    await build({ ...nodeBundleOptions, entryPoints: [path.join(repoRoot, 'main/cli/index.ts')], outfile: cli, external: nodeExternals });
  }
  writeTestPng(at('x.png'), 6, 4, 3, Uint8Array.from({ length: 72 }, (_, i) => i * 3));
  writeTestPng(at('g16.png'), 3, 2, 1, Uint16Array.from([1, 2, 3, 40000, 5, 6]));
}, 120_000);

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: tmp.dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('delineate info / convert', () => {
  it('info --json prints ImageInfo', () => {
    const r = run('info', at('x.png'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ kind: 'image', format: 'png', width: 6, height: 4, depth: 1, channels: 3, dtype: 'uint8' });
    expect(info.spacingMm).toBeUndefined();
    const withSpacing = JSON.parse(run('info', at('x.png'), '--json', '--spacing', '0.5,0.5').stdout) as Record<string, unknown>;
    expect(withSpacing.spacingMm).toEqual([0.5, 0.5, 1]);
  });

  it('info without --json is a readable summary', () => {
    const r = run('info', at('x.png'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/6 x 4 x 1 voxels, 3 channel\(s\), uint8/);
  });

  it('convert x.png y.tif and y.nii.gz keep the pixels', async () => {
    for (const out of ['y.tif', 'y.nii.gz', 'y.png']) {
      const r = run('convert', at('x.png'), at(out));
      expect(r.code, r.stderr).toBe(0);
      const a = await (await openImage(at('x.png'))).read();
      const b = await (await openImage(at(out))).read();
      expect([b.width, b.height, b.channels]).toEqual([6, 4, 3]);
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
    }
  });

  it('convert creates a missing output folder, as segment does, and leaves none behind on bad input', async () => {
    for (const out of ['made/a/y.tif', 'made/b/y.nii.gz', 'made/c/y.png']) {
      const r = run('convert', at('x.png'), at(out));
      expect(r.code, r.stderr).toBe(0);
      expect((await (await openImage(at(out))).read()).width).toBe(6);
    }
    // Relative to the working folder, as the README walkthrough runs it.
    expect(run('convert', 'x.png', 'out/rel.nii.gz').code).toBe(0);
    expect(existsSync(at('out/rel.nii.gz'))).toBe(true);
    const r = run('convert', at('g16.png'), at('never/o.png'));
    expect(r.code).toBe(2);
    expect(existsSync(at('never'))).toBe(false);
  });

  it('a folder of slices converts to a NIfTI volume, not to .tif', async () => {
    const dir = at('slices');
    mkdirSync(dir);
    for (let i = 1; i <= 3; i++) writeTestPng(path.join(dir, `${i}_image.png`), 4, 4, 1, new Uint8Array(16).fill(i));
    expect(run('convert', dir, at('vol.nii'), '--spacing', '0.8,0.8,2').code).toBe(0);
    const v = await openImage(at('vol.nii'));
    expect([v.depth, v.kind]).toEqual([3, 'medical']);
    expect((v.geometry as { spacingMm: number[] }).spacingMm.map((s) => Number(s.toFixed(5)))).toEqual([0.8, 0.8, 2]);
    const r = run('convert', dir, at('vol.tif'));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/volume/);
  });

  const bad: Array<[string, () => string[], RegExp]> = [
    ['a missing path', () => ['info', at('missing.png'), '--json'], /missing\.png: no such file or folder/],
    ['a non-image', () => ['info', at('notes.txt'), '--json'], /notes\.txt: not a supported image/],
    ['a missing input to convert', () => ['convert', at('missing.png'), at('o.tif')], /no such file/],
    ['a non-image to convert', () => ['convert', at('notes.txt'), at('o.nii.gz')], /not a supported image/],
    ['16-bit to png', () => ['convert', at('g16.png'), at('o.png')], /8-bit/],
    ['an unknown output type', () => ['convert', at('x.png'), at('o.bmp')], /unknown output type/],
    ['an output folder that is a file', () => ['convert', at('x.png'), at('x.png/o.tif')], /x\.png is a file, not a folder/],
  ];
  for (const [what, args, message] of bad) {
    it(`${what}: one line on stderr, exit 2`, () => {
      writeFileSync(at('notes.txt'), 'not an image');
      const r = run(...args());
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});
