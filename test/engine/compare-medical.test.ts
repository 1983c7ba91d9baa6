// Medical follow-up comparison on generated data only (always runs): transform algebra, elastix's parameter maps,
// lesion tracking (match, split, merge, gone, new, nonmeasurable; ids over three dates), the response rules, and a
// phantom pair moved by a known rigid motion through segment-free result folders, registration and the outputs.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MedicalGeometry, Vec3 } from '../../preload/formats';
import { IDENTITY4, apply4, centredAffine, eulerMatrix, invert4, maxPointError, mul4, voxelToLps } from '../../main/engine/compare/medical/affine';
import { downsample, elastixMapToMatrix, resampleNearest, type Volume3 } from '../../main/engine/compare/medical/register';
import { trackLesions, type InstanceMeasure, type Track } from '../../main/engine/compare/medical/track';
import { assessResponse, sequenceFromHints } from '../../main/engine/compare/medical/response';
import { compareMedical, type MedicalChange } from '../../main/engine/compare/medical/index';
import { resolveTimePoints } from '../../main/engine/compare/timepoints';
import { measureFiles } from '../../main/engine/pipeline';
import { writeNifti } from '../../main/engine/io/nifti';
import { openImage } from '../../main/engine/io';
import { tempDir } from './helpers';
import { cornerPoints, count, gridCentre, rigidMotion } from './compare-medical-helpers';

describe('transforms', () => {
  it('inverts and composes 4x4 transforms', () => {
    const m = centredAffine(eulerMatrix(0.1, -0.2, 0.3), [10, -5, 3], [4, 5, -6]);
    const p = mul4(m, invert4(m));
    for (let i = 0; i < 16; i++) expect(p[i]).toBeCloseTo(IDENTITY4[i]!, 10);
  });

  it('maps voxel indices to LPS through spacing, direction and origin', () => {
    // x axis along LPS y, y axis along -x: a 90-degree in-plane rotation.
    const g: MedicalGeometry = { type: 'medical', spacingMm: [2, 3, 4], originMm: [10, 20, 30], direction: [0, 1, 0, -1, 0, 0, 0, 0, 1] };
    expect(apply4(voxelToLps(g), [1, 1, 1])).toEqual([7, 22, 34]);
  });

  it('reads elastix Euler and affine parameter maps as fixed -> moving matrices', () => {
    const euler = elastixMapToMatrix({ Transform: ['EulerTransform'], TransformParameters: ['0.1', '-0.05', '0.2', '1', '2', '3'], CenterOfRotationPoint: ['5', '6', '7'], ComputeZYX: ['false'] });
    const expected = centredAffine(eulerMatrix(0.1, -0.05, 0.2), [5, 6, 7], [1, 2, 3]);
    expect(maxPointError(euler, expected, [[0, 0, 0], [50, -20, 10]])).toBeLessThan(1e-9);
    // Centre (5,6,7) maps to centre + translation.
    expect(apply4(euler, [5, 6, 7]).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([6, 8, 10]);
    const affine = elastixMapToMatrix({ Transform: ['AffineTransform'], TransformParameters: ['2', '0', '0', '0', '1', '0', '0', '0', '1', '1', '0', '0'], CenterOfRotationPoint: ['10', '0', '0'] });
    expect(apply4(affine, [11, 0, 0])).toEqual([13, 0, 0]);
  });

  it('block-averages a volume without moving it in LPS', () => {
    const v: Volume3 = { data: new Float32Array(32 * 32 * 32).map((_, i) => i % 32), width: 32, height: 32, depth: 32, geometry: { type: 'medical', spacingMm: [1, 1, 2], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } };
    const d = downsample(v, 5000);
    expect(d.width * d.height * d.depth).toBeLessThanOrEqual(5000);
    // The finer in-plane axes shrink first.
    expect(d.depth).toBe(32);
    // Voxel (0,0,0) of the reduced grid sits at the centre of the block it averages.
    const fx = d.geometry.spacingMm[0];
    expect(apply4(voxelToLps(d.geometry), [0, 0, 0])[0]).toBeCloseTo((fx - 1) / 2, 9);
    expect(d.data[0]).toBeCloseTo((fx - 1) / 2, 5);
  });
});

// ---------------------------------------------------------------- tracking

const W = 40;
const H = 20;
const D = 5;

function box(map: Uint32Array, id: number, x0: number, x1: number, y0: number, y1: number, z0 = 0, z1 = D - 1): void {
  for (let z = z0; z <= z1; z++) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) map[(z * H + y) * W + x] = id;
}

