// The Compare view's pure parts: its operations (swipe, flicker, date pickers, cursor, slices), the grid-pixel and
// world-position arithmetic the linked cursor rests on, the table and chart helpers, the offer's tests, and the track
// swatches taken from the colours the engine sends.
import { describe, expect, it } from 'vitest';
import type { CompareResult, CompareSlice, ImageInfo, LandCoverClassChange } from '../../preload/api';
import * as m from '../../renderer/compare/model';
import { apply4, voxelToLps } from '../../main/engine/compare/medical/affine';

const result = (n: number, depth = 24): CompareResult =>
  ({
    compareId: 'c_1',
    kind: 'medical',
    grid: { width: 256, height: 200, depth, spacingMm: [0.9, 0.8, 5], originMm: [-120, 100, 30], direction: [0.98, 0.17, 0, -0.17, 0.98, 0, 0, 0, 1] },
    timepoints: Array.from({ length: n }, (_, i) => ({ name: `t${i}.nii.gz`, date: `2024-0${i + 1}-01`, input: i })),
    trackSlices: [{ track: 1, z: 7, rgb: [230, 25, 75] }, { track: 4, z: 9, rgb: [0, 130, 200] }],
    change: {} as CompareResult['change'],
  }) as CompareResult;

const slice = (t: number, z: number): CompareSlice => ({ compareId: 'c_1', timepoint: t, z, width: 2, height: 2, scale: 1, rgba: new Uint8Array(16), overlay: new Uint8Array(16), window: null });

describe('compare operations', () => {
  it('opens on the baseline (left) and the latest date (right), at the slice where the first track is largest', () => {
    const s = m.received(result(3))({ ...m.initialCompare, phase: 'running', jobId: 'j' });
    expect([s.phase, s.left, s.right, s.z, s.jobId]).toEqual(['shown', 0, 2, 7, null]);
  });

  it('swipe stays within 0..1; flicker alternates the two dates shown', () => {
    let s = m.received(result(3))(m.initialCompare);
    expect(m.swipeMoved(1.7)(s).swipe).toBe(1);
    expect(m.swipeMoved(-0.2)(s).swipe).toBe(0);
    s = m.modeChanged('flicker')(s);
    expect(m.flickerDate(s)).toBe(0);
    s = m.flickered()(s);
    expect(m.flickerDate(s)).toBe(2);
    s = m.flickered()(s);
    expect(m.flickerDate(s)).toBe(0);
    expect(m.flickerToggled()(s).flickerRunning).toBe(!s.flickerRunning);
  });

  it('the right date never equals the left one and stays among the dates', () => {
    const s = m.received(result(3))(m.initialCompare);
    expect(m.rightPicked(1)(s).right).toBe(1);
    expect(m.rightPicked(0)(s)).toBe(s);
    expect(m.rightPicked(3)(s)).toBe(s);
    expect(m.leftPicked(2)(s)).toBe(s);
  });

  it('a slice change clamps to the grid and drops the slices of the old z; stale slices are ignored', () => {
    let s = m.received(result(2))(m.initialCompare);
    s = m.sliceLoaded(slice(0, 7))(s);
    expect(Object.keys(s.slices)).toEqual(['0']);
    expect(m.sliceLoaded(slice(1, 3))(s)).toBe(s);
    s = m.sliceChanged(99)(s);
    expect([s.z, Object.keys(s.slices).length]).toEqual([23, 0]);
    expect(m.sliceChanged(-4)(s).z).toBe(0);
  });

  it('the cursor is one grid pixel for every view, or none outside the grid', () => {
    const s = m.received(result(2))(m.initialCompare);
    expect(m.cursorMoved({ x: 10, y: 20 })(s).cursor).toEqual({ x: 10, y: 20 });
    expect(m.cursorMoved({ x: 256, y: 20 })(s).cursor).toBeNull();
    expect(m.gridPixelAt({ width: 256, height: 200 }, 511.9, 0, 512, 400)).toEqual({ x: 255, y: 0 });
    expect(m.gridPixelAt({ width: 256, height: 200 }, 100, 399.9, 512, 400)).toEqual({ x: 50, y: 199 });
    expect(m.gridPixelAt({ width: 256, height: 200 }, 512, 10, 512, 400)).toBeNull();
  });
});

describe('world position', () => {
  it('is the engine voxel-to-LPS mapping of the grid (medical)', () => {
    const grid = result(2).grid;
    const want = apply4(voxelToLps({ type: 'medical', spacingMm: grid.spacingMm!, originMm: grid.originMm!, direction: grid.direction! }), [17, 33, 5]);
    const got = m.worldPosition(grid, 17, 33, 5);
    expect(got && 'lpsMm' in got ? got.lpsMm.map((v, i) => v - want[i]!) : null).toEqual([expect.closeTo(0, 9), expect.closeTo(0, 9), expect.closeTo(0, 9)]);
    expect(m.describePosition(grid, 17, 33, 5)).toBe(`pixel 17, 33, slice 6 · LPS ${want.map((v) => v.toFixed(1)).join(', ')} mm`);
  });

  it('is the pixel centre through the geotransform, in the grid CRS (geo)', () => {
    const grid = { width: 10, height: 10, depth: 1, geotransform: [500000, 10, 0, 4000000, 0, -10] as [number, number, number, number, number, number], crs: 'EPSG:32652' };
    expect(m.worldPosition(grid, 2, 3, 0)).toEqual({ mapXY: [500025, 3999965], crs: 'EPSG:32652' });
    expect(m.describePosition(grid, 2, 3, 0)).toBe('pixel 2, 3 · map 500025.0, 3999965.0 (EPSG:32652)');
  });
});

