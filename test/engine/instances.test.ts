// Boundary-head instance split on hand-made label and boundary-probability maps.
import { describe, expect, it } from 'vitest';
import { connectedComponents } from '../../main/engine/postprocess/components';
import { boundaryFromDistance, splitInstancesByBoundary, statsFromInstanceMap } from '../../main/engine/postprocess/instances';

/** Draws filled rectangles of a class into a label map and a rim of boundary probability `rimP` around each. */
function scene(width: number, height: number, rects: Array<{ x0: number; y0: number; x1: number; y1: number; cls: number }>, rimP = 0.9, insideP = 0.1) {
  const labels = new Uint8Array(width * height);
  const boundary = new Float32Array(width * height);
  for (const r of rects) {
    for (let y = r.y0; y <= r.y1; y++) {
      for (let x = r.x0; x <= r.x1; x++) {
        const i = y * width + x;
        labels[i] = r.cls;
        const rim = x === r.x0 || x === r.x1 || y === r.y0 || y === r.y1;
        boundary[i] = Math.max(boundary[i]!, rim ? rimP : insideP);
      }
    }
  }
  return { labels, boundary };
}

const ids = (m: Uint32Array): number[] => [...new Set(m)].filter((v) => v > 0).sort((a, b) => a - b);

describe('splitInstancesByBoundary', () => {
  it('splits two touching squares of one class into two instances along the predicted rim', () => {
    const width = 20;
    const height = 10;
    // Squares 0..7 and 8..15 share the edge between x = 7 and x = 8: one component, two objects.
    const { labels, boundary } = scene(width, height, [
      { x0: 0, y0: 1, x1: 7, y1: 8, cls: 1 },
      { x0: 8, y0: 1, x1: 15, y1: 8, cls: 1 },
    ]);
    expect(connectedComponents({ labels: labels.slice(), width, height, depth: 1, nodataLabel: 255, connectivity: 8 }).stats).toHaveLength(1);
    const inst = splitInstancesByBoundary({ labels, width, height, depth: 1, nodataLabel: 255, boundary });
    expect(ids(inst)).toEqual([1, 2]);
    for (let y = 1; y <= 8; y++) {
      for (let x = 0; x <= 15; x++) expect(inst[y * width + x]).toBe(x <= 7 ? 1 : 2);
    }
    const stats = statsFromInstanceMap({ instances: inst, labels, width, height, depth: 1 });
    expect(stats.map((s) => s.pixelCount)).toEqual([64, 64]);
    expect(stats[1]!.min).toEqual([8, 1, 0]);
    expect(stats[1]!.max).toEqual([15, 8, 0]);
  });

  it('keeps one object one instance, and ignores seeds below the minimum size', () => {
    const width = 12;
    const height = 12;
    const { labels, boundary } = scene(width, height, [{ x0: 1, y0: 1, x1: 10, y1: 10, cls: 1 }]);
    // A one-pixel dip on the rim would be a second seed without the minimum seed size.
    boundary[1 * width + 5] = 0.2;
    const inst = splitInstancesByBoundary({ labels, width, height, depth: 1, nodataLabel: 255, boundary, minSeedPx: 2 });
    expect(ids(inst)).toEqual([1]);
    let count = 0;
    for (let i = 0; i < inst.length; i++) if (labels[i] === 1) count += inst[i] === 1 ? 1 : 0;
    expect(count).toBe(100);
  });

  it('keeps class pixels no seed reached as instances of their own', () => {
    const width = 16;
    const height = 6;
    // A thin object (all rim, no interior) left of a normal one; they do not touch.
    const { labels, boundary } = scene(width, height, [
      { x0: 0, y0: 0, x1: 1, y1: 5, cls: 1 },
      { x0: 5, y0: 0, x1: 12, y1: 5, cls: 1 },
    ]);
    const inst = splitInstancesByBoundary({ labels, width, height, depth: 1, nodataLabel: 255, boundary, minSeedPx: 1 });
    expect(ids(inst)).toEqual([1, 2]);
    // Raster order of first pixel: the thin object starts at x = 0.
    expect(inst[0]).toBe(1);
    expect(inst[5]).toBe(2);
    const stats = statsFromInstanceMap({ instances: inst, labels, width, height, depth: 1 });
    expect(stats.map((s) => s.pixelCount)).toEqual([12, 48]);
  });

  it('never joins different classes, splits per slice, and drops objects below minPixels', () => {
    const width = 10;
    const height = 4;
    const one = scene(width, height, [
      { x0: 0, y0: 0, x1: 4, y1: 3, cls: 1 },
      { x0: 5, y0: 0, x1: 9, y1: 3, cls: 2 },
    ]);
    const two = scene(width, height, [{ x0: 2, y0: 1, x1: 2, y1: 1, cls: 1 }]);
    const labels = new Uint8Array([...one.labels, ...two.labels]);
    const boundary = new Float32Array([...one.boundary, ...two.boundary]);
    const inst = splitInstancesByBoundary({ labels, width, height, depth: 2, nodataLabel: 255, boundary, minSeedPx: 1, minPixels: 2 });
    expect(ids(inst)).toEqual([1, 2]);
    const stats = statsFromInstanceMap({ instances: inst, labels, width, height, depth: 2 });
    expect(stats.map((s) => [s.classId, s.pixelCount])).toEqual([
      [1, 20],
      [2, 20],
    ]);
    // The one-pixel object in slice 1 fell below minPixels: gone from the labels too.
    expect(labels[width * height + width + 2]).toBe(0);
  });

  it('statsFromInstanceMap matches connectedComponents statistics', () => {
    const width = 9;
    const height = 7;
    const { labels } = scene(width, height, [
      { x0: 0, y0: 0, x1: 2, y1: 2, cls: 1 },
      { x0: 5, y0: 3, x1: 8, y1: 6, cls: 2 },
    ]);
    const probability = Float32Array.from({ length: width * height }, (_, i) => (i % 7) / 7);
    const intensity = Uint16Array.from({ length: width * height }, (_, i) => i * 3);
    const cc = connectedComponents({ labels: labels.slice(), width, height, depth: 1, nodataLabel: 255, connectivity: 8, probability, intensity });
    expect(statsFromInstanceMap({ instances: cc.instances, labels, width, height, depth: 1, probability, intensity })).toEqual(cc.stats);
  });

  it('turns a normalised distance head into a boundary-like elevation', () => {
    expect(Array.from(boundaryFromDistance(Float32Array.from([0, 0.25, 1, 3, -1])))).toEqual([1, 0.75, 0, 0, 1]);
  });
});
