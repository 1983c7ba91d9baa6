// Connected components and basic measurements on hand-made label maps: exact counts, bboxes, centroids,
// 2D 4 vs 8 and 3D 6/18/26 connectivity, size filtering, and mL volumes with anisotropic spacing.
import { describe, expect, it } from 'vitest';
import { backwardNeighbours, connectedComponents, type Connectivity } from '../../main/engine/postprocess/components';
import { probabilitiesToLabels } from '../../main/engine/postprocess/labels';
import { countLabels, measureInstances, pixelUnit } from '../../main/engine/measure/basic';
import type { Geometry } from '../../preload/formats';

/** Rows of characters -> labels: '.' = 0, digits = class, '#' = nodata (255). */
function grid(rows: string[]): { labels: Uint8Array; width: number; height: number } {
  const width = rows[0]!.length;
  const labels = new Uint8Array(width * rows.length);
  rows.forEach((r, y) => [...r].forEach((ch, x) => (labels[y * width + x] = ch === '.' ? 0 : ch === '#' ? 255 : Number(ch))));
  return { labels, width, height: rows.length };
}

function cc2d(rows: string[], connectivity: Connectivity, minPixels?: number) {
  const g = grid(rows);
  return { ...g, ...connectedComponents({ labels: g.labels, width: g.width, height: g.height, depth: 1, nodataLabel: 255, connectivity, ...(minPixels ? { minPixels } : {}) }) };
}

const MAP = [
  '11..2..', //
  '11...2.',
  '..1..2.',
  '.....#.',
  '1.22...',
];

describe('connectedComponents 2D', () => {
  it('4-connectivity splits diagonal touches', () => {
    const r = cc2d(MAP, 4);
    // 1: block at (0..1,0..1); 1 at (2,2); 2 at (4,0); 2 at (5,1..2); 1 at (0,4); 2 at (2..3,4)
    expect(r.stats.map((s) => [s.id, s.classId, s.pixelCount])).toEqual([
      [1, 1, 4],
      [2, 2, 1],
      [3, 2, 2],
      [4, 1, 1],
      [5, 1, 1],
      [6, 2, 2],
    ]);
    expect(r.stats[0]!.min).toEqual([0, 0, 0]);
    expect(r.stats[0]!.max).toEqual([1, 1, 0]);
    expect(r.stats[2]!.sum).toEqual([10, 3, 0]);
    expect(Array.from(r.instances.subarray(0, 7))).toEqual([1, 1, 0, 0, 2, 0, 0]);
  });

  it('8-connectivity joins diagonals of the same class only', () => {
    const r = cc2d(MAP, 8);
    expect(r.stats.map((s) => [s.classId, s.pixelCount])).toEqual([
      [1, 5],
      [2, 3],
      [1, 1],
      [2, 2],
    ]);
    expect(r.stats[0]!.max).toEqual([2, 2, 0]);
    expect(r.stats[1]!.min).toEqual([4, 0, 0]);
    expect(r.stats[1]!.max).toEqual([5, 2, 0]);
    // centroid of (4,0),(5,1),(5,2)
    expect(r.stats[1]!.sum.map((v) => v / 3)).toEqual([14 / 3, 1, 0]);
  });

  it('drops objects below minPixels, renumbers, and clears their labels', () => {
    const r = cc2d(MAP, 8, 2);
    expect(r.stats.map((s) => [s.id, s.pixelCount])).toEqual([
      [1, 5],
      [2, 3],
      [3, 2],
    ]);
    expect(r.labels[4 * 7 + 0]).toBe(0);
    expect(r.instances[4 * 7 + 2]).toBe(3);
  });

  it('handles a U shape that merges late (union-find)', () => {
    const r = cc2d(['1.1.1', '1.1.1', '11111'], 4);
    expect(r.stats).toHaveLength(1);
    expect(r.stats[0]!.pixelCount).toBe(11);
  });
});