describe('tables and chart', () => {
  it('formats volumes, lengths, percentages and hectares', () => {
    expect([m.formatMl(8.246), m.formatMl(10.009), m.formatMl(null), m.formatMm(48.86), m.formatPct(21.38), m.formatPct(-5), m.formatPct(null)]).toEqual(['8.25', '10.0', '—', '48.9', '+21.4%', '-5.0%', '—']);
    expect([m.formatHa(108.2), m.formatHa(2.345), m.formatHa(0.01234)]).toEqual(['108', '2.35', '0.0123']);
  });

  it('lists changed transitions only, largest first', () => {
    const t = (from: number, to: number, areaHa: number) => ({ from, to, fromName: `c${from}`, toName: `c${to}`, pixels: 1, areaHa });
    expect(m.changedTransitions([t(1, 1, 50), t(4, 3, 10), t(3, 4, 30), t(2, 1, 10)]).map((x) => `${x.from}>${x.to}`)).toEqual(['3>4', '2>1', '4>3']);
  });

  it('draws net change bars on one scale around zero', () => {
    const c = (id: number, netHa: number): LandCoverClassChange => ({ id, name: `c${id}`, color: '#000', fromHa: 10, toHa: 10 + netHa, gainHa: 0, lossHa: 0, netHa, grossHa: 0, swapHa: 0 });
    const { zero, bars } = m.netBars([c(3, 30), c(4, -10), { ...c(5, 0), fromHa: 0, toHa: 0 }], 200);
    expect(zero).toBe(50);
    expect(bars.map((b) => [b.id, b.x, b.width])).toEqual([
      [3, 50, 150],
      [4, 0, 50],
    ]);
  });

  it('ticks and unticks targets; a new document replaces the medical one only', () => {
    expect(m.toggledTargets([1, 3], 3)).toEqual([1]);
    expect(m.toggledTargets([1], 4)).toEqual([1, 4]);
    const s = m.received(result(2))({ ...m.initialCompare, error: 'x' });
    const change = { kind: 'medical' } as CompareResult['change'] & { kind: 'medical' };
    const next = m.targetsChanged(change)({ ...s, result: { ...s.result!, change: { kind: 'medical' } as CompareResult['change'] } });
    expect(next.result!.change).toBe(change);
    expect(next.error).toBeNull();
    expect(m.targetsChanged(change)({ ...s, result: { ...s.result!, change: { kind: 'geo' } as CompareResult['change'] } }).result!.change.kind).toBe('geo');
  });

  it('fills the date fields with what the comparison found, per input in the order they were opened', () => {
    const r = { ...result(2), timepoints: [{ name: 'b', date: '2024-02-01', input: 1 }, { name: 'a', date: null, input: 0 }] };
    const inputs = [0, 1].map((i) => ({ handle: `h${i}`, name: `n${i}`, resultId: null, owned: false }));
    expect(m.knownDates({ inputs, result: r })).toEqual(['', '2024-02-01']);
  });

  it('colours a track with the colour the engine sent for it, grey when it sent none', () => {
    const r = result(2);
    expect(m.trackRgb(r, 4)).toEqual([0, 130, 200]);
    expect(m.trackRgb(r, 1)).toEqual([230, 25, 75]);
    expect(m.trackRgb(r, 2)).toEqual([128, 128, 128]);
  });
});

describe('the offer', () => {
  const geo = (x0: number, crs = 'EPSG:32652'): ImageInfo => ({ file: 'x', format: 'geotiff', kind: 'geo', width: 100, height: 100, depth: 1, channels: 3, dtype: 'uint8', geotransform: [x0, 10, 0, 4000000, 0, -10], crs });
  it('offers maps whose bounds overlap in one CRS', () => {
    expect(m.mapsOverlap(geo(500000), geo(500900))).toBe(true);
    expect(m.mapsOverlap(geo(500000), geo(501000))).toBe(false);
    expect(m.mapsOverlap(geo(500000), geo(500900, 'EPSG:32651'))).toBe(false);
  });

  it('offers another study of the same patient, never another patient', () => {
    const info = { kind: 'medical' } as ImageInfo;
    expect(m.samePatientOtherStudy({ patientId: 'P1', studyDate: '2024-01-01' }, { patientId: 'P1', studyDate: '2024-06-01' }, info, info)).toBe(true);
    expect(m.samePatientOtherStudy({ patientId: 'P1', studyDate: '2024-01-01' }, { patientId: 'P1', studyDate: '2024-01-01' }, info, info)).toBe(false);
    expect(m.samePatientOtherStudy({ patientId: 'P1', studyDate: '2024-01-01' }, { patientId: 'P2', studyDate: '2024-06-01' }, info, info)).toBe(false);
    expect(m.samePatientOtherStudy({}, {}, info, info)).toBe(false);
  });
});
