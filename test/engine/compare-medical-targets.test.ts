// User-chosen RECIST target lesions (withTargets): the sum of diameters, RECIST and RANO categories and reasons are
// recomputed from the chosen tracks, the lesions are marked, the rules (exists, measurable at baseline, at most 5,
// at most 2 per organ) give clear errors, and the default comparison stays as it was. Generated data only.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MedicalGeometry } from '../../preload/formats';
import type { Track } from '../../main/engine/compare/medical/track';
import { assessResponse, TargetError, withTargets, type Sequence } from '../../main/engine/compare/medical/response';
import type { MedicalChange } from '../../main/engine/compare/medical/index';
import { writeNifti } from '../../main/engine/io/nifti';
import { measureFiles } from '../../main/engine/pipeline';
import { ensureCliBundle, runCli, tempDir } from './helpers';

function track(id: number, long: number[], short: number[], opts: Partial<Track> = {}): Track {
  const n = long.length;
  return {
    track: id,
    status: 'matched',
    instances: long.map(() => id),
    volumeMl: long.map((l, i) => (l * short[i]! * 10) / 1000),
    longAxisMm: long,
    shortAxisMm: short,
    productMm2: long.map((l, i) => l * short[i]!),
    changePct: null,
    states: new Array(n).fill('present'),
    firstIndex: 0,
    className: 'tumour',
    measurableRecist: long[0]! >= 10,
    measurableRano: long[0]! >= 10 && short[0]! >= 10,
    volumeMlRange: new Array(n).fill(null),
    ...opts,
  };
}

/** The change document compare would write for these tracks (without registration). */
function changeOf(tracks: Track[], sequence: Sequence = 't1-post-contrast'): MedicalChange {
  const n = tracks[0]!.longAxisMm.length;
  const volumeMl = Array.from({ length: n }, (_, i) => tracks.reduce((s, t) => s + (t.volumeMl[i] ?? 0), 0));
  const { response, totals } = assessResponse(tracks, volumeMl, sequence);
  return {
    kind: 'medical',
    timepoints: Array.from({ length: n }, (_, i) => ({ input: `t${i}`, date: `2024-0${i + 1}-01` })),
    registration: [],
    lesions: tracks.map((t) => ({
      track: t.track,
      status: t.status,
      instances: t.instances,
      volumeMl: t.volumeMl,
      longAxisMm: t.longAxisMm,
      shortAxisMm: t.shortAxisMm,
      changePct: t.changePct,
      states: t.states,
      className: t.className,
      ...(t.newAt !== undefined ? { newAt: t.newAt } : {}),
      trackingUid: `2.25.${t.track}`,
    })),
    totals,
    response,
    warnings: [],
  };
}

