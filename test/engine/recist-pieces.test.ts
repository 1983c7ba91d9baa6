// RECIST axes of a lesion an edit has cut in two on a slice: it stays one instance, but its long and short axes
// are measured on one connected piece of that slice (the largest), never one axis in each piece.
import { describe, expect, it } from 'vitest';
import type { InstancesDocument } from '../../preload/formats';
import { ResultStore } from '../../main/engine/results/store';
import { connectedComponents } from '../../main/engine/postprocess/components';
import { countLabels, measureInstances } from '../../main/engine/measure/index';
import { largestPiece } from '../../main/engine/measure/shape';

const W = 60;
const H = 50;
const SPACING_MM = 0.5;

/** Piece A: a 40 x 6 horizontal bar; piece B: a 6 x 30 vertical bar; a 5 x 3 bridge joins them (one instance). */
const inA = (x: number, y: number) => x >= 5 && x <= 44 && y >= 5 && y <= 10;
const inB = (x: number, y: number) => x >= 50 && x <= 55 && y >= 8 && y <= 37;
const inBridge = (x: number, y: number) => x >= 45 && x <= 49 && y >= 8 && y <= 10;

/** depth 1: the shape above; depth 3: the same shape on slice 1, a shorter bar (A's first 20 columns) on 0 and 2. */
function makeResult(depth: number) {
  const labels = new Uint8Array(W * H * depth);
  for (let z = 0; z < depth; z++) {
    const full = depth === 1 || z === 1;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const on = full ? inA(x, y) || inB(x, y) || inBridge(x, y) : inA(x, y) && x < 25;
        if (on) labels[z * W * H + y * W + x] = 1;
      }
    }
  }
  const cc = connectedComponents({ labels, width: W, height: H, depth, nodataLabel: 255, connectivity: depth > 1 ? 26 : 8 });
  const geometry = { type: 'medical' as const, spacingMm: [SPACING_MM, SPACING_MM, 2] as [number, number, number], originMm: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const classes = [{ name: 'lesion', color: '#ff0000' }];
  const counts = countLabels(labels, 1, 255);
  const m = measureInstances(cc.stats, { geometry, depth, classes, validPixelCount: counts.valid, classPixelCounts: counts.perClass, hasProbability: false, hasIntensity: false, instanceMap: cc.instances, width: W, height: H });
  const document: InstancesDocument = { source: { file: 'x', kind: 'medical', width: W, height: H, depth }, classes: m.classes, instances: m.instances };
  // No intensity: only shape fields are under test.
  const store = new ResultStore(async () => new Float32Array(W * H * depth));
  const id = store.add({ path: 'x', width: W, height: H, depth, geometry, classes, labels, nodataLabel: 255, instances: cc.instances, document, connectivity: depth > 1 ? 26 : 8 });
  expect(m.instances).toHaveLength(1);
  return { store, id };
}

type Ends = [[number, number], [number, number]];
const ends = (v: unknown): Ends => {
  expect(Array.isArray(v)).toBe(true);
  return v as Ends;
};
/** Whether both end points lie in piece A's outline box (pixel centres ± 0.5). */
const inBoxA = (e: Ends) => e.every(([x, y]) => x >= 4.5 && x <= 44.5 && y >= 4.5 && y <= 10.5);

describe('RECIST on a lesion split by an edit', () => {
  it('keeps the largest connected piece of a plane (8- or 4-connected)', () => {
    // 5 x 3: a 2-pixel piece on the first row, a 3-pixel piece on the last.
    const mask = Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    const two = largestPiece(mask, 5, 3, true);
    expect(two.pieces).toBe(2);
    expect(Array.from(two.mask)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    // Pixels touching only diagonally: one piece when diagonals join, two (the first kept on a tie) when not.
    const diag = Uint8Array.from([1, 0, 0, 0, 1, 1, 0, 0, 0]);
    expect(largestPiece(diag, 3, 3, true).pieces).toBe(1);
    const four = largestPiece(diag, 3, 3, false);
    expect(four.pieces).toBe(2);
    expect(Array.from(four.mask)).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 0]);
    expect(largestPiece(Uint8Array.from([1, 0, 0, 1]), 2, 2, false).pieces).toBe(2);
  });

  it('2D: after an eraser cuts the bridge, both axes lie in the larger piece', async () => {
    const { store, id } = makeResult(1);
    const r = await store.edit(id, { op: 'eraseStroke', z: 0, points: [[47, 4], [47, 14]], radiusPx: [1.5, 1.5] });
    const rec = r.document.instances.find((i) => i.id === 1)!;
    expect(rec.pixelCount).toBe(240 + 180 + 3);
    const long = ends(rec.longAxisEndsPx);
    const short = ends(rec.shortAxisEndsPx);
    expect(inBoxA(long)).toBe(true);
    expect(inBoxA(short)).toBe(true);
    // Piece A is 40 x 6 pixels: long ≈ its diagonal, short ≈ its height (not piece B's 30-pixel height).
    expect(rec.longAxisMm as number).toBeGreaterThan(39 * SPACING_MM);
    expect(rec.longAxisMm as number).toBeLessThan(41 * SPACING_MM);
    expect(rec.shortAxisMm as number).toBeLessThan(8 * SPACING_MM);
    expect(rec.shortAxisMm as number).toBeGreaterThan(5 * SPACING_MM);
  });

  it('3D: the split slice is named by recistSlice and its axes lie in one piece', async () => {
    const { store, id } = makeResult(3);
    const r = await store.edit(id, { op: 'eraseStroke', z: 1, points: [[47, 4], [47, 14]], radiusPx: [1.5, 1.5] });
    const rec = r.document.instances.find((i) => i.id === 1)!;
    expect(rec.edited).toBe(true);
    expect(rec.recistSlice).toBe(1);
    expect(inBoxA(ends(rec.longAxisEndsPx))).toBe(true);
    expect(inBoxA(ends(rec.shortAxisEndsPx))).toBe(true);
    expect(rec.shortAxisMm as number).toBeLessThan(8 * SPACING_MM);
  });
});
