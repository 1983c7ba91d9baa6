// Measurements against independent references on label maps generated here, with anisotropic spacing:
// counts, bbox, centroid, area and volume exactly; perimeter against scikit-image find_contours (skipped without
// it); Feret and RECIST axes against brute force over boundary pixels / outline points; voxel-face surface area;
// and `--labels-are instances` keeping touching instances apart.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectedComponents, instancesFromValues } from '../../main/engine/postprocess/components';
import { traceRings, type Ring } from '../../main/engine/postprocess/contours';
import { countLabels, measureInstances } from '../../main/engine/measure/index';
import { measureFiles } from '../../main/engine/pipeline';
import type { Geometry, InstanceRecord } from '../../preload/formats';
import { commandWorks, tempDir, writeTestPng } from './helpers';

const PY = '/usr/bin/python3';
const hasSkimage = commandWorks(PY, ['-c', 'import skimage.measure, numpy']);

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random blobs (unions of rotated ellipses, some with holes) of classes 1..2 on a W x H x D grid. */
function blobs(W: number, H: number, D: number, count: number, seed: number): Uint8Array {
  const r = rng(seed);
  const labels = new Uint8Array(W * H * D);
  for (let k = 0; k < count; k++) {
    const cls = 1 + Math.floor(r() * 2);
    const cx = r() * W;
    const cy = r() * H;
    const cz = r() * D;
    const a = 1.5 + r() * 5;
    const b = 1 + r() * 3;
    const c = 0.8 + r() * 2;
    const th = r() * Math.PI;
    const hole = r() < 0.3;
    for (let z = 0; z < D; z++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const dx = x - cx;
          const dy = y - cy;
          const u = (dx * Math.cos(th) + dy * Math.sin(th)) / a;
          const v = (-dx * Math.sin(th) + dy * Math.cos(th)) / b;
          const w = D > 1 ? (z - cz) / c : 0;
          const d2 = u * u + v * v + w * w;
          if (d2 <= 1 && !(hole && d2 < 0.12)) labels[(z * H + y) * W + x] = cls;
        }
      }
    }
  }
  // Salt: isolated pixels and diagonal touches exercise saddles and one-pixel objects.
  for (let i = 0; i < (W * H * D) / 40; i++) labels[Math.floor(r() * W * H * D)] = 1 + Math.floor(r() * 2);
  return labels;
}

interface Measured {
  instances: InstanceRecord[];
  map: Uint32Array;
}

function measure(labels: Uint8Array, W: number, H: number, D: number, geometry: Geometry, connectivity: 4 | 8 | 6 | 26): Measured {
  const cc = connectedComponents({ labels, width: W, height: H, depth: D, nodataLabel: 255, connectivity });
  const counts = countLabels(labels, 2, 255);
  const classes = [
    { name: 'a', color: '#ff0000' },
    { name: 'b', color: '#00ff00' },
  ];
  const m = measureInstances(cc.stats, {
    geometry,
    depth: D,
    classes,
    validPixelCount: counts.valid,
    classPixelCounts: counts.perClass,
    hasProbability: false,
    hasIntensity: false,
    instanceMap: cc.instances,
    width: W,
    height: H,
    connectivity,
  });
  return { instances: m.instances, map: cc.instances };
}

/** Pixels of each instance id, by an independent scan. */
function pixelsById(map: Uint32Array, W: number, H: number): Map<number, Array<[number, number, number]>> {
  const out = new Map<number, Array<[number, number, number]>>();
  for (let i = 0; i < map.length; i++) {
    const id = map[i]!;
    if (!id) continue;
    const list = out.get(id) ?? [];
    list.push([i % W, Math.floor(i / W) % H, Math.floor(i / (W * H))]);
    out.set(id, list);
  }
  return out;
}

