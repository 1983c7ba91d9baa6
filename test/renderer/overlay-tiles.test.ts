// Overlay tiles of large results (renderer/viewer/overlayTiles.ts): a map cut into tiles and painted tile by tile,
// with the neighbours' borders, gives exactly the RGBA paintOverlay gives the whole map (no outline along seams);
// without a neighbour the seam side draws no edge; the class index and the table's page arithmetic.
import { describe, expect, it } from 'vitest';
import { paintOverlay, type Rgb } from '../../renderer/overlays/colors';
import { paintInstanceTile, type TileBorders } from '../../renderer/viewer/overlayTiles';
import { InstanceClassIndex, CLASS_PAGE } from '../../renderer/viewer/instanceClasses';
import { neighbourPages, pageBounds, pageRequest, serverSortKey, PAGE_ROWS } from '../../renderer/measurements/paging';
import type { ResultInstancesPage, ResultInstancesRequest, ResultSlice } from '../../preload/api';

/** A 20x14 map: a rectangle (id 1) crossing the tile seam at x = 8, a disc (id 2) crossing y = 8, id 3 on the corner. */
function map(): { w: number; h: number; ids: Uint32Array } {
  const w = 20;
  const h = 14;
  const ids = new Uint32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let id = 0;
      if (x >= 3 && x < 12 && y >= 1 && y < 5) id = 1;
      if ((x - 13) ** 2 + (y - 8) ** 2 <= 9) id = 2;
      if (x >= 6 && x < 9 && y >= 9) id = 3;
      ids[y * w + x] = id;
    }
  }
  return { w, h, ids };
}

function crop(ids: Uint32Array, w: number, x0: number, y0: number, cw: number, ch: number): Uint32Array {
  const out = new Uint32Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) out[y * cw + x] = ids[(y0 + y) * w + x0 + x]!;
  return out;
}

const colors = new Map<number, Rgb>([
  [1, [255, 0, 0]],
  [2, [0, 255, 0]],
  [3, [0, 0, 255]],
]);

