// The shipped brain model through the built CLI on every input it is meant for: a folder of slice PNGs read as one
// volume, the same volume as NIfTI and as a DICOM series, and a single PNG slice. One validation patient of
// ../shared/data/tumor-lgg-flair (skipped, named, when the data are not there).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openImage } from '../../main/engine/io';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { sharedDir, tempDir } from './helpers';

const repo = path.resolve(__dirname, '..', '..');
const PATIENT = path.join(sharedDir, 'data', 'tumor-lgg-flair', 'TCGA_HT_8114_19981030');
const model = path.join(repo, 'models', 'brain-flair-lgg', 'model.onnx');
const cli = path.join(repo, 'dist', 'cli.cjs');
const skip = !existsSync(PATIENT) ? `${PATIENT} is missing` : !existsSync(model) ? 'the shipped brain model is missing' : !existsSync(cli) ? 'dist/ is not built (npm run build)' : null;
if (skip) console.warn(`shipped brain model tests skipped: ${skip}`);

function delineate(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repo, 'bin', 'delineate.cjs'), ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Foreground (any class) of a result folder's label map, and its instances.json. */
async function resultOf(dir: string): Promise<{ fg: Uint8Array; doc: { model?: { id: string }; inference?: Record<string, unknown>; instances: unknown[] } }> {
  const file = readdirSync(dir).find((n) => n.startsWith('labels.'));
  if (!file) throw new Error(`${dir}: no labels file`);
  const src = await openImage(path.join(dir, file));
  try {
    const { data } = await src.read({ channels: [0] });
    const fg = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) fg[i] = data[i]! > 0 && data[i]! < 255 ? 1 : 0;
    return { fg, doc: JSON.parse(readFileSync(path.join(dir, 'instances.json'), 'utf8')) };
  } finally {
    await src.close();
  }
}

function dice(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i]! & b[i]!;
    sa += a[i]!;
    sb += b[i]!;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

describe.skipIf(skip !== null)(`delineate segment --model brain-flair-lgg${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  const t = tempDir('delineate-brain-');
  let truth: Uint8Array;
  let volume: { width: number; height: number; depth: number; data: ArrayLike<number> };
  let stack: Awaited<ReturnType<typeof resultOf>>;

  beforeAll(async () => {
    const src = await openImage(PATIENT);
    try {
      volume = { width: src.width, height: src.height, depth: src.depth, data: (await src.read({ channels: [0] })).data };
    } finally {
      await src.close();
    }
    const images = readdirSync(PATIENT).filter((n) => /_image\.png$/.test(n)).sort();
    expect(images).toHaveLength(volume.depth);
    truth = new Uint8Array(volume.width * volume.height * volume.depth);
    for (let z = 0; z < images.length; z++) {
      const m = await openImage(path.join(PATIENT, images[z]!.replace('_image', '_mask')));
      const d = (await m.read({ channels: [0] })).data;
      await m.close();
      for (let i = 0; i < d.length; i++) truth[z * d.length + i] = d[i]! > 0 ? 1 : 0;
    }
    const r = delineate(['segment', PATIENT, '--stack', '--model', 'brain-flair-lgg', '--out', path.join(t.dir, 'stack'), '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    stack = await resultOf(path.join(t.dir, 'stack'));
  }, 300_000);
  afterAll(() => t.cleanup());

  it('a folder of slice PNGs (one volume) finds the lesion, with the clean-up rule and flips the manifest asks for recorded', () => {
    const manifest = JSON.parse(readFileSync(path.join(repo, 'models', 'brain-flair-lgg', 'manifest.json'), 'utf8')) as { postprocess: Record<string, number>; testTimeFlips?: string[] };
    expect(manifest.postprocess.minComponentMeanProbability).toBeGreaterThan(0);
    expect(stack.doc.model?.id).toBe('brain-flair-lgg');
    expect(stack.doc.inference).toMatchObject({ postprocess: manifest.postprocess });
    expect(stack.doc.inference?.testTimeFlips).toEqual(manifest.testTimeFlips);
    expect(stack.doc.instances.length).toBeGreaterThanOrEqual(1);
    expect(dice(stack.fg, truth)).toBeGreaterThan(0.9);
  });

  it('the same volume as NIfTI gives the same labels', async () => {
    const nii = path.join(t.dir, 'flair.nii.gz');
    expect(delineate(['convert', PATIENT, nii]).code).toBe(0);
    const r = delineate(['segment', nii, '--model', 'brain-flair-lgg', '--out', path.join(t.dir, 'nifti'), '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    const out = await resultOf(path.join(t.dir, 'nifti'));
    expect(dice(out.fg, stack.fg)).toBeGreaterThan(0.999);
  }, 300_000);

  it('the same volume as a DICOM series (12-bit range: values x16) gives the same labels', async () => {
    const dir = path.join(t.dir, 'dicom');
    mkdirSync(dir);
    const { width: W, height: H, data } = volume;
    writeCtSeries(dir, {
      width: W,
      height: H,
      depth: volume.depth,
      spacingMm: [0.94, 0.94, 3],
      orientation: [1, 0, 0, 0, 1, 0],
      originMm: [0, 0, 0],
      rescaleIntercept: 0,
      value: (x, y, z) => Number(data[(z * H + y) * W + x]) * 16,
      fileName: (z) => `im${String(z).padStart(3, '0')}.dcm`,
      instanceNumber: (z) => z + 1,
      seriesUid: '1.2.826.0.1.3680043.8.498.77',
    });
    const r = delineate(['segment', dir, '--model', 'brain-flair-lgg', '--out', path.join(t.dir, 'dicom-out'), '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    const out = await resultOf(path.join(t.dir, 'dicom-out'));
    expect(out.fg.length).toBe(stack.fg.length);
    expect(dice(out.fg, stack.fg)).toBeGreaterThan(0.99);
  }, 300_000);

  it('a single PNG slice (the one with the most lesion) is segmented on its own', async () => {
    const plane = volume.width * volume.height;
    let best = 0;
    let bestCount = -1;
    for (let z = 0; z < volume.depth; z++) {
      let n = 0;
      for (let i = 0; i < plane; i++) n += truth[z * plane + i]!;
      if (n > bestCount) [best, bestCount] = [z, n];
    }
    const file = readdirSync(PATIENT).filter((n) => /_image\.png$/.test(n)).sort()[best]!;
    const r = delineate(['segment', path.join(PATIENT, file), '--model', 'brain-flair-lgg', '--out', path.join(t.dir, 'single'), '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    const out = await resultOf(path.join(t.dir, 'single'));
    expect(dice(out.fg, truth.subarray(best * plane, (best + 1) * plane))).toBeGreaterThan(0.8);
  }, 300_000);
});