/** Pixels of the instance with a 4- (2D) or 6- (3D) neighbour outside it (image border counts as outside). */
function boundaryPixels(px: Array<[number, number, number]>, is3D: boolean): Array<[number, number, number]> {
  const set = new Set(px.map(([x, y, z]) => `${x},${y},${z}`));
  const nb = is3D ? [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]] : [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]];
  return px.filter(([x, y, z]) => nb.some(([dx, dy, dz]) => !set.has(`${x + dx!},${y + dy!},${z + dz!}`)));
}

function bruteFeret(px: Array<[number, number, number]>, s: [number, number, number]): number {
  let best = 0;
  for (let i = 0; i < px.length; i++) {
    for (let j = i + 1; j < px.length; j++) {
      const d = Math.hypot((px[i]![0] - px[j]![0]) * s[0], (px[i]![1] - px[j]![1]) * s[1], (px[i]![2] - px[j]![2]) * s[2]);
      if (d > best) best = d;
    }
  }
  return best;
}

/** Outline points found independently: midpoints between each foreground pixel and a 4-neighbour background pixel. */
function edgeMidpoints(set: Set<string>, xy: Array<[number, number]>): Array<[number, number]> {
  const pts = new Map<string, [number, number]>();
  for (const [x, y] of xy) {
    for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
      if (!set.has(`${x + dx},${y + dy}`)) pts.set(`${x + dx / 2},${y + dy / 2}`, [x + dx / 2, y + dy / 2]);
    }
  }
  return [...pts.values()];
}

/** Even-odd point in polygon over all rings. */
function inPolygon(rings: Ring[], px: number, py: number): boolean {
  let inside = false;
  for (const r of rings) {
    const p = r.points;
    const n = p.length / 2;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = p[2 * i]!;
      const yi = p[2 * i + 1]!;
      const xj = p[2 * j]!;
      const yj = p[2 * j + 1]!;
      // Points on an edge count as inside.
      const cross = (xj - xi) * (py - yi) - (yj - yi) * (px - xi);
      if (Math.abs(cross) < 1e-9 && px >= Math.min(xi, xj) - 1e-9 && px <= Math.max(xi, xj) + 1e-9 && py >= Math.min(yi, yj) - 1e-9 && py <= Math.max(yi, yj) + 1e-9) return true;
      if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/** Segment inside the outline polygon: sampled densely with the exact polygon test (independent of the mask test). */
function segInPolygon(rings: Ring[], a: [number, number], b: [number, number]): boolean {
  const steps = Math.max(4, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) * 8));
  for (let k = 1; k < steps; k++) {
    const t = k / steps;
    if (!inPolygon(rings, a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)) return false;
  }
  return true;
}

/** Brute-force long axis, and the short axis relative to a given long-axis direction (unit vector, physical). */
function bruteAxes(pts: Array<[number, number]>, rings: Ring[], sx: number, sy: number, dir?: [number, number]): { long: number; short: number } {
  let long = 0;
  let short = 0;
  const sin2 = Math.sin((2 * Math.PI) / 180);
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      const dx = (pts[j]![0] - pts[i]![0]) * sx;
      const dy = (pts[j]![1] - pts[i]![1]) * sy;
      const d = Math.hypot(dx, dy);
      const perp = dir !== undefined && Math.abs(dx * dir[0] + dy * dir[1]) <= sin2 * d;
      if (d <= long && (!perp || d <= short)) continue;
      if (!segInPolygon(rings, pts[i]!, pts[j]!)) continue;
      if (d > long) long = d;
      if (perp && d > short) short = d;
    }
  }
  return { long, short };
}

const num = (v: unknown): number => {
  if (typeof v !== 'number') throw new Error(`expected a number, got ${JSON.stringify(v)}`);
  return v;
};