describe('connectedComponents 3D', () => {
  // 3x3x3: voxel (0,0,0), (1,1,1) diagonal in 3D; (1,0,1) edge neighbour of (0,0,0)? no: dx=1,dz=1 -> 18-connected.
  const W = 3;
  const labels = new Uint8Array(27);
  const at = (x: number, y: number, z: number): number => z * 9 + y * W + x;
  labels[at(0, 0, 0)] = 1;
  labels[at(1, 1, 1)] = 1; // corner-touching (0,0,0): 26 only
  labels[at(2, 1, 1)] = 1; // face of (1,1,1)
  labels[at(2, 2, 2)] = 1; // edge of (2,1,1): dy=1,dz=1 -> 18
  labels[at(0, 2, 0)] = 1; // isolated at 18 and 26? (1,1,1) is dx=1,dy=-1,dz=1 -> corner -> 26 only
  const run = (c: Connectivity) => connectedComponents({ labels: labels.slice(), width: 3, height: 3, depth: 3, nodataLabel: 255, connectivity: c });

  it('6 / 18 / 26 give 4 / 3 / 1 objects', () => {
    expect(run(6).stats.map((s) => s.pixelCount)).toEqual([1, 1, 2, 1]);
    expect(run(18).stats.map((s) => s.pixelCount)).toEqual([1, 1, 3]);
    const r26 = run(26);
    expect(r26.stats.map((s) => s.pixelCount)).toEqual([5]);
    expect(r26.stats[0]!.min).toEqual([0, 0, 0]);
    expect(r26.stats[0]!.max).toEqual([2, 2, 2]);
    expect(r26.stats[0]!.sum).toEqual([0 + 1 + 2 + 2 + 0, 0 + 1 + 1 + 2 + 2, 0 + 1 + 1 + 2 + 0]);
  });

  it('4/8 on a volume label each slice on its own', () => {
    expect(run(8).stats).toHaveLength(4); // slice 0: two singles; slice 1: one pair; slice 2: one
    expect(backwardNeighbours(8, true).every(([, , dz]) => dz === 0)).toBe(true);
    expect(backwardNeighbours(26, true)).toHaveLength(13);
    expect(backwardNeighbours(18, true)).toHaveLength(9);
    expect(backwardNeighbours(6, true)).toHaveLength(3);
  });
});

