// Synthetic motion the test makes from a real T1 post-contrast volume of ../shared/data/longitudinal-gbm-t1c (skipped
// without it): rotations up to 8 degrees, shifts up to 6 mm, the tumour grown or shrunk, or a new lesion. Checks the
// registration error at the lesion centroid and at (+-40, +-40, +-15) mm from the centre, the volume change against
// the truth, the new lesion and the category. The spacing there is nominal (1 mm), so millimetres are nominal too.
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Vec3 } from '../../preload/formats';
import { apply4, invert4, maxPointError, voxelToLps } from '../../main/engine/compare/medical/affine';
import { loadVolume, type Volume3 } from '../../main/engine/compare/medical/register';
import { compareMedical } from '../../main/engine/compare/medical/index';
import { resolveTimePoints } from '../../main/engine/compare/timepoints';
import { measureFiles } from '../../main/engine/pipeline';
import { writeNifti } from '../../main/engine/io/nifti';
import { sharedDir, skipNote, tempDir } from './helpers';
import { cornerPoints, count, gridCentre, moveVolume, morph, rigidMotion, volumetricTruth } from './compare-medical-helpers';

const DATA = path.join(sharedDir, 'data', 'longitudinal-gbm-t1c');
const HAVE = existsSync(path.join(DATA, 'patient01', 'baseline.nii.gz'));
const work = tempDir('delineate-compare-real-');
afterAll(() => work.cleanup());

interface MotionCase {
  name: string;
  anglesDeg: Vec3;
  shiftMm: Vec3;
  /** In-plane dilations (> 0) or erosions (< 0) of the tumour. */
  grow: number;
  newLesion: boolean;
}

const CASES: MotionCase[] = [
  { name: 'growth, 8 degrees in-plane and 6 mm', anglesDeg: [2, -1.5, 8], shiftMm: [6, -3, 1], grow: 2, newLesion: false },
  { name: 'shrinkage, -6 degrees and 5 mm', anglesDeg: [-3, 2, -6], shiftMm: [-4, 3, -2], grow: -3, newLesion: false },
  { name: 'a new lesion, 5 degrees and 4 mm', anglesDeg: [1, 1, 5], shiftMm: [3, 2.5, 0], grow: 0, newLesion: true },
];

