// Propagate's optional stop rule (`interactive.propagateStop` of a click model): on a synthetic volume whose bright
// lesion runs on into a dim blob below it and into a uniformly bright slab above it, the rule ends the object at the
// lesion, where plain propagation carries it on; and the engine agrees voxel for voxel with the training code's
// propagate_volume (models/training/interactive_common.py), which produces the model card's 3D figures.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeNifti } from '../../main/engine/io/nifti';
import { openImage } from '../../main/engine/io';
import { promptToFolder } from '../../main/engine/interactive/prompt';
import { commandWorks, tempDir } from './helpers';
import { writeClickModel } from '../fixtures/prompt-models';

const t = tempDir('delineate-propagate-stop-');
afterAll(() => t.cleanup());

const W = 48;
const H = 48;
const D = 12;
const vol = new Uint8Array(W * H * D).fill(20);
const at = (x: number, y: number, z: number): number => z * W * H + y * W + x;
// Lesion on slices 3..7 (255), a dim blob on slice 2 (150: still above the threshold model's cut, but far darker
// than the lesion) and slices 8..9 bright everywhere (200: no contrast with the surroundings).
for (let z = 2; z <= 7; z++) {
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if ((x - 20) ** 2 + (y - 22) ** 2 <= 36) vol[at(x, y, z)] = z === 2 ? 150 : 255;
}
for (let z = 8; z <= 9; z++) vol.fill(200, at(0, 0, z), at(0, 0, z + 1));
const volFile = path.join(t.dir, 'lesion.nii.gz');
const raw = path.join(t.dir, 'lesion.u8');
writeFileSync(raw, vol);

function writeModel(id: string, propagateStop?: Record<string, unknown>): string {
  const file = writeClickModel(path.join(t.dir, 'models'), { id, cropSize: 16, firstCropPx: 16, minCropPx: 16 });
  if (propagateStop) {
    const m = JSON.parse(readFileSync(file, 'utf8')) as { interactive: Record<string, unknown> };
    m.interactive.propagateStop = propagateStop;
    writeFileSync(file, JSON.stringify(m, null, 2));
  }
  return file;
}

async function labelsOf(out: string): Promise<Uint8Array> {
  const labels = await openImage(path.join(out, 'labels.nii.gz'));
  const data = (await labels.read()).data;
  await labels.close();
  return Uint8Array.from(data, (v) => (v ? 1 : 0));
}

const slicesWith = (m: Uint8Array): number[] => Array.from({ length: D }, (_, z) => z).filter((z) => m.subarray(z * W * H, (z + 1) * W * H).some((v) => v));

const rule = { minContrast: 1.1, minRelativeIntensity: 0.7, ringPx: 4 };
const click = { x: 20, y: 22, z: 5, positive: true };

describe('Propagate stop rule', () => {
  it('ends the object where it stops standing out (bright slab) or turns much darker (dim blob); without it propagation runs on', async () => {
    await writeNifti(volFile, { data: vol, width: W, height: H, depth: D, channels: 1, geometry: { type: 'medical', spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } });
    const plain = await promptToFolder(volFile, path.join(t.dir, 'plain'), { model: writeModel('plain'), clicks: [click], propagate: true });
    const stopped = await promptToFolder(volFile, path.join(t.dir, 'stopped'), { model: writeModel('stopped', rule), clicks: [click], propagate: true });
    expect(slicesWith(await labelsOf(path.join(t.dir, 'plain')))).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(plain.prompt.propagated).toEqual([2, 9]);
    expect(slicesWith(await labelsOf(path.join(t.dir, 'stopped')))).toEqual([3, 4, 5, 6, 7]);
    expect(stopped.prompt.propagated).toEqual([3, 7]);
    // Each test alone: contrast only ends it at the slab, relative intensity only at the dim blob.
    await promptToFolder(volFile, path.join(t.dir, 'contrast'), { model: writeModel('contrast', { minContrast: 1.1 }), clicks: [click], propagate: true });
    expect(slicesWith(await labelsOf(path.join(t.dir, 'contrast')))).toEqual([2, 3, 4, 5, 6, 7]);
    await promptToFolder(volFile, path.join(t.dir, 'relative'), { model: writeModel('relative', { minRelativeIntensity: 0.7 }), clicks: [click], propagate: true });
    expect(slicesWith(await labelsOf(path.join(t.dir, 'relative')))).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('refuses a rule with a value out of range, naming the field', async () => {
    await expect(promptToFolder(volFile, path.join(t.dir, 'bad'), { model: writeModel('bad', { minContrast: -1 }), clicks: [click], propagate: true })).rejects.toThrow(/propagateStop\.minContrast/);
  });

  const hasPythonOracle = commandWorks('/usr/bin/python3', ['-c', 'import numpy, scipy']) && existsSync(path.join(__dirname, '..', '..', 'models', 'training', 'interactive_common.py'));
  it.skipIf(!hasPythonOracle)(`agrees voxel for voxel with interactive_common.propagate_volume${hasPythonOracle ? '' : ' (skipped: /usr/bin/python3 with numpy and scipy missing)'}`, async () => {
    const out = path.join(t.dir, 'oracle');
    await promptToFolder(volFile, out, { model: writeModel('oracle', rule), clicks: [click], propagate: true });
    const ours = await labelsOf(out);
    const script = `
import sys, json, numpy as np
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', '..', 'models', 'training'))})
import interactive_common as I
vol = np.fromfile(${JSON.stringify(raw)}, np.uint8).reshape(${D}, ${H}, ${W}).astype(np.float32) / 255.0
p = dict(I.DEFAULTS, cropSize=16, firstCropPx=16, minCropPx=16, clickRadiusPx=2, propagateStop=${JSON.stringify(rule)})
def predict(x):
    return 1 / (1 + np.exp(-(20 * x[:, 0] - 40 * x[:, 2] - 10)))
first, _ = I.step_batch(predict, [{"img": vol[5][None], "clicks": [(20, 22, True)], "mask": None}], p)
m = I.propagate_volume(predict, vol, 5, first[0], p)
print(json.dumps(m.astype(np.uint8).ravel().tolist()))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.stderr).toBe('');
    const oracle = JSON.parse(r.stdout) as number[];
    expect(slicesWith(Uint8Array.from(oracle))).toEqual([3, 4, 5, 6, 7]);
    expect(Array.from(ours)).toEqual(oracle);
  });
});