describe('paintInstanceTile', () => {
  for (const outline of [false, true]) {
    it(`tiles painted with their neighbours' borders equal the whole map painted at once (outline ${outline})`, () => {
      const { w, h, ids } = map();
      const style = { colorOf: (id: number) => colors.get(id), opacity: 0.5, outline, selectedId: 2 };
      const whole = paintOverlay({ width: w, height: h, instances: ids } as unknown as ResultSlice, { colorOf: colors, opacity: 0.5, outline, selectedId: 2 });
      const T = 8;
      const assembled = new Uint8ClampedArray(w * h * 4);
      for (let ty = 0; ty * T < h; ty++) {
        for (let tx = 0; tx * T < w; tx++) {
          const x0 = tx * T;
          const y0 = ty * T;
          const cw = Math.min(T, w - x0);
          const ch = Math.min(T, h - y0);
          const at = (x: number, y: number) => ids[y * w + x]!;
          const col = (x: number) => (x < 0 || x >= w ? null : Uint32Array.from({ length: ch }, (_, y) => at(x, y0 + y)));
          const row = (y: number) => (y < 0 || y >= h ? null : Uint32Array.from({ length: cw }, (_, x) => at(x0 + x, y)));
          const borders: TileBorders = { left: col(x0 - 1), right: col(x0 + cw), top: row(y0 - 1), bottom: row(y0 + ch) };
          const edge = { left: x0 === 0, top: y0 === 0, right: x0 + cw >= w, bottom: y0 + ch >= h };
          const rgba = paintInstanceTile(crop(ids, w, x0, y0, cw, ch), cw, ch, borders, edge, style);
          for (let y = 0; y < ch; y++) assembled.set(rgba.subarray(y * cw * 4, (y + 1) * cw * 4), ((y0 + y) * w + x0) * 4);
        }
      }
      expect(Array.from(assembled)).toEqual(Array.from(whole));
    });
  }

  it('an unknown neighbour draws no edge on the seam; the known one does', () => {
    const { w, ids } = map();
    // The left tile (x 0..7) of the rectangle's rows: id 1 runs on past x = 7.
    const tile = crop(ids, w, 0, 0, 8, 8);
    const edge = { left: true, top: true, right: false, bottom: false };
    const style = { colorOf: (id: number) => colors.get(id), opacity: 0.5, outline: true, selectedId: null };
    const none = paintInstanceTile(tile, 8, 8, { left: null, right: null, top: null, bottom: null }, edge, style);
    // Pixel (7, 2) is inside the rectangle: no outline with the right neighbour unknown or known (id 1 goes on).
    expect(none[(2 * 8 + 7) * 4 + 3]).toBe(0);
    // Told the neighbour is background there, the seam pixel becomes an edge.
    const right = new Uint32Array(8);
    const withBg = paintInstanceTile(tile, 8, 8, { left: null, right, top: null, bottom: null }, edge, style);
    expect(withBg[(2 * 8 + 7) * 4 + 3]).toBe(255);
    expect(Array.from(withBg.subarray((2 * 8 + 7) * 4, (2 * 8 + 7) * 4 + 3))).toEqual([255, 0, 0]);
  });

  it('ids without a colour (hidden class, class not known yet) are left clear', () => {
    const ids = Uint32Array.from([1, 1, 2, 2]);
    const rgba = paintInstanceTile(ids, 4, 1, { left: null, right: null, top: null, bottom: null }, { left: true, right: true, top: true, bottom: true }, {
      colorOf: (id) => (id === 1 ? [10, 20, 30] : undefined),
      opacity: 1,
      outline: false,
      selectedId: null,
    });
    expect(Array.from(rgba)).toEqual([10, 20, 30, 255, 10, 20, 30, 255, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('InstanceClassIndex', () => {
  it('asks for the page of an id once, sorted by id, and knows its neighbours afterwards', async () => {
    const asked: ResultInstancesRequest[] = [];
    let updates = 0;
    const index = new InstanceClassIndex(
      async (request) => {
        asked.push(request);
        const instances = Array.from({ length: request.limit }, (_, i) => ({ id: request.offset + i + 1, classId: ((request.offset + i) % 3) + 1, className: 'c', pixelCount: 1, bbox: { min: [0, 0], max: [0, 0] } }));
        return { resultId: request.resultId, revision: 0, total: 5000, offset: request.offset, instances } as unknown as ResultInstancesPage;
      },
      () => updates++,
    );
    const classes = [1, 2, 3].map((id) => ({ id, name: `c${id}`, color: '#ffffff', instanceCount: 10, pixelCount: 10 }));
    index.reset('r1', 0, classes as never);
    expect(index.classOf(1500)).toBeUndefined();
    expect(index.classOf(1501)).toBeUndefined();
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ resultId: 'r1', offset: CLASS_PAGE, limit: CLASS_PAGE, sort: { key: 'id' } });
    await new Promise((r) => setTimeout(r, 0));
    expect(updates).toBe(1);
    expect(index.classOf(1500)).toBe((1499 % 3) + 1);
    expect(index.classOf(1999)).toBe((1998 % 3) + 1);
    // A new revision forgets (an edit may reclass) and asks again.
    index.reset('r1', 1, classes as never);
    expect(index.classOf(1500)).toBeUndefined();
    expect(asked).toHaveLength(2);
  });

  it('a result with one class with objects needs no pages', () => {
    const index = new InstanceClassIndex(() => Promise.reject(new Error('must not be asked')), () => undefined);
    index.reset('r', 0, [
      { id: 1, name: 'a', color: '#fff', instanceCount: 0, pixelCount: 0 },
      { id: 2, name: 'b', color: '#fff', instanceCount: 7, pixelCount: 70 },
    ] as never);
    expect(index.classOf(123456)).toBe(2);
  });
});

describe('paging', () => {
  it('maps table columns to the host sort keys', () => {
    expect(serverSortKey('id', 'areaM2')).toBe('id');
    expect(serverSortKey('className', 'areaM2')).toBe('class');
    expect(serverSortKey('areaHa', 'areaHa')).toBe('area');
    expect(serverSortKey('meanProbability', 'areaM2')).toBe('meanProbability');
    expect(serverSortKey('perimeterM', 'areaM2')).toBeNull();
  });

  it('builds requests and bounds', () => {
    expect(pageRequest('r', 200, { key: 'areaM2', dir: -1 }, 'areaM2', 3)).toEqual({ resultId: 'r', offset: 200, limit: PAGE_ROWS, sort: { key: 'area', descending: true }, classId: 3 });
    // A column the host cannot sort by falls back to id, ascending.
    expect(pageRequest('r', 0, { key: 'perimeterM', dir: -1 }, 'areaM2', null)).toEqual({ resultId: 'r', offset: 0, limit: PAGE_ROWS, sort: { key: 'id' } });
    expect(pageBounds(200, 100, 250)).toEqual({ first: 201, last: 250, total: 250 });
    expect(pageBounds(0, 0, 0)).toEqual({ first: 0, last: 0, total: 0 });
    expect(neighbourPages(0, 250)).toEqual({ previous: null, next: 100 });
    expect(neighbourPages(200, 250)).toEqual({ previous: 100, next: null });
  });
});
