// Medical follow-up comparison on the six real pairs of ../shared/data/longitudinal-gbm-t1c (skipped without them),
// with the expert masks as results (measure on each date, then compare the two folders): totals equal the mask
// volumes exactly, the categories follow the rules from the reported sums, and the head masks overlap better after
// registration (Dice >= 0.93). The spacing in these files is nominal (1 x 1 x 1 mm, README), so millimetre
// thresholds are nominal too.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IDENTITY4, invert4 } from '../../main/engine/compare/medical/affine';
import { loadVolume, resampleNearest } from '../../main/engine/compare/medical/register';
import { compareMedical, type MedicalChange } from '../../main/engine/compare/medical/index';
import { resolveTimePoints } from '../../main/engine/compare/timepoints';
import { measureFiles } from '../../main/engine/pipeline';
import { sharedDir, skipNote, tempDir } from './helpers';
import { count, dice, headMask, volumetricTruth } from './compare-medical-helpers';

const DATA = path.join(sharedDir, 'data', 'longitudinal-gbm-t1c');
const HAVE = existsSync(path.join(DATA, 'patient01', 'baseline.nii.gz'));
const work = tempDir('delineate-compare-real-');
afterAll(() => work.cleanup());

const PATIENTS = ['01', '02', '03', '04', '05', '06'];

describe.skipIf(!HAVE)(`real follow-up pairs with expert masks${skipNote(!HAVE, '../shared/data/longitudinal-gbm-t1c missing')}`, () => {
  it.each(PATIENTS)('patient %s', async (p) => {
    const dir = path.join(DATA, `patient${p}`);
    const info = JSON.parse(readFileSync(path.join(dir, 'info.json'), 'utf8')) as { baselineDate: string; followupDate: string; baseline_maskVoxels: number; followup_maskVoxels: number };
    const out = path.join(work.dir, `patient${p}`);
    await measureFiles(path.join(dir, 'baseline.nii.gz'), path.join(dir, 'baseline_mask.nii.gz'), path.join(out, 'b'), {});
    await measureFiles(path.join(dir, 'followup.nii.gz'), path.join(dir, 'followup_mask.nii.gz'), path.join(out, 'f'), {});
    // Follow-up given first: --dates decide the order.
    const { timepoints, warnings } = await resolveTimePoints([path.join(out, 'f'), path.join(out, 'b')], { workDir: path.join(out, 'work'), dates: [info.followupDate, info.baselineDate] });
    const change: MedicalChange = await compareMedical(timepoints, { register: 'rigid', outDir: path.join(out, 'cmp'), warnings });
    expect(change.timepoints.map((t) => t.date)).toEqual([info.baselineDate, info.followupDate]);

    // Totals: every mask voxel at 1 mm³, exactly.
    const bm = await loadVolume(path.join(dir, 'baseline_mask.nii.gz'));
    const fm = await loadVolume(path.join(dir, 'followup_mask.nii.gz'));
    expect(count(bm.data)).toBe(info.baseline_maskVoxels);
    expect(change.totals.volumeMl).toEqual([count(bm.data) / 1000, count(fm.data) / 1000]);

    // The categories follow the rules from the reported sums (T1 post-contrast: RANO 2.0).
    const [v0, v1] = change.totals.volumeMl as [number, number];
    const hasNew = change.lesions.some((l) => l.status === 'new');
    expect(change.response.volumetric).toBe(volumetricTruth(v0, v1, hasNew));
    const [s0, s1] = change.totals.sumLongAxisMm as [number, number];
    const recist = hasNew || (s1 - s0 >= 5 && s1 >= 1.2 * s0) ? 'PD' : s1 <= 0.7 * s0 ? 'PR' : 'SD';
    expect(change.response.recist).toBe(recist);
    const [p0, p1] = change.totals.sumProductsMm2 as [number, number];
    const rano = hasNew || p1 >= 1.25 * p0 ? 'PD' : p1 <= 0.5 * p0 ? 'PR' : 'SD';
    expect(change.response.ranoVersion).toBe('RANO 2.0');
    expect(change.response.rano).toBe(rano);
    for (const l of change.lesions.filter((x) => x.status === 'new')) expect(l.longAxisMm.find((v) => v !== null)).toBeGreaterThanOrEqual(10);

    // Head masks overlap better after registration than before, and at least 0.93.
    const b = await loadVolume(path.join(dir, 'baseline.nii.gz'));
    const f = await loadVolume(path.join(dir, 'followup.nii.gz'));
    const hb = headMask(b);
    const hf = { data: headMask(f), width: f.width, height: f.height, depth: f.depth, geometry: f.geometry };
    const reg = change.registration[0]!;
    const before = dice(hb, resampleNearest(hf, b, IDENTITY4).data);
    const after = dice(hb, resampleNearest(hf, b, invert4(reg.followupToBaseline)).data);
    console.log(
      `patient ${p}: registration ${reg.seconds} s; head Dice ${before.toFixed(4)} -> ${after.toFixed(4)}; MI ${reg.metricBefore} -> ${reg.metric}; ` +
        `volume ${v0} -> ${v1} mL (${(((v1 - v0) / v0) * 100).toFixed(1)}%), ${change.response.volumetric}/${change.response.recist}/${change.response.rano}; ` +
        `${change.lesions.length} tracks (${change.lesions.filter((l) => l.status === 'new').length} new)`,
    );
    expect(after).toBeGreaterThanOrEqual(0.93);
    expect(after).toBeGreaterThanOrEqual(before);
  }, 240_000);
});
