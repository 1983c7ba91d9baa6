// UI end to end on a raster larger than the preview (4096x4096 RGB GeoTIFF, with .ovr overviews when gdaladdo is
// installed, else the engine builds coarser tiles itself): fitted, the preview suffices and no tile is asked for;
// zoomed in, full-resolution (level 0) tiles are asked for and the canvas shows the file's exact pixel values where
// the 2x-downsampled preview shows their average. Chromium + test host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TiffWriter } from '../../main/engine/io/tiff-writer';
import { RESULTS, canvasPixel, imageToPage, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const N = 4096;
/** Red alternates pixel by pixel (a 2x2 average is always 120); green and blue are the column and row modulo 256. */
const source = (x: number, y: number): [number, number, number] => [((x ^ y) & 1) * 200 + 20, x & 255, y & 255];

interface TileStatsView {
  requested: Array<[number, number, number]>;
  received: number;
  level: number | null;
  drawn: number;
}

describe.skipIf(skipReason !== null)(`UI: tiled display of a large raster${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;
  let overviews = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-tiles-'));
    const file = join(dir, 'big.tif');
    const writer = await TiffWriter.open(file, { width: N, height: N, channels: 3, dtype: 'uint8', geometry: { type: 'geo', geotransform: [300000, 0.5, 0, 5000000, 0, -0.5], crs: 'EPSG:32633' } });
    const rows = writer.tileSize;
    for (let y0 = 0; y0 < N; y0 += rows) {
      const band = new Uint8Array(N * rows * 3);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < N; x++) {
          const [r, g, b] = source(x, y0 + y);
          band[y * N + x] = r;
          band[N * rows + y * N + x] = g;
          band[2 * N * rows + y * N + x] = b;
        }
      }
      await writer.writeWindow(0, y0, N, rows, band);
    }
    await writer.close();
    overviews = spawnSync('gdaladdo', ['-q', '-ro', '-r', 'average', file, '2', '4', '8', '16'], { stdio: 'ignore' }).status === 0;
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tileStats = (): Promise<TileStatsView> =>
    s.page.evaluate(() => {
      const t = window.__delineateViewer!.tileStats!;
      return { requested: t.requested.slice(), received: t.received, level: t.level, drawn: t.drawn };
    });

  it('asks for full-resolution tiles when zoomed in and shows the file’s pixels', async () => {
    const { page, host, problems } = s;
    host.setNextDialogPath(join(dir, 'big.tif'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: `${N} × ${N} (3 ch)` }).waitFor();
    await page.getByTestId('fit-button').click();
    await until(() => readState(page), (v) => v.sliceWindow !== null, 20_000, 'preview');
    // Fitted, ~5 image px per screen px: the 2048-px preview is sharper than any tile would be.
    expect((await tileStats()).requested).toEqual([]);
    await page.screenshot({ path: join(RESULTS, 'ui-tiles-fit.png') });

    // Zoom in around a known pixel (the wheel keeps the point under the cursor fixed) to ~4 screen px per image px.
    const px = 1000;
    const py = 3001;
    const at = await imageToPage(page, px, py);
    await page.mouse.move(at.x, at.y);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -500);
    const zoom = await until(() => page.evaluate(() => window.__delineateState!().zoomPct), (z) => z >= 300, 10_000, 'zoomed in');
    const stats = await until(tileStats, (t) => t.level === 0 && t.received > 0 && t.drawn > 0, 30_000, 'level-0 tiles drawn');
    expect(stats.requested.every(([level]) => level === 0)).toBe(true);
    // The tile holding the pixel was among them (512-px tiles).
    expect(stats.requested.some(([, x, y]) => x === Math.floor(px / 512) && y === Math.floor(py / 512))).toBe(true);

    // Exact values where the preview would show the 2x2 average (red 120), at the pixel the cursor read-out names
    // (the fitted view is ~5 image px per screen px, so the wheel's anchor is only known to a few image pixels).
    const k = zoom / 100;
    for (const [dx, dy] of [
      [0.5, 0.5],
      [1.5, 0.5],
      [0.5, 1.5],
      [-2.5, 3.5],
    ] as const) {
      const p = { x: at.x + dx * k, y: at.y + dy * k };
      await page.mouse.move(p.x, p.y);
      const cursor = await until(() => page.getByTestId('status-cursor').textContent(), (t) => /^x \d+, y \d+$/.test(t ?? ''), 5_000, 'cursor read-out');
      const [, cx, cy] = /^x (\d+), y (\d+)$/.exec(cursor ?? '')!.map(Number);
      expect(Math.abs(cx! - px - dx)).toBeLessThan(8);
      const want = source(cx!, cy!);
      const got = await until(() => canvasPixel(page, p), (v) => v[0] === want[0], 20_000, `pixel ${cx},${cy}`);
      expect(got.slice(0, 3)).toEqual(want);
    }
    await page.screenshot({ path: join(RESULTS, 'ui-tiles-zoomed.png') });

    // Pan ~600 image px: level-0 tiles further right in the image are asked for and drawn.
    const before = (await tileStats()).requested.length;
    await page.evaluate(() => window.__delineateViewer!.panBy!(-2400, 0));
    await until(tileStats, (t) => t.requested.length > before && t.drawn > 0, 20_000, 'tiles after a pan');
    await page.screenshot({ path: join(RESULTS, 'ui-tiles-panned.png') });
    console.log(`ui-tiles: ${overviews ? 'with gdaladdo overviews' : 'no overviews (engine-built levels)'}; ${(await tileStats()).requested.length} tiles requested`);
    expect(problems).toEqual([]);
  });
});