describe('withTargets', () => {
  // Track 1 shrinks 50 -> 30 mm (-40%), track 2 grows 20 -> 26 mm (+30%, +6 mm); together 70 -> 56 mm (-20%).
  const shrinking = track(1, [50, 30], [30, 18]);
  const growing = track(2, [20, 26], [15, 20]);
  const small = track(3, [8, 8], [6, 6]);
  const base = changeOf([shrinking, growing, small]);

  it('by default compare takes both measurable lesions: RECIST SD', () => {
    expect(base.response.recistTargets).toEqual([1, 2]);
    expect(base.response.recist).toBe('SD');
    expect(base.lesions.some((l) => 'target' in l)).toBe(false);
  });

  it('recomputes the sum of diameters and RECIST from the chosen targets', () => {
    const onlyShrinking = withTargets(base, [1]);
    expect(onlyShrinking.totals.sumLongAxisMm).toEqual([50, 30]);
    expect(onlyShrinking.response.recist).toBe('PR');
    expect(onlyShrinking.response.recistTargets).toEqual([1]);
    expect(onlyShrinking.response.reasons.find((r) => r.startsWith('RECIST '))).toMatch(/RECIST PR: sum of diameters 50\.0 mm -> 30\.0 mm \(-40\.0%\)/);
    expect(onlyShrinking.response.reasons.some((r) => /chosen by the user: track 1/.test(r))).toBe(true);
    const onlyGrowing = withTargets(base, [2]);
    expect(onlyGrowing.totals.sumLongAxisMm).toEqual([20, 26]);
    expect(onlyGrowing.response.recist).toBe('PD');
    expect(onlyGrowing.response.byTimepoint.map((b) => b.recist)).toEqual(['PD']);
  });

  it('marks the target lesions and keeps every other field', () => {
    const c = withTargets(base, [2]);
    expect(c.lesions.map((l) => l.target)).toEqual([false, true, false]);
    for (const [k, l] of c.lesions.entries()) expect({ ...l, target: undefined }).toEqual({ ...base.lesions[k], target: undefined });
    expect(c.totals.volumeMl).toEqual(base.totals.volumeMl);
    expect(c.response.volumetric).toBe(base.response.volumetric);
    expect(c.response.reasons.at(-1)).toMatch(/Imaging-only/);
    // The input document is not changed.
    expect(base.response.recistTargets).toEqual([1, 2]);
    expect(base.lesions.some((l) => 'target' in l)).toBe(false);
  });

  it('with the targets compare chose, gives compare\'s categories, sums and reasons', () => {
    const same = withTargets(base, base.response.recistTargets);
    expect(same.totals).toEqual(base.totals);
    expect([same.response.recist, same.response.rano, same.response.volumetric]).toEqual([base.response.recist, base.response.rano, base.response.volumetric]);
    expect(same.response.byTimepoint).toEqual(base.response.byTimepoint);
    expect(same.response.reasons.filter((r) => !/chosen by the user|number of slices/.test(r))).toEqual(base.response.reasons);
  });

  it('recomputes RANO from the chosen lesions measurable in both diameters', () => {
    // RANO 2.0 default: both (products 1500 -> 540, 300 -> 520: -31% SD). Track 2 alone: +73% PD.
    expect(base.response.ranoTargets).toEqual([1, 2]);
    const c = withTargets(base, [2]);
    expect(c.response.ranoTargets).toEqual([2]);
    expect(c.totals.sumProductsMm2).toEqual([300, 520]);
    expect(c.response.rano).toBe('PD');
    expect(c.response.reasons.some((r) => /^RANO 2\.0 PD: sum of products 520 mm² is \+73\.3%/.test(r))).toBe(true);
  });

  it('keeps a new lesion PD whatever the targets', () => {
    const fresh = track(4, [0, 15], [0, 12], { status: 'new', firstIndex: 1, newAt: 1, instances: [null, 4], measurableRecist: false, measurableRano: false });
    const c = withTargets(changeOf([shrinking, growing, fresh]), [1]);
    expect(c.response.recist).toBe('PD');
    expect(c.response.reasons.find((r) => r.startsWith('RECIST '))).toMatch(/new measurable lesion \(track 4\)/);
  });

  it('refuses targets that break the rules, naming the track and the rule', () => {
    const err = (targets: number[], slices?: Map<number, number>): string => {
      try {
        withTargets(base, targets, slices ? { baselineSlices: slices } : {});
      } catch (e) {
        expect(e).toBeInstanceOf(TargetError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err([9])).toMatch(/no track 9 \(tracks: 1, 2, 3\)/);
    expect(err([3])).toMatch(/track 3 cannot be a target: its long axis at baseline is 8\.0 mm/);
    expect(err([1, 1])).toMatch(/track 1 is listed twice/);
    expect(err([])).toMatch(/at least one/);
    expect(err([1], new Map([[1, 1]]))).toMatch(/track 1 cannot be a target: it spans 1 slice/);
    const many = changeOf([1, 2, 3, 4, 5, 6].map((i) => track(i, [20, 20], [15, 15], { className: `organ ${i}` })));
    expect(() => withTargets(many, [1, 2, 3, 4, 5, 6])).toThrow(/at most 5 target lesions, got 6/);
    const oneOrgan = changeOf([1, 2, 3].map((i) => track(i, [20, 20], [15, 15])));
    expect(() => withTargets(oneOrgan, [1, 2, 3])).toThrow(/at most 2 target lesions per organ, got 3 of 'tumour'/);
    const fresh = changeOf([shrinking, track(2, [0, 15], [0, 12], { status: 'new', firstIndex: 1, newAt: 1, instances: [null, 2] })]);
    expect(() => withTargets(fresh, [2])).toThrow(/track 2 cannot be a target: it is not present at baseline \(status new\)/);
  });
});

// ---------------------------------------------------------------- through the command line

const W = 48;
const H = 40;
const D = 8;
const GEOM: MedicalGeometry = { type: 'medical', spacingMm: [1, 1, 2], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

function boxes(list: Array<[number, number, number, number, number, number]>): Uint8Array {
  const m = new Uint8Array(W * H * D);
  for (const [x0, x1, y0, y1, z0, z1] of list) for (let z = z0; z <= z1; z++) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[(z * H + y) * W + x] = 1;
  return m;
}

describe('compare --targets', () => {
  const work = tempDir('delineate-targets-');
  const dir = work.dir;
  beforeAll(async () => {
    await ensureCliBundle();
    const vol = (data: Uint8Array | Float32Array) => ({ data, width: W, height: H, depth: D, channels: 1, geometry: GEOM });
    // Lesion A (x 2-25) shrinks, lesion B (x 32-43) grows.
    const baseMask = boxes([[2, 25, 2, 15, 1, 4], [32, 43, 20, 31, 2, 5]]);
    const followMask = boxes([[2, 13, 2, 11, 1, 4], [30, 45, 18, 35, 2, 6]]);
    for (const [name, mask] of [['t0', baseMask], ['t1', followMask]] as const) {
      await writeNifti(path.join(dir, `${name}.nii.gz`), vol(Float32Array.from(mask, (v) => 100 + 50 * v)));
      await writeNifti(path.join(dir, `${name}_mask.nii.gz`), vol(mask));
      await measureFiles(path.join(dir, `${name}.nii.gz`), path.join(dir, `${name}_mask.nii.gz`), path.join(dir, name), {});
    }
  }, 120_000);
  afterAll(() => work.cleanup());

  const read = (out: string): MedicalChange => JSON.parse(readFileSync(path.join(dir, out, 'change.json'), 'utf8')) as MedicalChange;

  it('writes the response with the chosen target and marks it; without --targets no lesion is marked', () => {
    const plain = runCli(['compare', path.join(dir, 't0'), path.join(dir, 't1'), '--register', 'none', '--dates', '2024-01-01,2024-03-01', '--out', path.join(dir, 'plain')]);
    expect(plain.stderr).not.toMatch(/error/);
    expect(plain.code).toBe(0);
    const chosen = runCli(['compare', path.join(dir, 't0'), path.join(dir, 't1'), '--register', 'none', '--dates', '2024-01-01,2024-03-01', '--targets', '2', '--out', path.join(dir, 'chosen')]);
    expect(chosen.code).toBe(0);
    const a = read('plain');
    const b = read('chosen');
    expect(a.lesions.some((l) => 'target' in l)).toBe(false);
    expect(b.lesions.map((l) => l.target)).toEqual(a.lesions.map((l) => l.track === 2));
    const lesion2 = a.lesions.find((l) => l.track === 2)!;
    expect(b.totals.sumLongAxisMm).toEqual(lesion2.longAxisMm);
    expect(b.response.recistTargets).toEqual([2]);
    // Lesion 1 shrinks and lesion 2 grows: together stable, lesion 2 alone progresses.
    expect([a.response.recist, b.response.recist]).toEqual(['SD', 'PD']);
    // The choice is the same computation as withTargets on the default document (with the slices compare knows).
    const again = withTargets(a, [2]);
    expect([b.response.recist, b.response.rano]).toEqual([again.response.recist, again.response.rano]);
    expect(b.totals.volumeMl).toEqual(a.totals.volumeMl);
  });

  it('a bad choice exits 2 with one line naming the rule, and writes nothing', () => {
    const r = runCli(['compare', path.join(dir, 't0'), path.join(dir, 't1'), '--register', 'none', '--dates', '2024-01-01,2024-03-01', '--targets', '7', '--out', path.join(dir, 'bad')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--targets 7: there is no track 7/);
    const syntax = runCli(['compare', path.join(dir, 't0'), path.join(dir, 't1'), '--targets', '1,x', '--out', path.join(dir, 'bad')]);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/--targets must be track ids/);
    expect(() => readFileSync(path.join(dir, 'bad', 'change.json'))).toThrow();
  });
});
