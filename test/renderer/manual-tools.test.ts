// Pure renderer pieces of the shape tools and manual measuring: lengths in mm (spacing), m (projected CRS: along
// the geotransform, rotation included) and approximate great-circle m (geographic CRS); the bidirectional short
// axis; lasso/polygon path tidying and which object a split line crosses.
import { describe, expect, it } from 'vitest';
import type { ImageInfo, ResultSlice } from '../../preload/api';
import { lengthScale, manualCsv, measurementLengths, shortAxisFor } from '../../renderer/measurements/manual';
import { instanceUnderLine, isFillable, tidyPath } from '../../renderer/tools/polygon';

const base = { file: 'x', format: 'x', kind: 'image', width: 100, height: 100, depth: 1, channels: 1, dtype: 'uint8' } as unknown as ImageInfo;

describe('manual measurement lengths', () => {
  it('uses the pixel spacing for medical images (anisotropic too)', () => {
    const s = lengthScale({ ...base, spacingMm: [0.5, 2, 3] } as ImageInfo);
    expect(s.unit).toBe('mm');
    expect(s.length([0, 0], [3, 4])).toBeCloseTo(Math.hypot(1.5, 8));
    expect(s.approximate).toBeNull();
  });

  it('measures along the geotransform for a projected CRS, rotated grids included', () => {
    const s = lengthScale({ ...base, geotransform: [500000, 10, 0, 5200000, 0, -10], crs: 'EPSG:32633' } as ImageInfo);
    expect(s.unit).toBe('m');
    expect(s.length([0, 0], [3, 4])).toBeCloseTo(50);
    // A grid rotated 30°: pixel steps are still 10 m long.
    const c = Math.cos(Math.PI / 6) * 10;
    const n = Math.sin(Math.PI / 6) * 10;
    const r = lengthScale({ ...base, geotransform: [0, c, -n, 0, n, c], crs: 'EPSG:32633' } as ImageInfo);
    expect(r.length([0, 0], [6, 8])).toBeCloseTo(100);
  });

  it('gives great-circle metres for a geographic CRS and says it is approximate', () => {
    // 0.01° pixels at the equator: 100 px east is 1° of longitude, about 111.2 km.
    const s = lengthScale({ ...base, geotransform: [10, 0.01, 0, 0.5, 0, -0.01], crs: 'EPSG:4326' } as ImageInfo);
    expect(s.unit).toBe('m');
    expect(s.length([0, 50], [100, 50]) / 111195).toBeCloseTo(1, 3);
    expect(s.approximate).toMatch(/approximate|sphere/);
  });

  it('falls back to pixels', () => {
    const s = lengthScale(base);
    expect(s.unit).toBe('px');
    expect(s.length([1, 1], [4, 5])).toBe(5);
  });

  it('draws the short axis perpendicular to the long one, through the nearest point', () => {
    const [c, d] = shortAxisFor([0, 0], [10, 0], [4, 3]);
    expect(c[0]).toBeCloseTo(4);
    expect(d[0]).toBeCloseTo(4);
    expect(Math.abs(c[1] - d[1])).toBeCloseTo(6);
    const scale = lengthScale({ ...base, spacingMm: [0.5, 0.5, 1] } as ImageInfo);
    const m = { id: 1, handle: 'h', z: 0, kind: 'bidirectional' as const, points: [[0, 0], [10, 0], c, d] as Array<[number, number]> };
    expect(measurementLengths(m, scale)).toEqual({ long: 5, short: expect.closeTo(3, 6) as unknown as number });
    // The slice column is counted from 1, as the table shows it (z 0 is slice 1).
    expect(manualCsv([m], scale).split('\n')[1]).toBe('1,bidirectional,1,5,3,0,0,10,0');
  });
});

describe('shape tool paths', () => {
  it('drops repeated points (a double-click) and needs an area to fill', () => {
    expect(tidyPath([[0, 0], [5, 0], [5, 0.1], [5, 5]], 0.25)).toEqual([[0, 0], [5, 0], [5, 5]]);
    expect(isFillable([[0, 0], [5, 0], [5, 5]])).toBe(true);
    expect(isFillable([[0, 0], [5, 0], [10, 0]])).toBe(false);
    expect(tidyPath(Array.from({ length: 20000 }, (_, i) => [i, 0] as [number, number]), 0.25).length).toBeLessThanOrEqual(8192);
  });

  it('finds the object a line crosses most on a downsampled preview', () => {
    const instances = new Uint32Array(10 * 10);
    for (let y = 2; y < 8; y++) for (let x = 2; x < 8; x++) instances[y * 10 + x] = 7;
    instances[0] = 3;
    const slice = { resultId: 'r', z: 0, revision: 0, width: 10, height: 10, scaleX: 2, scaleY: 2, instances } as ResultSlice;
    expect(instanceUnderLine(slice, [[0, 10], [20, 10]])).toBe(7);
    expect(instanceUnderLine(slice, [[0, 19], [20, 19]])).toBe(0);
  });
});
