// SLOW (about a minute per case on 2 cores; eight cases): the follow-up comparison end to end with the shipped FLAIR
// model. Eight synthetic follow-ups of real LGG FLAIR volumes (validation patients of ../shared/data/tumor-lgg-flair
// outside the test split, so the model never trained on them): the
// baseline is the patient as one NIfTI (1 x 1 x 3 mm nominal), the follow-up the same volume with a known lesion
// change (growth +60%, shrinkage -70%, stable +-5%, or a real lesion of another patient pasted in) moved by a known
// rigid motion (<= 8 degrees, <= 6 mm). `delineate compare baseline followup --model brain-flair-lgg` must give the
// volumetric category that the expert masks give in at least 6 of the 8 cases.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vec3 } from '../../preload/formats';
import { ensureCliBundle, repoRoot, sharedDir, skipNote, tempDir } from './helpers';
import { gridCentre, moveVolume, rigidMotion, volumetricTruth } from './compare-medical-helpers';
import { FLAIR_GEOMETRY, countVoxels, loadFlairPatient, pasteLesion, scaleLesion, writeFlairNifti, type FlairCase } from './flair-synthetic';

const DATA = path.join(sharedDir, 'data', 'tumor-lgg-flair');
const MODEL = path.join(repoRoot, 'models', 'brain-flair-lgg', 'model.onnx');
const HAVE = existsSync(path.join(DATA, 'TCGA_CS_5393_19990606')) && existsSync(MODEL);

interface FollowUpCase {
  patient: string;
  change: { areaFactor: number } | { donor: string };
  anglesDeg: Vec3;
  shiftMm: Vec3;
}

// Fixed before any run: two of each kind of change, on the validation patients outside the test split.
const CASES: FollowUpCase[] = [
  { patient: 'TCGA_CS_5393_19990606', change: { areaFactor: 1.6 }, anglesDeg: [2, -1.5, 8], shiftMm: [6, -3, 1] },
  { patient: 'TCGA_CS_6667_20011105', change: { areaFactor: 1.6 }, anglesDeg: [-3, 2, -6], shiftMm: [-4, 3, -2] },
  { patient: 'TCGA_DU_A5TP_19970614', change: { areaFactor: 0.3 }, anglesDeg: [1, 1, 5], shiftMm: [3, 2.5, 0] },
  { patient: 'TCGA_HT_7694_19950404', change: { areaFactor: 0.3 }, anglesDeg: [0, -2, -7], shiftMm: [-5, -2, 3] },
  { patient: 'TCGA_CS_6668_20011025', change: { areaFactor: 1.05 }, anglesDeg: [2, 0, 4], shiftMm: [2, -5, 1] },
  { patient: 'TCGA_CS_5396_20010302', change: { areaFactor: 0.95 }, anglesDeg: [-1, 1, -3], shiftMm: [-3, 4, -1] },
  { patient: 'TCGA_CS_6667_20011105', change: { donor: 'TCGA_DU_7294_19890104' }, anglesDeg: [1.5, -1, 6], shiftMm: [4, 4, 0] },
  { patient: 'TCGA_DU_A5TP_19970614', change: { donor: 'TCGA_CS_5395_19981004' }, anglesDeg: [-2, 1, -5], shiftMm: [-2, -4, 2] },
];

function label(c: FollowUpCase): string {
  const what = 'donor' in c.change ? `new lesion from ${c.change.donor.slice(5, 12)}` : `lesion x${c.change.areaFactor}`;
  return `${c.patient.slice(5, 12)}: ${what}`;
}

interface Outcome {
  name: string;
  truth: string;
  got: string;
  trueMl: [number, number];
  gotMl: [number, number];
}

const work = tempDir('delineate-compare-flair-');
afterAll(() => work.cleanup());

describe.skipIf(!HAVE)(`compare with the shipped FLAIR model on synthetic follow-ups (slow)${skipNote(!HAVE, '../shared/data/tumor-lgg-flair or the brain model missing')}`, () => {
  const outcomes: Outcome[] = [];
  const voxelMl = FLAIR_GEOMETRY.spacingMm[0] * FLAIR_GEOMETRY.spacingMm[1] * FLAIR_GEOMETRY.spacingMm[2] / 1000;
  beforeAll(() => ensureCliBundle(), 120_000);

  it.each(CASES.map((c) => [label(c), c] as const))('%s', async (name, c) => {
    const base: FlairCase = loadFlairPatient(path.join(DATA, c.patient));
    const changed = 'donor' in c.change ? pasteLesion(base, loadFlairPatient(path.join(DATA, c.change.donor))) : scaleLesion(base, c.change.areaFactor);
    const centre = gridCentre({ ...base, geometry: FLAIR_GEOMETRY });
    const motion = rigidMotion(c.anglesDeg, c.shiftMm, centre);
    const moved = moveVolume({ data: changed.image, width: base.width, height: base.height, depth: base.depth, geometry: FLAIR_GEOMETRY }, changed.mask, motion);
    const dir = path.join(work.dir, name.replace(/\W+/g, '-'));
    mkdirSync(dir, { recursive: true });
    await writeFlairNifti(path.join(dir, 'baseline.nii.gz'), base, base.image);
    await writeFlairNifti(path.join(dir, 'followup.nii.gz'), base, moved.image.data);
    const v0 = countVoxels(base.mask);
    const v1 = countVoxels(moved.mask);
    const truth = volumetricTruth(v0, v1, 'donor' in c.change);

    const out = path.join(dir, 'out');
    const r = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'bin', 'delineate.cjs'), 'compare', path.join(dir, 'baseline.nii.gz'), path.join(dir, 'followup.nii.gz'), '--model', 'brain-flair-lgg', '--dates', '2024-01-10,2024-07-10', '--out', out],
      { encoding: 'utf8', timeout: 600_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const change = JSON.parse(readFileSync(path.join(out, 'change.json'), 'utf8')) as { totals: { volumeMl: number[] }; response: { volumetric: string; reasons: string[] }; lesions: Array<{ status: string }> };
    const got = change.response.volumetric;
    outcomes.push({ name, truth, got, trueMl: [v0 * voxelMl, v1 * voxelMl], gotMl: [change.totals.volumeMl[0]!, change.totals.volumeMl[1]!] });
    console.log(
      `${name}: truth ${truth} (${(v0 * voxelMl).toFixed(1)} -> ${(v1 * voxelMl).toFixed(1)} mL), got ${got} ` +
        `(${change.totals.volumeMl[0]!.toFixed(1)} -> ${change.totals.volumeMl[1]!.toFixed(1)} mL; tracks ${change.lesions.map((l) => l.status).join(', ')})`,
    );
    // Each case must run through; whether its category is right is counted over all eight below.
    expect(['CR', 'PR', 'SD', 'PD']).toContain(got);
  }, 900_000);

  it('gets the volumetric category right in at least 6 of the 8 cases', () => {
    expect(outcomes).toHaveLength(CASES.length);
    const right = outcomes.filter((o) => o.truth === o.got).length;
    console.log(`volumetric category right in ${right} of ${outcomes.length}: ${outcomes.map((o) => `${o.name} ${o.truth}/${o.got}`).join('; ')}`);
    expect(right).toBeGreaterThanOrEqual(6);
  });
});
