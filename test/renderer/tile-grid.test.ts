// The tile scheduling shared by the image tiles and the result overlay tiles (renderer/viewer/tileGrid.ts): level
// choice, tiles in view, requests nearest the centre first and never twice, failed tiles not asked again, an LRU that
// frees what it evicts, and answers for an older source dropped.
import { describe, expect, it } from 'vitest';
import { TileGrid, levelFor, type TileAddress, type TiledSource, type TileStats } from '../../renderer/viewer/tileGrid';

interface Pending {
  t: TileAddress;
  resolve: (v: string) => void;
  reject: (e: Error) => void;
}

function setup(maxTiles = 100, maxInFlight = 100) {
  const stats: TileStats = { requested: [], received: 0, failed: 0, drawn: 0, level: null, cached: 0, inFlight: 0 };
  const pending: Pending[] = [];
  const released: string[] = [];
  const loaded: string[] = [];
  const grid = new TileGrid<TiledSource, string>({
    tileSize: 256,
    maxTiles,
    maxInFlight,
    marginPx: 0,
    stats,
    load: (t, _src, isCurrent) =>
      new Promise<string>((resolve, reject) => pending.push({ t, resolve, reject })).then((v) => (isCurrent() ? v : null)),
    onLoad: (e) => loaded.push(e),
    release: (e) => released.push(e),
  });
  return { grid, stats, pending, released, loaded };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('TileGrid', () => {
  it('picks the coarsest level still at least as fine as the screen, and none where the preview is as fine', () => {
    expect(levelFor(1, 1, 5)).toBe(0);
    expect(levelFor(0.25, 1, 5)).toBe(2);
    expect(levelFor(0.25, 2, 5)).toBe(1);
    expect(levelFor(1 / 1024, 1, 5)).toBe(5);
    const { grid } = setup();
    grid.setSource({ width: 4096, height: 1024, previewScale: 4 }, 'a');
    expect(grid.maxLevel).toBe(4);
    expect(grid.wantedLevel({ s: 1, tx: 0, ty: 0 }, 1)).toBe(0);
    expect(grid.wantedLevel({ s: 0.25, tx: 0, ty: 0 }, 1)).toBeNull();
  });

  it('asks for the tiles in view nearest the centre first, once each, and caches what arrives', async () => {
    const { grid, stats, pending, loaded } = setup();
    grid.setSource({ width: 2048, height: 2048, previewScale: 8 }, 'a');
    // 767x767 CSS px at 1:1 from (0,0): tiles 0..2 x 0..2 of 256 px (a view edge on a tile edge takes that tile too); the centre one is (1,1).
    const view = { s: 1, tx: 0, ty: 0 };
    grid.request(0, view, 767, 767);
    expect(stats.requested.length).toBe(9);
    expect(stats.requested[0]).toEqual([0, 1, 1]);
    const d = stats.requested.map(([, x, y]) => (x - 1) ** 2 + (y - 1) ** 2);
    expect([...d].sort((a, b) => a - b)).toEqual(d);
    grid.request(0, view, 767, 767);
    expect(stats.requested.length).toBe(9);
    for (const p of pending) p.resolve(`${p.t.x},${p.t.y}`);
    await flush();
    expect(stats.received).toBe(9);
    expect(loaded.length).toBe(9);
    expect(grid.has(0, 2, 2)).toBe(true);
    grid.request(0, view, 767, 767);
    expect(stats.requested.length).toBe(9);
  });

  it('keeps at most maxInFlight requests and sends the next as one ends', async () => {
    const { grid, stats, pending } = setup(100, 2);
    grid.setSource({ width: 1024, height: 1024, previewScale: 8 }, 'a');
    grid.request(0, { s: 1, tx: 0, ty: 0 }, 512, 512);
    expect(stats.requested.length).toBe(2);
    expect(stats.inFlight).toBe(2);
    pending[0]!.resolve('x');
    await flush();
    expect(stats.requested.length).toBe(3);
  });

  it('does not ask again for a tile that failed until the source changes', async () => {
    const { grid, stats, pending } = setup();
    grid.setSource({ width: 256, height: 256, previewScale: 8 }, 'a');
    const view = { s: 1, tx: 0, ty: 0 };
    grid.request(0, view, 256, 256);
    pending[0]!.reject(new Error('no tile'));
    await flush();
    expect(stats.failed).toBe(1);
    grid.request(0, view, 256, 256);
    expect(stats.requested.length).toBe(1);
    grid.setSource({ width: 256, height: 256, previewScale: 8 }, 'b');
    grid.request(0, view, 256, 256);
    expect(stats.requested.length).toBe(2);
  });

  it('evicts the least recently used tile and frees it; a new source frees all and drops late answers', async () => {
    const { grid, stats, pending, released } = setup(2);
    grid.setSource({ width: 768, height: 256, previewScale: 8 }, 'a');
    grid.request(0, { s: 1, tx: 0, ty: 0 }, 768, 256);
    const byX = new Map(pending.map((p) => [p.t.x, p]));
    byX.get(0)!.resolve('t0');
    byX.get(1)!.resolve('t1');
    await flush();
    expect(grid.use(0, 0, 0)).toBe('t0');
    byX.get(2)!.resolve('t2');
    await flush();
    expect(released).toEqual(['t1']);
    expect(stats.cached).toBe(2);
    grid.request(0, { s: 1, tx: 0, ty: 0 }, 768, 256);
    const late = pending[pending.length - 1]!;
    grid.setSource({ width: 768, height: 256, previewScale: 8 }, 'b');
    expect(released.sort()).toEqual(['t0', 't1', 't2']);
    expect(stats.cached).toBe(0);
    late.resolve('stale');
    await flush();
    expect(grid.has(0, late.t.x, late.t.y)).toBe(false);
    expect(stats.received).toBe(3);
  });
});