describe.skipIf(!HAVE)(`synthetic motion of a real T1 post-contrast volume${skipNote(!HAVE, '../shared/data/longitudinal-gbm-t1c missing')}`, () => {
  let base: Volume3;
  let mask: Uint8Array;
  const src = path.join(DATA, 'patient01');
  const baseResult = path.join(work.dir, 'motion-base');

  it.each(CASES)('$name', async (c) => {
    if (!base) {
      base = await loadVolume(path.join(src, 'baseline.nii.gz'));
      const m = await loadVolume(path.join(src, 'baseline_mask.nii.gz'));
      mask = Uint8Array.from(m.data, (v) => (v > 0 ? 1 : 0));
      await measureFiles(path.join(src, 'baseline.nii.gz'), path.join(src, 'baseline_mask.nii.gz'), baseResult, {});
    }
    const { width: W, height: H, depth: D } = base;
    // The follow-up anatomy before motion: tumour grown or shrunk in-plane, or a new enhancing sphere.
    let m1 = c.grow > 0 ? morph(mask, W, H, D, true, c.grow) : c.grow < 0 ? morph(mask, W, H, D, false, -c.grow) : mask.slice();
    const img = Float32Array.from(base.data);
    let tumourSum = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i]) tumourSum += base.data[i]!;
    const tumourMean = tumourSum / count(mask);
    for (let i = 0; i < m1.length; i++) if (m1[i] && !mask[i]) img[i] = tumourMean;
    const toLps = voxelToLps(base.geometry);
    // New lesion: 7 mm sphere in the opposite hemisphere from the tumour, slices 8-16 (all inside the head).
    const newCentre = apply4(toLps, [W - 1 - 144, 100, 12]);
    if (c.newLesion) {
      m1 = m1.slice();
      for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        const p = apply4(toLps, [x, y, z]);
        if (Math.hypot(p[0] - newCentre[0], p[1] - newCentre[1], p[2] - newCentre[2]) <= 7) {
          m1[(z * H + y) * W + x] = 1;
          img[(z * H + y) * W + x] = tumourMean;
        }
      }
    }
    const centre = gridCentre(base);
    const truth = rigidMotion(c.anglesDeg, c.shiftMm, centre);
    const follow = moveVolume({ ...base, data: img }, m1, truth);
    const dir = path.join(work.dir, c.name.replace(/\W+/g, '-'));
    mkdirSync(dir, { recursive: true });
    const vol = (data: Float32Array | Uint8Array) => ({ data, width: W, height: H, depth: D, channels: 1, geometry: base.geometry });
    await writeNifti(path.join(dir, 'followup.nii.gz'), vol(follow.image.data));
    await writeNifti(path.join(dir, 'followup_mask.nii.gz'), vol(follow.mask));
    await measureFiles(path.join(dir, 'followup.nii.gz'), path.join(dir, 'followup_mask.nii.gz'), path.join(dir, 'f'), {});
    const { timepoints, warnings } = await resolveTimePoints([baseResult, path.join(dir, 'f')], { workDir: path.join(dir, 'work'), dates: ['2024-01-10', '2024-04-10'] });
    const t0 = performance.now();
    const change = await compareMedical(timepoints, { register: 'rigid', outDir: path.join(dir, 'out'), warnings });
    const seconds = (performance.now() - t0) / 1000;

    const reg = change.registration[0]!;
    let centroid: Vec3 = [0, 0, 0];
    let n = 0;
    for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (mask[(z * H + y) * W + x]) {
      const p = apply4(toLps, [x, y, z]);
      centroid = [centroid[0] + p[0], centroid[1] + p[1], centroid[2] + p[2]];
      n++;
    }
    // Where the lesion lies on the follow-up: the true inverse motion of its baseline centroid.
    const lesionOnFollowup = apply4(invert4(truth), centroid.map((v) => v / n));
    const centroidErr = maxPointError(reg.followupToBaseline, truth, [lesionOnFollowup]);
    const cornerErr = maxPointError(reg.followupToBaseline, truth, cornerPoints(centre));
    const trueChangePct = (count(m1) / count(mask) - 1) * 100;
    const measuredPct = (change.totals.volumeMl[1]! / change.totals.volumeMl[0]! - 1) * 100;
    console.log(
      `${c.name}: registration ${reg.seconds} s (compare ${seconds.toFixed(1)} s), error centroid ${centroidErr.toFixed(3)} mm, corners ${cornerErr.toFixed(3)} mm; ` +
        `volume change ${measuredPct.toFixed(2)}% vs truth ${trueChangePct.toFixed(2)}%; volumetric ${change.response.volumetric}`,
    );
    expect(centroidErr).toBeLessThanOrEqual(1.5);
    expect(cornerErr).toBeLessThanOrEqual(2.5);
    expect(Math.abs(measuredPct - trueChangePct)).toBeLessThanOrEqual(1);
    // The tumour's own track (the largest baseline lesion is track 1) within 1 point of its true change too.
    const tumour = change.lesions[0]!;
    expect(Math.abs(tumour.changePct! - (c.newLesion ? 0 : trueChangePct))).toBeLessThanOrEqual(1);
    const fresh = change.lesions.filter((l) => l.status === 'new');
    if (c.newLesion) {
      expect(fresh).toHaveLength(1);
      // The 7 mm sphere: 1.44 mL before voxelisation.
      expect(fresh[0]!.volumeMl[1]).toBeGreaterThan(1.2);
      expect(fresh[0]!.volumeMl[1]).toBeLessThan(1.7);
    } else {
      expect(fresh).toHaveLength(0);
    }
    expect(change.response.volumetric).toBe(volumetricTruth(count(mask), count(m1), c.newLesion));
  }, 240_000);
});

