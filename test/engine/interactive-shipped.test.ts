// The shipped click models on real validation data, through promptToFolder (what `delineate prompt` runs): one
// click at the deepest point of a lesion on its largest slice, and of a Joplin building, must outline the object
// reasonably; one click + propagate must follow the lesion through the volume. Skips when the models (committed
// during training) or ../shared/data are missing.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openImage } from '../../main/engine/io';
import { deepestPoint } from '../../main/engine/interactive/geometry';
import { promptToFolder } from '../../main/engine/interactive/prompt';
import { dice } from '../../main/engine/measure/agreement';
import { brainTruth } from '../../scripts/eval-data';
import { readBand0, repoRoot, sharedDir, tempDir } from './helpers';

const data = path.join(sharedDir, 'data');
const brainModel = path.join(repoRoot, 'models', 'interactive-brain-flair', 'manifest.json');
const geoModel = path.join(repoRoot, 'models', 'interactive-geo-rgb', 'manifest.json');
const lgg = path.join(data, 'tumor-lgg-flair');
const joplin = path.join(data, 'buildings-joplin');
const firstLine = (file: string): string => readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('#'))!;

const t = tempDir('delineate-interactive-shipped-');
afterAll(() => t.cleanup());

function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! > 0 && a[i]! !== 255;
    const y = b[i]! > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

const noBrain = !existsSync(brainModel) || !existsSync(lgg);
describe.skipIf(noBrain)(`interactive-brain-flair on a validation patient${noBrain ? ' (skipped: models/interactive-brain-flair or ../shared/data/tumor-lgg-flair missing)' : ''}`, () => {
  it('one click inside the lesion outlines it; one click + propagate follows it through the volume', async () => {
    const patient = firstLine(path.join(repoRoot, 'models', 'training', 'splits', 'brain_val.txt'));
    const dir = path.join(lgg, patient);
    const src = await openImage(dir);
    const truth = await brainTruth(dir, src);
    const { width: W, height: H, depth: D } = src;
    await src.close();
    const plane = W * H;
    let z = 0;
    let best = -1;
    for (let zz = 0; zz < D; zz++) {
      const n = truth.subarray(zz * plane, (zz + 1) * plane).reduce((a, b) => a + b, 0);
      if (n > best) [best, z] = [n, zz];
    }
    const sliceTruth = truth.slice(z * plane, (z + 1) * plane);
    const seed = deepestPoint(sliceTruth, W, H)!;
    const out = path.join(t.dir, 'lesion');
    const res = await promptToFolder(dir, out, { clicks: [{ x: seed.x, y: seed.y, z, positive: true }], propagate: true, threads: 2 });
    expect(res.prompt.model.id).toBe('interactive-brain-flair');
    const labels = await openImage(path.join(out, 'labels.nii.gz'));
    const pred = (await labels.read()).data;
    await labels.close();
    const oneSlice = iou(pred.subarray(z * plane, (z + 1) * plane), sliceTruth);
    const d3 = dice(Uint8Array.from(pred, (v) => (v ? 1 : 0)), truth);
    const ms = (res.prompt.modelSeconds * 1000) / res.prompt.steps.length;
    console.log(`interactive-brain-flair ${patient} slice ${z}: IoU after one click ${oneSlice.toFixed(3)}, 3D Dice ${d3.toFixed(3)}, ${ms.toFixed(1)} ms per model step`);
    expect(oneSlice).toBeGreaterThan(0.6);
    expect(d3).toBeGreaterThan(0.5);
    // The slice PNGs carry no spacing: the volume is in voxels.
    expect(res.document.instances[0]!.volumePx).toBe(Array.from(pred).reduce((a, v) => a + (v ? 1 : 0), 0));
  }, 300_000);
});

const noGeo = !existsSync(geoModel) || !existsSync(joplin);
describe.skipIf(noGeo)(`interactive-geo-rgb on a validation building${noGeo ? ' (skipped: models/interactive-geo-rgb or ../shared/data/buildings-joplin missing)' : ''}`, () => {
  it('one click on a building outlines it', async () => {
    const [tile, r, c, s] = firstLine(path.join(repoRoot, 'models', 'training', 'splits', 'buildings_val.txt')).split(/\s+/);
    const [row0, col0, size] = [Number(r), Number(c), Number(s)];
    const ins = await readBand0(path.join(joplin, 'instances', `${tile}.tif`));
    // The largest building of the validation quadrant that does not touch the quadrant's edge.
    const counts = new Map<number, number>();
    for (let y = row0 + 1; y < row0 + size - 1; y++) for (let x = col0 + 1; x < col0 + size - 1; x++) {
      const id = ins.data[y * ins.width + x]!;
      if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const id = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const truth = Uint8Array.from(ins.data, (v) => (v === id ? 1 : 0));
    const seed = deepestPoint(truth, ins.width, ins.height)!;
    const out = path.join(t.dir, 'building');
    const res = await promptToFolder(path.join(joplin, 'images', `${tile}.tif`), out, { clicks: [{ x: seed.x, y: seed.y, positive: true }], threads: 2 });
    expect(res.prompt.model.id).toBe('interactive-geo-rgb');
    const labels = await readBand0(path.join(out, 'labels.tif'));
    const score = iou(labels.data, truth);
    console.log(`interactive-geo-rgb ${tile} building ${id}: IoU after one click ${score.toFixed(3)}, ${((res.prompt.modelSeconds * 1000) / res.prompt.steps.length).toFixed(1)} ms per model step`);
    // Machine-made footprints sit a few metres off the roofs: one click is a rough outline, not a match. The early
    // checkpoint (50 steps) gives 0.15 here; the acceptance figures are npm run eval -- --interactive's.
    expect(score).toBeGreaterThan(0.1);
    expect(res.document.instances[0]!.areaM2).toBeGreaterThan(0);
  }, 300_000);
});