describe('measurements', () => {
  it('volumes in mL equal count x voxel volume / 1000 with anisotropic spacing', () => {
    const spacing: [number, number, number] = [0.7, 0.9, 3.3];
    const W = 10;
    const H = 8;
    const D = 5;
    const labels = new Uint8Array(W * H * D);
    let count = 0;
    for (let z = 1; z < 4; z++) for (let y = 2; y < 7; y++) for (let x = 3; x < 9; x++) if ((x + y + z) % 7 !== 0) {
      labels[z * W * H + y * W + x] = 1;
      count++;
    }
    labels[0] = 2; // a second class, one voxel
    const cc = connectedComponents({ labels, width: W, height: H, depth: D, nodataLabel: 255, connectivity: 26 });
    const geometry: Geometry = { type: 'medical', spacingMm: spacing, originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
    const counts = countLabels(labels, 2, 255);
    const m = measureInstances(cc.stats, {
      geometry,
      depth: D,
      classes: [{ name: 'tumor', color: '#ff0000' }, { name: 'edema', color: '#00ff00' }],
      validPixelCount: counts.valid,
      classPixelCounts: counts.perClass,
      hasProbability: false,
      hasIntensity: false,
    });
    const tumor = m.instances.find((i) => i.classId === 1)!;
    expect(tumor.pixelCount).toBe(count);
    const voxelMm3 = 0.7 * 0.9 * 3.3;
    expect(tumor.volumeMm3).toBe(count * voxelMm3);
    expect(tumor.volumeMl).toBe((count * voxelMm3) / 1000);
    expect(m.classes[0]).toMatchObject({ id: 1, name: 'tumor', instanceCount: 1, pixelCount: count, volumeMl: (count * voxelMm3) / 1000, fraction: count / (W * H * D) });
    expect(m.classes[1]).toMatchObject({ instanceCount: 1, pixelCount: 1 });
    expect(tumor.bbox).toEqual({ min: [3, 2, 1], max: [8, 6, 3] });
  });

  it('2D areas: mm2 with spacing, m2/ha from a projected geotransform, px otherwise; fraction excludes nodata', () => {
    const g = grid(['11#', '1.#']);
    const cc = connectedComponents({ labels: g.labels, width: 3, height: 2, depth: 1, nodataLabel: 255, connectivity: 8 });
    const counts = countLabels(g.labels, 1, 255);
    const base = { depth: 1, classes: [{ name: 'a', color: '#000000' }], validPixelCount: counts.valid, classPixelCounts: counts.perClass, hasProbability: false, hasIntensity: false };
    const mm = measureInstances(cc.stats, { ...base, geometry: { type: 'pixel', spacingMm: [0.5, 0.25, 1] } });
    expect(mm.instances[0]!.areaMm2).toBe(3 * 0.125);
    expect(mm.classes[0]!.fraction).toBe(3 / 4);
    const geo = measureInstances(cc.stats, { ...base, geometry: { type: 'geo', geotransform: [500000, 10, 0, 4000000, 0, -10], crs: 'EPSG:32633' } });
    expect(geo.instances[0]).toMatchObject({ areaM2: 300, areaHa: 0.03 });
    const deg = measureInstances(cc.stats, { ...base, geometry: { type: 'geo', geotransform: [10, 0.001, 0, 50, 0, -0.001], crs: 'EPSG:4326' } });
    expect(deg.instances[0]).toMatchObject({ areaPx: 3 });
    expect(deg.instances[0]!.areaM2).toBeUndefined();
    expect(pixelUnit({ type: 'pixel' })).toEqual({ kind: 'px' });
  });
});

describe('probabilitiesToLabels', () => {
  it('softmax argmax with background, sigmoid threshold, nodata mask', () => {
    // 3 pixels, channels: bg, a, b
    const probs = Float32Array.from([0.6, 0.2, 0.1, /* a */ 0.3, 0.7, 0.2, /* b */ 0.1, 0.1, 0.7]);
    const r = probabilitiesToLabels(probs, 3, 3, { type: 'softmax', backgroundChannel: true }, 2, Uint8Array.from([1, 1, 0]));
    expect(Array.from(r.labels)).toEqual([0, 1, 255]);
    expect(r.probability[1]).toBeCloseTo(0.7);
    const s = probabilitiesToLabels(Float32Array.from([0.2, 0.5, 0.9]), 1, 3, { type: 'sigmoid', threshold: 0.5 }, 1);
    expect(Array.from(s.labels)).toEqual([0, 1, 1]);
  });

  it('keeps the background channel when classChannels are listed explicitly', () => {
    // channels: bg, a, b; classes listed as [b, a] so the class order differs from the channel order.
    const probs = Float32Array.from([0.6, 0.2, 0.1, /* a */ 0.3, 0.7, 0.2, /* b */ 0.1, 0.1, 0.7]);
    const withBg = probabilitiesToLabels(probs, 3, 3, { type: 'softmax', backgroundChannel: true, classChannels: [2, 1] }, 2);
    expect(Array.from(withBg.labels)).toEqual([0, 2, 1]);
    expect(withBg.probability[0]).toBeCloseTo(0.6);
    // Without a background channel, the same first pixel goes to its best class.
    const noBg = probabilitiesToLabels(probs, 3, 3, { type: 'softmax', backgroundChannel: false, classChannels: [0, 1] }, 2);
    expect(Array.from(noBg.labels)).toEqual([1, 2, 2]);
  });
});
