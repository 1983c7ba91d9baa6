// UI end to end on a 4-band GeoTIFF (written here with the engine's TIFF writer): open it, switch between an RGB
// composite and single bands and see the picture change, read map coordinates and lon/lat under the cursor, and
// a scale bar in metres. Chromium + test host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { RESULTS, canvasPixel, imageToPage, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const W = 200;
const H = 150;
/** Band 4 ("NIR") is bright only inside this square; bands 1-3 are ramps. */
const inSquare = (x: number, y: number) => x >= 120 && x < 170 && y >= 40 && y < 100;

describe.skipIf(skipReason !== null)(`UI: a multiband GeoTIFF${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-geo-'));
    const plane = W * H;
    const data = new Uint16Array(plane * 4);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        data[i] = 200 + x * 20; // red: ramp along x
        data[plane + i] = 200 + y * 25; // green: ramp along y
        data[2 * plane + i] = 1500 + ((x * 7 + y * 3) % 400); // blue: texture
        data[3 * plane + i] = inSquare(x, y) ? 4000 : 300 + ((x + y) % 50); // NIR
      }
    }
    // UTM 33N, 10 m pixels, somewhere in central Europe.
    await writeTiff(join(dir, 'scene.tif'), {
      data,
      width: W,
      height: H,
      depth: 1,
      channels: 4,
      geometry: { type: 'geo', geotransform: [500000, 10, 0, 5300000, 0, -10], crs: 'EPSG:32633' },
    });
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a 4-band GeoTIFF and changes bands', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'scene.tif'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: `${W} × ${H} (4 ch)` }).waitFor();
    expect(await page.getByTestId('status-kind').textContent()).toBe('geo');
    expect(await page.getByTestId('status-geometry').textContent()).toBe('EPSG:32633');
    await page.getByTestId('fit-button').click();
    await until(() => readState(page), (v) => v.sliceWindow !== null, 10_000, 'first slice');
    const inside = await imageToPage(page, 145, 70);
    const outside = await imageToPage(page, 40, 70);
    expect(await page.getByTestId('band-mode').inputValue()).toBe('rgb');
    await page.screenshot({ path: join(RESULTS, 'ui-geotiff-rgb.png') });

    // Band 4 alone: the square is bright, the rest dark.
    await page.getByTestId('band-mode').selectOption('grey');
    await page.getByTestId('band-0').selectOption('3');
    await until(() => readState(page), (v) => JSON.stringify(v.bands) === '[3]', 10_000, 'band 4');
    await until(() => canvasPixel(page, inside), (p) => p[0] > 200 && p[0] === p[1] && p[1] === p[2], 10_000, 'bright square in band 4');
    expect((await canvasPixel(page, outside))[0]).toBeLessThan(60);
    await page.screenshot({ path: join(RESULTS, 'ui-geotiff-band4.png') });

    // A false-colour composite: NIR as red.
    await page.getByTestId('band-mode').selectOption('rgb');
    await page.getByTestId('band-0').selectOption('3');
    await until(() => readState(page), (v) => JSON.stringify(v.bands) === '[3,1,2]', 10_000, 'NIR-G-B');
    // NIR high, green mid: the square turns red (the state changes before the new slice arrives: wait for pixels).
    await until(() => canvasPixel(page, inside), (p) => p[0] > 200 && p[0] > p[1] + 50, 10_000, 'red square');
  });

  it('reads map coordinates and lon/lat under the cursor, with a scale bar in metres', async () => {
    const { page, problems } = s;
    const at = await imageToPage(page, 145, 70);
    await page.mouse.move(at.x + 1, at.y);
    await page.mouse.move(at.x, at.y);
    await page.getByTestId('status-value').filter({ hasText: '4,000' }).waitFor();
    expect(await page.getByTestId('status-cursor').textContent()).toBe('x 145, y 70');
    // UTM 33N x = 500000 + 145.5 * 10 is near 15°E (the zone's meridian); y = 5299295 m is about 47.8°N.
    const where = (await page.getByTestId('status-world').textContent()) ?? '';
    const m = /^(\d+\.\d+)°N (\d+\.\d+)°E$/.exec(where);
    expect(m, where).not.toBeNull();
    expect(Number(m![1])).toBeCloseTo(47.84, 1);
    expect(Number(m![2])).toBeCloseTo(15.02, 1);
    expect(await page.getByTestId('scale-bar-label').textContent()).toMatch(/^\d+(\.\d+)? (m|km)$/);
    await page.screenshot({ path: join(RESULTS, 'ui-geotiff-nir-composite.png') });
    expect(problems).toEqual([]);
  });
});
