// TileRenderer ('image:tile'): tile geometry at every level, exact full-resolution tiles, coarser tiles built from
// finer ones (no overviews) equal to the area average of the source, GeoTIFF overviews used when present (gdaladdo).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TileRenderer, levelCount, tileRect } from '../../main/engine/render/tile';
import { openGeoTiff } from '../../main/engine/io/geotiff';
import { writeTiff } from '../../main/engine/io/tiff-writer';

const W = 1100;
const H = 700;
/** Grey: a smooth function, so 4x4 averages are easy to compute and far from any single pixel. */
const value = (x: number, y: number): number => (x * 3 + y * 5 + ((x * y) % 7)) % 251;

describe('TileRenderer', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-tile-'));
    file = join(dir, 'grey.tif');
    const data = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = value(x, y);
    await writeTiff(file, { data, width: W, height: H, depth: 1, channels: 1, geometry: { type: 'pixel' } });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lays tiles out per level, edge tiles smaller', () => {
    expect(levelCount(W, H, 256)).toBe(4); // 1100 -> 550 -> 275 -> 138
    expect(tileRect(W, H, 0, 4, 2, 256)).toEqual({ x0: 1024, y0: 512, w: 76, h: 188, outW: 76, outH: 188 });
    expect(tileRect(W, H, 2, 1, 0, 256)).toEqual({ x0: 1024, y0: 0, w: 76, h: 700, outW: 19, outH: 175 });
    expect(tileRect(W, H, 0, 5, 0, 256)).toBeNull();
  });

  it('renders level 0 exactly and builds coarser levels as area averages without overviews', async () => {
    const src = await openGeoTiff(file);
    try {
      const tiles = new TileRenderer();
      const t0 = await tiles.render(src, { level: 0, x: 1, y: 2, tileSize: 256, z: 0 });
      expect([t0.width, t0.height, t0.imageRect]).toEqual([256, 188, [256, 512, 256, 188]]);
      expect(t0.window).toEqual({ center: 127.5, width: 255 });
      for (const [x, y] of [
        [0, 0],
        [17, 99],
        [255, 187],
      ] as const) {
        expect(t0.rgba[(y * t0.width + x) * 4]).toBe(value(256 + x, 512 + y));
        expect(t0.rgba[(y * t0.width + x) * 4 + 3]).toBe(255);
      }
      // Level 2: built from level-1 tiles, built from level-0 reads; each pixel averages a 4x4 block.
      const t2 = await tiles.render(src, { level: 2, x: 0, y: 0, tileSize: 256, z: 0 });
      expect([t2.width, t2.height]).toEqual([256, 175]);
      for (const [x, y] of [
        [0, 0],
        [100, 50],
        [255, 174],
      ] as const) {
        let sum = 0;
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) sum += value(x * 4 + dx, y * 4 + dy);
        expect(Math.abs(t2.rgba[(y * t2.width + x) * 4]! - sum / 16)).toBeLessThanOrEqual(1);
      }
      // A window re-colours the cached values.
      const dark = await tiles.render(src, { level: 2, x: 0, y: 0, tileSize: 256, z: 0, window: { center: 255, width: 2 } });
      expect(dark.rgba[0]).toBe(0);
      await expect(tiles.render(src, { level: 4, x: 0, y: 0, tileSize: 256, z: 0 })).rejects.toThrow(/level/);
      await expect(tiles.render(src, { level: 0, x: 9, y: 0, tileSize: 256, z: 0 })).rejects.toThrow(/outside/);
    } finally {
      await src.close();
    }
  });

  const gdal = spawnSync('gdaladdo', ['--version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!gdal)(`reads coarse tiles from gdaladdo overviews${gdal ? '' : ' (skipped: gdaladdo not found)'}`, async () => {
    const ovr = join(dir, 'ovr.tif');
    const data = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = value(x, y);
    await writeTiff(ovr, { data, width: W, height: H, depth: 1, channels: 1, geometry: { type: 'pixel' } });
    expect(spawnSync('gdaladdo', ['-q', '-ro', '-r', 'average', ovr, '2', '4'], { stdio: 'ignore' }).status).toBe(0);
    const src = await openGeoTiff(ovr);
    try {
      expect(src.overviews.length).toBe(2);
      // Record which stored level each read came from: level 2 must come from the 4x overview, not full resolution.
      const used: number[] = [];
      const spy = {
        ...src,
        readReduced: async (...args: Parameters<typeof src.readReduced>) => {
          const r = await src.readReduced(...args);
          used.push(r.level);
          return r;
        },
      };
      const t = await new TileRenderer().render(spy, { level: 2, x: 0, y: 0, tileSize: 256, z: 0, window: { center: 127.5, width: 255 } });
      expect(used).toEqual([2]);
      let sum = 0;
      for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) sum += value(400 + dx, 200 + dy);
      expect(Math.abs(t.rgba[(50 * t.width + 100) * 4]! - sum / 16)).toBeLessThanOrEqual(2);
    } finally {
      await src.close();
    }
  });
});