describe('measurements 2D, anisotropic spacing', () => {
  const W = 40;
  const H = 32;
  const sx = 0.75;
  const sy = 1.25;
  const geometry: Geometry = { type: 'medical', spacingMm: [sx, sy, 2.5], originMm: [10, -20, 5], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const labels = blobs(W, H, 1, 9, 7);
  const m = measure(labels, W, H, 1, geometry, 8);
  const byId = pixelsById(m.map, W, H);

  it('counts, bbox, centroid, area and centroidMm equal an independent reference', () => {
    expect(m.instances.length).toBeGreaterThan(10);
    for (const rec of m.instances) {
      const px = byId.get(rec.id)!;
      expect(rec.pixelCount).toBe(px.length);
      expect(rec.bbox).toEqual({ min: [Math.min(...px.map((p) => p[0])), Math.min(...px.map((p) => p[1]))], max: [Math.max(...px.map((p) => p[0])), Math.max(...px.map((p) => p[1]))] });
      const cx = px.reduce((s, p) => s + p[0], 0) / px.length;
      const cy = px.reduce((s, p) => s + p[1], 0) / px.length;
      expect(rec.centroidPx).toEqual([cx, cy]);
      // Binary-exact spacings: the sum of pixel areas equals count x pixel area exactly.
      expect(rec.areaMm2).toBe(px.reduce((s) => s + sx * sy, 0));
      const c = rec.centroidMm as number[];
      expect(c[0]).toBeCloseTo(10 + cx * sx, 5);
      expect(c[1]).toBeCloseTo(-20 + cy * sy, 5);
      expect(c[2]).toBeCloseTo(5, 9);
    }
  });

  it('maxFeretMm equals brute force over boundary pixel centres', () => {
    for (const rec of m.instances) {
      const ref = bruteFeret(boundaryPixels(byId.get(rec.id)!, false), [sx, sy, 1]);
      expect(num(rec.maxFeretMm)).toBeCloseTo(ref, 5);
    }
  });

  it('long and short axes equal brute force over outline points within one pixel', () => {
    let checked = 0;
    for (const rec of m.instances) {
      const px = byId.get(rec.id)!;
      const xy = px.map((p): [number, number] => [p[0], p[1]]);
      const set = new Set(xy.map(([x, y]) => `${x},${y}`));
      // Rings from a full-size mask so coordinates are global; the polygon is only the brute force's inside test.
      const mask = new Uint8Array(W * H);
      for (const [x, y] of xy) mask[y * W + x] = 1;
      const rings = traceRings(mask, W, H, true);
      const pts = edgeMidpoints(set, xy);
      const long = num(rec.longAxisMm);
      const ends = rec.longAxisEndsPx as number[][];
      const dx = (ends[1]![0]! - ends[0]![0]!) * sx;
      const dy = (ends[1]![1]! - ends[0]![1]!) * sy;
      const ref = bruteAxes(pts, rings, sx, sy, [dx / Math.hypot(dx, dy), dy / Math.hypot(dx, dy)]);
      expect(Math.abs(long - ref.long)).toBeLessThanOrEqual(Math.max(sx, sy));
      expect(Math.abs(num(rec.shortAxisMm ?? 0) - ref.short)).toBeLessThanOrEqual(Math.max(sx, sy));
      expect(num(rec.shortAxisMm ?? 0)).toBeLessThanOrEqual(long + 1e-9);
      checked++;
    }
    expect(checked).toBe(m.instances.length);
  });

  it.skipIf(!hasSkimage)(`perimeterMm equals scikit-image find_contours length (scaled by spacing) within 1%${hasSkimage ? '' : ' (skipped: python3-skimage missing)'}`, () => {
    const t = tempDir('delineate-measure-');
    try {
      const file = path.join(t.dir, 'masks.json');
      const masks = m.instances.map((rec) => {
        const rows: number[][] = Array.from({ length: H }, () => new Array<number>(W).fill(0));
        for (const [x, y] of byId.get(rec.id)!) rows[y]![x] = 1;
        return rows;
      });
      writeFileSync(file, JSON.stringify(masks));
      const script = [
        'import json, sys, numpy as np',
        'from skimage import measure',
        `sx, sy = ${sx}, ${sy}`,
        'out = []',
        'for m in json.load(open(sys.argv[1])):',
        '    p = np.pad(np.array(m, dtype=float), 1)',
        '    total = 0.0',
        '    for c in measure.find_contours(p, 0.5):',
        '        d = np.diff(c, axis=0)',
        '        total += float(np.sum(np.hypot(d[:, 0] * sy, d[:, 1] * sx)))',
        '    out.append(total)',
        'print(json.dumps(out))',
      ].join('\n');
      const r = spawnSync(PY, ['-c', script, file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const ref = JSON.parse(r.stdout) as number[];
      m.instances.forEach((rec, i) => {
        expect(Math.abs(num(rec.perimeterMm) - ref[i]!) / ref[i]!).toBeLessThan(0.01);
      });
    } finally {
      t.cleanup();
    }
  });
});

describe('measurements 3D, anisotropic spacing', () => {
  const W = 20;
  const H = 18;
  const D = 7;
  const s: [number, number, number] = [0.75, 0.5, 2.5];
  const geometry: Geometry = { type: 'medical', spacingMm: s, originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const labels = blobs(W, H, D, 5, 11);
  const m = measure(labels, W, H, D, geometry, 26);
  const byId = pixelsById(m.map, W, H);

  it('volume, bbox, centroid exact; Feret 3D and voxel-face surface area equal brute force', () => {
    expect(m.instances.length).toBeGreaterThan(3);
    for (const rec of m.instances) {
      const px = byId.get(rec.id)!;
      expect(rec.pixelCount).toBe(px.length);
      expect(rec.volumeMm3).toBe(px.reduce((t) => t + s[0] * s[1] * s[2], 0));
      expect(rec.volumeMl).toBe(num(rec.volumeMm3) / 1000);
      expect(rec.bbox.min).toEqual([0, 1, 2].map((d) => Math.min(...px.map((p) => p[d]!))));
      expect(rec.bbox.max).toEqual([0, 1, 2].map((d) => Math.max(...px.map((p) => p[d]!))));
      expect(rec.centroidPx).toEqual([0, 1, 2].map((d) => px.reduce((t, p) => t + p[d]!, 0) / px.length));
      expect(num(rec.maxFeretMm)).toBeCloseTo(bruteFeret(boundaryPixels(px, true), s), 5);
      const set = new Set(px.map(([x, y, z]) => `${x},${y},${z}`));
      let faces = 0;
      for (const [x, y, z] of px) {
        if (!set.has(`${x + 1},${y},${z}`)) faces += s[1] * s[2];
        if (!set.has(`${x - 1},${y},${z}`)) faces += s[1] * s[2];
        if (!set.has(`${x},${y + 1},${z}`)) faces += s[0] * s[2];
        if (!set.has(`${x},${y - 1},${z}`)) faces += s[0] * s[2];
        if (!set.has(`${x},${y},${z + 1}`)) faces += s[0] * s[1];
        if (!set.has(`${x},${y},${z - 1}`)) faces += s[0] * s[1];
      }
      expect(num(rec.surfaceAreaMm2)).toBeCloseTo(faces, 5);
    }
  });

  it('RECIST long axis is the largest per-slice brute-force long axis, on recistSlice', () => {
    for (const rec of m.instances) {
      const px = byId.get(rec.id)!;
      let best = 0;
      let bestZ = -1;
      const perSlice = new Map<number, number>();
      for (let z = rec.bbox.min[2]!; z <= rec.bbox.max[2]!; z++) {
        const xy = px.filter((p) => p[2] === z).map((p): [number, number] => [p[0], p[1]]);
        if (xy.length === 0) continue;
        const mask = new Uint8Array(W * H);
        for (const [x, y] of xy) mask[y * W + x] = 1;
        const ref = bruteAxes(edgeMidpoints(new Set(xy.map(([x, y]) => `${x},${y}`)), xy), traceRings(mask, W, H, true), s[0], s[1]);
        perSlice.set(z, ref.long);
        if (ref.long > best) {
          best = ref.long;
          bestZ = z;
        }
      }
      expect(Math.abs(num(rec.longAxisMm) - best)).toBeLessThanOrEqual(s[0]);
      // The chosen slice holds a long axis within a pixel of the best one (ties may pick another slice).
      expect(Math.abs(perSlice.get(num(rec.recistSlice))! - best)).toBeLessThanOrEqual(s[0]);
      expect(bestZ).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('contours', () => {
  it('outer rings positive, holes negative, vertices on pixel-edge midpoints', () => {
    const W = 7;
    const H = 7;
    const mask = new Uint8Array(W * H);
    for (let y = 1; y < 6; y++) for (let x = 1; x < 6; x++) mask[y * W + x] = x === 3 && y === 3 ? 0 : 1;
    const rings = traceRings(mask, W, H, true);
    expect(rings.map((r) => r.hole).sort()).toEqual([false, true]);
    for (const r of rings) {
      for (let i = 0; i < r.points.length; i += 2) {
        const fx = Math.abs(r.points[i]! % 1);
        const fy = Math.abs(r.points[i + 1]! % 1);
        // Exactly one coordinate is half-integer: the midpoint of the edge between two pixel centres.
        expect((fx === 0.5) !== (fy === 0.5)).toBe(true);
      }
    }
  });
});

describe('--labels-are instances', () => {
  it('keeps touching instances of one class apart and records their label values', async () => {
    const t = tempDir('delineate-measure-');
    try {
      const W = 12;
      const H = 6;
      const values = new Uint8Array(W * H);
      for (let y = 1; y < 5; y++) {
        for (let x = 1; x < 6; x++) values[y * W + x] = 7;
        for (let x = 6; x < 11; x++) values[y * W + x] = 3;
      }
      values[0] = 9; // one pixel, dropped by --min-size-px 2
      const image = path.join(t.dir, 'image.png');
      const labels = path.join(t.dir, 'labels.png');
      writeTestPng(image, W, H, 1, new Uint8Array(W * H).fill(100));
      writeTestPng(labels, W, H, 1, values);
      const { document } = await measureFiles(image, labels, path.join(t.dir, 'out'), { labelsAre: 'instances', minSizePx: 2, classOfInstance: new Map([[3, 2]]) });
      expect(document.instances.map((r) => [r.id, r.labelValue, r.classId, r.pixelCount])).toEqual([
        [1, 7, 1, 20],
        [2, 3, 2, 20],
      ]);
      expect(document.instances[0]!.perimeterPx).toBeCloseTo(2 * (4 + 3) + 4 * (Math.SQRT2 / 2), 5);
      const csv = readFileSync(path.join(t.dir, 'out', 'measurements.csv'), 'utf8');
      expect(csv.split('\r\n')[0]).toContain('labelValue');
      // Direct call agrees.
      const r = instancesFromValues({ values, width: W, height: H, depth: 1 });
      expect(r.stats.map((s) => s.pixelCount)).toEqual([1, 20, 20]);
    } finally {
      t.cleanup();
    }
  });
});

describe('geo measurements and zones', () => {
  it('gives metre fields and zonal class areas that sum to the zone area', async () => {
    const { writeTiff } = await import('../../main/engine/io/tiff-writer');
    const t = tempDir('delineate-zones-');
    try {
      const W = 20;
      const H = 20;
      const geometry: Geometry = { type: 'geo', geotransform: [500000, 10, 0, 4000000, 0, -10], crs: 'EPSG:32633' };
      const labels = new Uint8Array(W * H);
      for (let y = 2; y < 8; y++) for (let x = 2; x < 12; x++) labels[y * W + x] = 1; // 60 px of class 1
      for (let y = 12; y < 16; y++) for (let x = 4; x < 9; x++) labels[y * W + x] = 2; // 20 px of class 2
      const image = path.join(t.dir, 'image.tif');
      const labelsFile = path.join(t.dir, 'labels.tif');
      await writeTiff(image, { data: new Uint8Array(W * H).fill(7), width: W, height: H, depth: 1, channels: 1, geometry });
      await writeTiff(labelsFile, { data: labels, width: W, height: H, depth: 1, channels: 1, geometry });
      // Zone 1: the left half (pixel columns 0..9) in map coordinates; zone 2: everything.
      const square = (x0: number, y0: number, x1: number, y1: number): number[][][] => [
        [
          [500000 + x0 * 10, 4000000 - y0 * 10],
          [500000 + x1 * 10, 4000000 - y0 * 10],
          [500000 + x1 * 10, 4000000 - y1 * 10],
          [500000 + x0 * 10, 4000000 - y1 * 10],
          [500000 + x0 * 10, 4000000 - y0 * 10],
        ],
      ];
      const zones = path.join(t.dir, 'parcels.geojson');
      writeFileSync(
        zones,
        JSON.stringify({
          type: 'FeatureCollection',
          crs: { type: 'name', properties: { name: 'EPSG:32633' } },
          features: [
            { type: 'Feature', properties: { name: 'left' }, geometry: { type: 'Polygon', coordinates: square(0, 0, 10, 20) } },
            { type: 'Feature', properties: { name: 'all' }, geometry: { type: 'Polygon', coordinates: square(0, 0, 20, 20) } },
          ],
        }),
      );
      const out = path.join(t.dir, 'out');
      const { document } = await measureFiles(image, labelsFile, out, { classes: [{ name: 'forest', color: '#00ff00' }, { name: 'water', color: '#0000ff' }], zones });
      const forest = document.instances[0]!;
      // Ellipsoidal: near the UTM central meridian the scale factor is 0.9996, so true lengths are map / 0.9996.
      const k = 0.9996;
      expect(forest.areaMethod).toBe('ellipsoidal');
      expect(Math.abs(num(forest.areaM2) / (6000 / k ** 2) - 1)).toBeLessThan(1e-4);
      expect(forest.areaHa).toBeCloseTo(num(forest.areaM2) / 10000, 9);
      expect(Math.abs(num(forest.perimeterM) / ((2 * (90 + 50) + 4 * Math.hypot(5, 5)) / k) - 1)).toBeLessThan(1e-4);
      expect(Math.abs(num(forest.maxFeretM) / (Math.hypot(90, 50) / k) - 1)).toBeLessThan(1e-4);
      expect(forest.centroidMap).toEqual([500000 + 7 * 10, 4000000 - 5 * 10]);
      const ll = forest.centroidLonLat as number[];
      // pyproj: Transformer EPSG:32633 -> 4326 gives (15.000778096, 36.144267310).
      expect(ll[0]).toBeCloseTo(15.000778096, 7);
      expect(ll[1]).toBeCloseTo(36.14426731, 7);
      const geo = JSON.parse(readFileSync(path.join(out, 'zones.geojson'), 'utf8')) as { features: Array<{ properties: Record<string, number | string> }> };
      const [left, all] = geo.features.map((f) => f.properties);
      const px = num(forest.areaM2) / 60; // pixel area, constant to 1e-6 over this small raster
      expect(Number(left!.forestAreaM2) / (48 * px)).toBeCloseTo(1, 5);
      expect(Number(left!.waterAreaM2) / (20 * px)).toBeCloseTo(1, 5);
      expect(Number(all!.forestAreaM2)).toBeCloseTo(num(forest.areaM2), 6);
      expect(Number(left!.forestShare)).toBeCloseTo(48 / 200, 5);
      for (const z of [left!, all!]) {
        const sum = ['none', 'forest', 'water', 'nodata'].reduce((s, n) => s + Number(z[`${n}AreaM2`]), 0);
        expect(Math.abs(sum - Number(z.zoneAreaM2)) / Number(z.zoneAreaM2)).toBeLessThan(0.001);
        expect(Math.abs(Number(z.zoneAreaM2) - Number(z.polygonAreaM2)) / Number(z.polygonAreaM2)).toBeLessThan(0.001);
      }
      expect(all!.instanceCount).toBe(2);
      expect(left!.instanceIds).toBe('1;2'); // both centroids (x 6.5 and 6) lie in the left half
      expect(readFileSync(path.join(out, 'zones.csv'), 'utf8').split('\r\n')[0]).toContain('forestShare');
    } finally {
      t.cleanup();
    }
  });
});