function measures(map: Uint32Array): InstanceMeasure[] {
  // Long axis = x extent (mm at 1 mm voxels), short = y extent, slices = z extent, volume = voxels / 1000.
  const ext = new Map<number, { minX: number; maxX: number; minY: number; maxY: number; minZ: number; maxZ: number; n: number }>();
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const id = map[(z * H + y) * W + x]!;
    if (!id) continue;
    const e = ext.get(id) ?? { minX: x, maxX: x, minY: y, maxY: y, minZ: z, maxZ: z, n: 0 };
    e.minX = Math.min(e.minX, x);
    e.maxX = Math.max(e.maxX, x);
    e.minY = Math.min(e.minY, y);
    e.maxY = Math.max(e.maxY, y);
    e.minZ = Math.min(e.minZ, z);
    e.maxZ = Math.max(e.maxZ, z);
    e.n++;
    ext.set(id, e);
  }
  return [...ext].map(([id, e]) => ({ id, classId: 1, className: 'tumour', volumeMl: e.n / 1000, longAxisMm: e.maxX - e.minX + 1, shortAxisMm: e.maxY - e.minY + 1, slices: e.maxZ - e.minZ + 1 }));
}

describe('lesion tracking', () => {
  const d0 = new Uint32Array(W * H * D);
  box(d0, 1, 2, 13, 0, 5); // A: grows
  box(d0, 2, 15, 26, 0, 5); // B: splits
  box(d0, 3, 28, 31, 0, 5); // C and D coalesce
  box(d0, 4, 33, 36, 0, 5);
  box(d0, 5, 2, 13, 14, 19); // E: disappears
  const d1 = new Uint32Array(W * H * D);
  box(d1, 1, 2, 14, 0, 6);
  box(d1, 2, 15, 19, 0, 5);
  box(d1, 3, 22, 26, 0, 5);
  box(d1, 4, 28, 36, 0, 5);
  box(d1, 5, 18, 31, 12, 19); // F: new, 14 mm long on 5 slices
  box(d1, 6, 37, 38, 15, 15, 2, 2); // G: new but 2 mm on one slice
  const d2 = new Uint32Array(W * H * D);
  box(d2, 1, 2, 14, 0, 7);
  box(d2, 2, 15, 19, 0, 5);
  box(d2, 3, 22, 26, 0, 5);
  box(d2, 4, 28, 36, 0, 5);
  box(d2, 5, 18, 31, 12, 19);
  const tracks = trackLesions([d0, d1, d2].map((m) => ({ instancesOnBaseline: m, measures: measures(m) })));
  const byTrack = (id: number): Track => tracks.find((t) => t.track === id)!;

  it('keeps one track per lesion over three dates, in the order lesions appear', () => {
    expect(tracks.map((t) => t.track)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(tracks.map((t) => t.status)).toEqual(['matched', 'split', 'merged', 'merged', 'gone', 'new', 'nonmeasurable']);
  });

  it('matches a growing lesion and reports its change against the baseline', () => {
    const a = byTrack(1);
    expect(a.instances).toEqual([1, 1, 1]);
    expect(a.volumeMl[0]).toBeCloseTo(0.36, 9);
    expect(a.volumeMl[2]).toBeCloseTo((13 * 8 * 5) / 1000, 9);
    expect(a.changePct).toBeCloseTo(((13 * 8 * 5 - 12 * 6 * 5) / (12 * 6 * 5)) * 100, 9);
  });

  it('sums the pieces of a fragmented lesion', () => {
    const b = byTrack(2);
    expect(b.instances[1]).toEqual([2, 3]);
    expect(b.volumeMl[1]).toBeCloseTo((5 * 6 * 5 * 2) / 1000, 9);
    expect(b.longAxisMm[1]).toBe(10);
    expect(b.states).toEqual(['present', 'split', 'split']);
  });

  it('measures coalesced lesions once: the older track carries the measurement, the other 0', () => {
    const [c, d] = [byTrack(3), byTrack(4)];
    expect(c.instances[1]).toBe(4);
    expect(d.instances[1]).toBe(4);
    expect(c.volumeMl[1]).toBeCloseTo((9 * 6 * 5) / 1000, 9);
    expect(d.volumeMl[1]).toBe(0);
    expect(d.mergedInto).toBe(3);
    expect(c.states[2]).toBe('merged');
    expect(d.states[2]).toBe('merged');
  });

  it('records a vanished lesion as gone with 0 mL and no instance', () => {
    const e = byTrack(5);
    expect(e.instances).toEqual([5, null, null]);
    expect(e.volumeMl.slice(1)).toEqual([0, 0]);
  });

  it('calls a measurable unmatched lesion new and a small one nonmeasurable', () => {
    expect(byTrack(6).newAt).toBe(1);
    expect(byTrack(6).instances).toEqual([null, 5, 5]);
    expect(byTrack(6).volumeMl[0]).toBeNull();
    expect(byTrack(7).newAt).toBeUndefined();
    expect(byTrack(7).states).toEqual(['absent', 'nonmeasurable', 'gone']);
  });
});

// ---------------------------------------------------------------- response rules

function track(id: number, v: number[], long: number[], short: number[], opts: Partial<Track> = {}): Track {
  const n = v.length;
  return {
    track: id,
    status: 'matched',
    instances: v.map(() => id),
    volumeMl: v,
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

describe('response rules', () => {
  const one = (v: number[], long: number[], short: number[], seq: 't2-flair' | 't1-post-contrast' = 't1-post-contrast') => assessResponse([track(1, v, long, short)], v, seq).response;

  it('volumetric: PD from +40% over the nadir, PR from -65%, CR when nothing is left', () => {
    expect(one([10, 13.9], [30, 30], [20, 20]).volumetric).toBe('SD');
    expect(one([10, 14], [30, 30], [20, 20]).volumetric).toBe('PD');
    expect(one([10, 3.5], [30, 30], [20, 20]).volumetric).toBe('PR');
    expect(one([10, 3.6], [30, 30], [20, 20]).volumetric).toBe('SD');
    expect(one([10, 0], [30, 0], [20, 0]).volumetric).toBe('CR');
    // The nadir is the smallest earlier value: 5 -> 7 is +40%.
    const r = assessResponse([track(1, [10, 5, 7], [30, 25, 27], [20, 18, 19])], [10, 5, 7], 't1-post-contrast');
    expect(r.response.volumetric).toBe('PD');
    expect(r.totals.nadirIndex).toBe(1);
    expect(r.response.byTimepoint.map((b) => b.volumetric)).toEqual(['SD', 'PD']);
  });

  it('RECIST 1.1: -30% is PR; PD needs +20% and 5 mm over the nadir', () => {
    expect(one([10, 8], [50, 35], [30, 20]).recist).toBe('PR');
    expect(one([10, 8], [50, 35.5], [30, 20]).recist).toBe('SD');
    expect(one([10, 12], [50, 60], [30, 30]).recist).toBe('PD');
    // +22.5% but only 4.5 mm: not progression.
    expect(one([1, 1.2], [20, 24.5], [15, 15]).recist).toBe('SD');
  });

  it('RANO: LGG (FLAIR) has MR between -25% and -50%; RANO 2.0 (T1 post-contrast) has none', () => {
    const lgg = one([10, 7], [40, 35], [25, 20], 't2-flair');
    expect(lgg.rano).toBe('MR');
    expect(lgg.ranoVersion).toBe('RANO-LGG');
    expect(one([10, 7], [40, 35], [25, 20]).rano).toBe('SD');
    expect(one([10, 5], [40, 25], [25, 20], 't2-flair').rano).toBe('PR');
    // 1000 -> 1288 mm²: +28.8%.
    expect(one([10, 12], [40, 46], [25, 28]).rano).toBe('PD');
    expect(one([10, 12], [40, 44], [25, 28]).rano).toBe('SD');
  });

  it('a new measurable lesion is PD everywhere, and takes precedence over PR', () => {
    const shrinking = track(1, [10, 2], [50, 20], [30, 10]);
    const fresh = track(2, [0, 0.5], [0, 12], [0, 11], { status: 'new', firstIndex: 1, newAt: 1, measurableRecist: false, measurableRano: false });
    const r = assessResponse([shrinking, fresh], [10, 2.5], 't1-post-contrast').response;
    expect([r.volumetric, r.recist, r.rano]).toEqual(['PD', 'PD', 'PD']);
    expect(r.reasons.some((s) => /new measurable lesion/.test(s))).toBe(true);
    expect(r.reasons.at(-1)).toMatch(/Imaging-only/);
    for (const c of [r.volumetric, r.recist, r.rano]) expect(c).toMatch(/^(CR|PR|SD|PD|MR)$/);
  });

  it('at most 2 RECIST targets per organ and 5 in all', () => {
    const ts = [1, 2, 3].map((i) => track(i, [1, 1], [10 + i, 10 + i], [10, 10]));
    const r = assessResponse(ts, [3, 3], 't1-post-contrast').response;
    expect(r.recistTargets).toEqual([3, 2]);
  });

  it('says when a change is smaller than the measurement uncertainty', () => {
    const r = assessResponse([track(1, [10, 11], [30, 31], [20, 20])], [10, 11], 't1-post-contrast', [[9, 11], [10, 12]]).response;
    expect(r.reasons.some((s) => /uncertainty/.test(s))).toBe(true);
  });

  it('identifies the sequence from model ids, series descriptions and file names', () => {
    expect(sequenceFromHints(['brain-flair-lgg'])).toBe('t2-flair');
    expect(sequenceFromHints(['/data/longitudinal-gbm-t1c/patient01/baseline.nii.gz'])).toBe('t1-post-contrast');
    expect(sequenceFromHints(['AX T1 POST GAD'])).toBe('t1-post-contrast');
    expect(sequenceFromHints(['Sag T2 FLAIR'])).toBe('t2-flair');
    expect(sequenceFromHints(['patient02/scan.nii.gz'])).toBe('unknown');
    expect(sequenceFromHints(['AX T1 PRE-CONTRAST'])).toBe('unknown');
  });
});

// ---------------------------------------------------------------- phantom pair through the whole comparison

const PW = 96;
const PH = 96;
const PD = 36;
const GEOM: MedicalGeometry = { type: 'medical', spacingMm: [2, 2, 2.5], originMm: [-95, -95, -44], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

interface Sphere {
  c: Vec3;
  rMm: number;
  value: number;
}

/** Deterministic pseudo-random numbers (LCG) so the phantom is the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** Head phantom: ellipsoid skull and brain, textured by blobs, plus lesions (spheres, labelled 1). */
function phantom(lesions: Sphere[], followupToBaseline: number[]): { image: Float32Array; mask: Uint8Array } {
  const rnd = lcg(7);
  const blobs: Sphere[] = Array.from({ length: 40 }, () => ({ c: [(rnd() - 0.5) * 110, (rnd() - 0.5) * 130, (rnd() - 0.5) * 60] as Vec3, rMm: 5 + rnd() * 12, value: (rnd() - 0.5) * 60 }));
  const image = new Float32Array(PW * PH * PD);
  const mask = new Uint8Array(PW * PH * PD);
  const toLps = voxelToLps(GEOM);
  let i = 0;
  for (let z = 0; z < PD; z++) for (let y = 0; y < PH; y++) for (let x = 0; x < PW; x++, i++) {
    // The follow-up shows the baseline anatomy at followupToBaseline(q).
    const p = apply4(followupToBaseline, apply4(toLps, [x, y, z]));
    const e = (p[0] / 75) ** 2 + (p[1] / 88) ** 2 + (p[2] / 40) ** 2;
    let v = e < 1 ? (e > 0.8 ? 180 : 80) : 0;
    if (e < 0.8) {
      for (const b of blobs) {
        const d2 = (p[0] - b.c[0]) ** 2 + (p[1] - b.c[1]) ** 2 + (p[2] - b.c[2]) ** 2;
        v += b.value * Math.exp(-d2 / (2 * b.rMm * b.rMm));
      }
      for (const l of lesions) {
        if ((p[0] - l.c[0]) ** 2 + (p[1] - l.c[1]) ** 2 + (p[2] - l.c[2]) ** 2 <= l.rMm * l.rMm) {
          v = l.value;
          mask[i] = 1;
        }
      }
    }
    image[i] = v;
  }
  return { image, mask };
}

describe('phantom pair: rigid motion, growth and a new lesion', () => {
  const work = tempDir('delineate-compare-med-');
  const lesion: Sphere = { c: [20, -15, 5], rMm: 14, value: 150 };
  const grown: Sphere = { ...lesion, rMm: 16 };
  const fresh: Sphere = { c: [-30, 30, -5], rMm: 8, value: 150 };
  // 6 degrees about z, 2 and -1.5 about x and y, 5 mm shift: follow-up LPS -> baseline LPS.
  const centre = gridCentre({ width: PW, height: PH, depth: PD, geometry: GEOM });
  const truth = rigidMotion([2, -1.5, 6], [5, -3, 2], centre);
  let change: MedicalChange;
  let seconds = 0;
  let trueChangePct = 0;

  beforeAll(async () => {
    const base = phantom([lesion], IDENTITY4);
    const follow = phantom([grown, fresh], truth);
    // Truth of the tracked lesion's change: the grown sphere as the follow-up scan holds it (its own voxels).
    const grownOnFollowup = phantom([grown], truth);
    trueChangePct = (grownOnFollowup.mask.reduce((s, v) => s + v, 0) / base.mask.reduce((s, v) => s + v, 0) - 1) * 100;
    const vol = (data: Float32Array | Uint8Array) => ({ data, width: PW, height: PH, depth: PD, channels: 1, geometry: GEOM });
    const dir = work.dir;
    await writeNifti(path.join(dir, 'baseline_20240105.nii.gz'), vol(base.image));
    await writeNifti(path.join(dir, 'baseline_mask.nii.gz'), vol(base.mask));
    await writeNifti(path.join(dir, 'followup_20240402.nii.gz'), vol(follow.image));
    await writeNifti(path.join(dir, 'followup_mask.nii.gz'), vol(follow.mask));
    await measureFiles(path.join(dir, 'baseline_20240105.nii.gz'), path.join(dir, 'baseline_mask.nii.gz'), path.join(dir, 'b'), {});
    await measureFiles(path.join(dir, 'followup_20240402.nii.gz'), path.join(dir, 'followup_mask.nii.gz'), path.join(dir, 'f'), {});
    // Given follow-up first: the dates in the image names put the baseline first.
    const { timepoints, warnings } = await resolveTimePoints([path.join(dir, 'f'), path.join(dir, 'b')], { workDir: path.join(dir, 'work') });
    const t0 = performance.now();
    change = await compareMedical(timepoints, { register: 'rigid', outDir: path.join(dir, 'out'), warnings });
    seconds = (performance.now() - t0) / 1000;
  }, 180_000);
  afterAll(() => work.cleanup());

  it('orders the dates and registers within 1.5 mm at the lesion and 2.5 mm at (+-40, +-40, +-15) mm', () => {
    expect(change.timepoints.map((t) => t.date)).toEqual(['2024-01-05', '2024-04-02']);
    const reg = change.registration[0]!;
    expect(reg).toMatchObject({ from: 1, to: 0, method: 'rigid' });
    expect(reg.followupToBaseline).toHaveLength(16);
    // The lesion centroid as seen on the follow-up: where the truth sends it back to the baseline centre.
    const lesionOnFollowup = apply4(invert4(truth), lesion.c);
    const centroidErr = maxPointError(reg.followupToBaseline, truth, [lesionOnFollowup]);
    const cornerErr = maxPointError(reg.followupToBaseline, truth, cornerPoints(centre));
    console.log(`phantom registration: centroid ${centroidErr.toFixed(3)} mm, corners ${cornerErr.toFixed(3)} mm, compare ${seconds.toFixed(1)} s`);
    expect(centroidErr).toBeLessThanOrEqual(1.5);
    expect(cornerErr).toBeLessThanOrEqual(2.5);
    expect(reg.metric).toBeGreaterThan(reg.metricBefore);
  });

  it('tracks the grown lesion within 1 percentage point and reports the new one as new', () => {
    const matched = change.lesions.filter((l) => l.status === 'matched');
    expect(matched).toHaveLength(1);
    expect(Math.abs(matched[0]!.changePct! - trueChangePct)).toBeLessThanOrEqual(1);
    const fresh = change.lesions.filter((l) => l.status === 'new');
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.instances[0]).toBeNull();
  });

  it('decides PD (a new lesion) with reasons, totals from every foreground voxel', async () => {
    expect(change.response.volumetric).toBe('PD');
    expect(change.response.recist).toBe('PD');
    expect(change.response.rano).toBe('PD');
    const src = await openImage(path.join(work.dir, 'followup_mask.nii.gz'));
    const voxels = count((await src.read()).data);
    await src.close();
    expect(change.totals.volumeMl[1]).toBeCloseTo((voxels * 2 * 2 * 2.5) / 1000, 6);
  });

  it('writes change.json, one CSV row per lesion and date, and the from-to map on the baseline grid', async () => {
    const json = JSON.parse(readFileSync(path.join(work.dir, 'out', 'change.json'), 'utf8')) as MedicalChange;
    expect(json.kind).toBe('medical');
    expect(Object.keys(json.lesions[0]!)).toEqual(expect.arrayContaining(['track', 'status', 'instances', 'volumeMl', 'longAxisMm', 'shortAxisMm', 'changePct']));
    const csv = readFileSync(path.join(work.dir, 'out', 'change.csv'), 'utf8').trim().split('\n');
    expect(csv.length - 1).toBe(json.lesions.length * 2);
    const src = await openImage(path.join(work.dir, 'out', 'change.nii.gz'));
    expect([src.width, src.height, src.depth, src.dtype]).toEqual([PW, PH, PD, 'uint16']);
    const codes = new Set((await src.read()).data);
    await src.close();
    // Lesion stays lesion (101), new tissue becomes lesion (1), and rotated-in corners lie outside the follow-up.
    for (const c of [0, 1, 101, 65535]) expect(codes.has(c)).toBe(true);
    expect([...codes].every((c) => c === 65535 || [0, 1, 100, 101].includes(c))).toBe(true);
  });
});

// Nearest resampling is exact on whole-voxel shifts (the follow-up labels land on the baseline grid unchanged).
it('resamples labels by nearest neighbour through a transform', () => {
  const g: MedicalGeometry = { type: 'medical', spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const src = new Uint32Array(4 * 4 * 2);
  src[(1 * 4 + 2) * 4 + 3] = 7;
  const shift = centredAffine([1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0], [1, 0, 0]);
  const out = resampleNearest({ data: src, width: 4, height: 4, depth: 2, geometry: g }, { width: 4, height: 4, depth: 2, geometry: g }, shift);
  expect(out.data[(1 * 4 + 2) * 4 + 2]).toBe(7);
  expect(out.inside[3]).toBe(0);
  expect(out.inside[2]).toBe(1);
});

describe('three dates without registration: one track per lesion, nadir and per-date categories', () => {
  const work = tempDir('delineate-compare-med3-');
  const lesion: Sphere = { c: [20, -15, 5], rMm: 14, value: 150 };
  let change: MedicalChange;
  beforeAll(async () => {
    // Date 0: 14 mm; date 1: shrinks to 10 mm (the nadir); date 2: back to 12 mm and a new 8 mm lesion.
    const dates = [[lesion], [{ ...lesion, rMm: 10 }], [{ ...lesion, rMm: 12 }, { c: [-30, 30, -5] as Vec3, rMm: 8, value: 150 }]];
    const dirs: string[] = [];
    for (const [i, spheres] of dates.entries()) {
      const p = phantom(spheres, IDENTITY4);
      const vol = (data: Float32Array | Uint8Array) => ({ data, width: PW, height: PH, depth: PD, channels: 1, geometry: GEOM });
      await writeNifti(path.join(work.dir, `t${i}.nii.gz`), vol(p.image));
      await writeNifti(path.join(work.dir, `t${i}_mask.nii.gz`), vol(p.mask));
      await measureFiles(path.join(work.dir, `t${i}.nii.gz`), path.join(work.dir, `t${i}_mask.nii.gz`), path.join(work.dir, `r${i}`), {});
      dirs.push(path.join(work.dir, `r${i}`));
    }
    const { timepoints, warnings } = await resolveTimePoints(dirs, { workDir: path.join(work.dir, 'work'), dates: ['2023-01-01', '2023-04-01', '2023-07-01'] });
    change = await compareMedical(timepoints, { register: 'none', outDir: path.join(work.dir, 'out'), warnings });
  }, 120_000);
  afterAll(() => work.cleanup());

  it('keeps the lesion in track 1 on all three dates and reports one registration per later date', () => {
    expect(change.registration.map((r) => [r.from, r.to, r.method])).toEqual([
      [1, 0, 'none'],
      [2, 0, 'none'],
    ]);
    expect(change.lesions[0]!.track).toBe(1);
    // Instance ids are per date (raster order): the new lesion comes first on date 2, the tracked one second.
    expect(change.lesions[0]!.instances).toEqual([1, 1, 2]);
    expect(change.lesions.map((l) => l.status)).toEqual(['matched', 'new']);
    expect(change.lesions[1]!.instances[0]).toBeNull();
    expect(readFileSync(path.join(work.dir, 'out', 'change.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 2 * 3);
  });

  it('measures date 2 against the nadir at date 1, and categorises every follow-up date', () => {
    const v = change.totals.volumeMl;
    expect(v).toHaveLength(3);
    expect(v[1]).toBeLessThan(v[0]!);
    expect(change.totals.nadirIndex).toBe(1);
    // Date 1: about -64% (just short of PR's -65%): SD; date 2: a new lesion: PD.
    expect(change.response.byTimepoint.map((b) => b.volumetric)).toEqual([(v[1]! / v[0]! - 1) * 100 <= -65 ? 'PR' : 'SD', 'PD']);
    expect(change.response.volumetric).toBe('PD');
  });
});
