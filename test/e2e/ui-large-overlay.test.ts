// UI end to end on a result far larger than its preview map: a generated 8192 x 8192 GeoTIFF by default, 40000 x 40000
// for the acceptance figure (DELINEATE_E2E_LARGE_PX=40000: about 30 min on two busy cores, so not in every run; written strip by
// strip, tiled, DEFLATE, with .ovr overviews when gdaladdo is installed; image content in a 4096² square, nodata
// elsewhere, so the run's model tiles stay few) segmented by a 1x1-convolution model on 1024-px tiles through the
// engine host's windowed path (the result stays on disk). Zoomed to 1:1 on a known object
// corner, the overlay is drawn from full-resolution result tiles: the outline pixels on the canvas are exactly the
// edge pixels of the 'result:tile' ids and sit on the object's true pixel boundary (the preview map is 20x coarser).
// Also: a click selects through 'result:instance-at', the table shows the total and pages, a row click centres the
// object, and the median pan frame with the overlay (target < 16 ms) is printed. Chromium + test host + real engine.
//   DELINEATE_E2E_LARGE_PX=40000 npx vitest run test/e2e/ui-large-overlay.test.ts   (the orthomosaic size, same checks)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brightManifest, writeModelFolder } from '../fixtures/models';
import { OBJECT_COLS, OBJECT_ROWS, contentArea, objectCorner, objectCount, writeLargeRaster } from '../fixtures/large-raster';
import { RESULTS, readState, skipReason, startSession, until, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const N = Number(process.env.DELINEATE_E2E_LARGE_PX ?? 8192);
/** Image content in a 4096² square (nodata around it, whose tiles the run skips), far from the origin. */
const AREA = contentArea(N);
/** The object whose top-left corner the test zooms to (its 48-px surroundings cross no 512-px tile seam). */
const CORNER = objectCorner(AREA);
const RUN_TIMEOUT_MS = 40 * 60_000;

describe.skipIf(skipReason !== null)(`UI: full-resolution overlay of a ${N}² windowed result${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;
  let overviews = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-large-'));
    const t0 = performance.now();
    overviews = await writeLargeRaster(join(dir, 'large.tif'), N, AREA);
    console.log(`ui-large-overlay: ${N}x${N} raster${overviews ? ' with overviews' : ''} written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const models = join(dir, 'models');
    mkdirSync(models, { recursive: true });
    // A 1x1 convolution on big tiles: the run's cost is reading, post-processing and writing, not the model.
    writeModelFolder(models, { ...brightManifest('bright'), tileSize: [1024, 1024], tileOverlap: 0 });
    s = await startSession(models);
  }, RUN_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'draws the overlay at 1:1 from result tiles on the image pixels, selects, pages and pans',
    async () => {
      const { page, host, problems } = s;
      // Inner functions of evaluated code may come wrapped in __name() by the transform: give the page one.
      await page.evaluate('window.__name = window.__name || ((f) => f)');
      host.setNextDialogPath(join(dir, 'large.tif'));
      await page.getByTestId('open-button').click();
      await page.getByTestId('status-size').filter({ hasText: `${N} × ${N}` }).waitFor({ timeout: 300_000 });
      await until(() => readState(page), (v) => v.sliceWindow !== null, 300_000, 'preview');
      await page.getByTestId('model-select').selectOption('bright');
      const t0 = performance.now();
      await page.getByTestId('run-button').click();
      const windowed = await until(
        () => page.evaluate(() => {
          const st = window.__delineateState!();
          return { windowed: st.result?.windowed ?? null, slice: st.resultSlice !== null && st.resultSlice.resultId === st.result?.resultId, job: st.job !== null, error: st.error };
        }),
        (v) => (v.windowed !== null && v.slice) || v.error !== null,
        RUN_TIMEOUT_MS,
        'windowed result',
      );
      expect(windowed.error).toBeNull();
      console.log(`ui-large-overlay: run to first overlay ${((performance.now() - t0) / 1000).toFixed(1)} s, ${windowed.windowed!.instanceCount} objects`);
      // Every rectangle of the raster is one object (none touches another).
      const count = objectCount(AREA);
      expect(windowed.windowed).toMatchObject({ width: N, height: N, instanceCount: count });
      expect((await readState(page)).instanceIds).toEqual([]);

      // The table: the total, and the next page.
      const total = count.toLocaleString('en-US');
      await page.getByTestId('instances-total').filter({ hasText: total }).waitFor();
      await page.getByTestId('page-range').filter({ hasText: `1–100 of ${total}` }).waitFor();
      await page.getByTestId('page-next').click();
      await page.getByTestId('page-range').filter({ hasText: `101–200 of ${total}` }).waitFor();
      await page.getByTestId('instance-row-101').waitFor();
      // Sorted by size, largest first, through the engine host (edge objects cut by the raster border are smaller).
      await page.getByTestId(`sort-areaM2`).or(page.getByTestId('sort-areaHa')).first().click();
      await page.getByTestId('page-range').filter({ hasText: `1–100 of ${total}` }).waitFor();

      // Outlines only: an edge pixel is the class colour exactly, everything else the image.
      await page.getByTestId('overlay-outline').check();
      await page.evaluate(([x, y]) => window.__delineateViewer!.centreOn!(x!, y!, 1), [CORNER.x, CORNER.y]);
      await until(
        () => page.evaluate(() => {
          const t = window.__delineateViewer!.overlayTileStats!;
          return { level: t.level, drawn: t.drawn, inFlight: t.inFlight, received: t.received };
        }),
        (t) => t.level === 0 && t.drawn >= 4 && t.inFlight === 0,
        60_000,
        'level-0 overlay tiles drawn',
      );
      await page.evaluate(() => window.__delineateViewer!.panBy!(0, 0));
      await page.screenshot({ path: join(RESULTS, 'ui-large-overlay.png') });

      // Canvas pixels around the corner against the tile's ids (CSS px = device px here: dpr 1, whole-pixel view).
      const check = await page.evaluate(
        async ([cx, cy]) => {
          const st = window.__delineateState!();
          const tileSize = 512;
          const tx = Math.floor(cx! / tileSize);
          const ty = Math.floor(cy! / tileSize);
          const tile = await window.delineate.resultTile({ resultId: st.result!.resultId, level: 0, x: tx, y: ty, tileSize, z: 0 });
          const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="viewer-canvas"]')!;
          const ctx = canvas.getContext('2d')!;
          // Image pixel (cx, cy) is at the canvas centre (centreOn rounds the translation to whole pixels).
          const ox = Math.round(canvas.clientWidth / 2 - cx!);
          const oy = Math.round(canvas.clientHeight / 2 - cy!);
          const R = 24;
          // The checked square lies inside this one tile (CORNER is chosen so).
          if (Math.floor((cx! - R - 1) / tileSize) !== tx || Math.floor((cx! + R) / tileSize) !== tx || Math.floor((cy! - R - 1) / tileSize) !== ty || Math.floor((cy! + R) / tileSize) !== ty) throw new Error('checked square crosses a tile seam');
          const data = ctx.getImageData(ox + cx! - R, oy + cy! - R, 2 * R, 2 * R).data;
          const idAt = (x: number, y: number) => tile.instances[(y - tile.imageRect[1]) * tile.width + (x - tile.imageRect[0])] ?? 0;
          let mismatches = 0;
          let edges = 0;
          const firstRed: number[] = [];
          const firstEdge: number[] = [];
          for (let j = 0; j < 2 * R; j++) {
            for (let i = 0; i < 2 * R; i++) {
              const x = cx! - R + i;
              const y = cy! - R + j;
              const id = idAt(x, y);
              const edge = id !== 0 && (idAt(x - 1, y) !== id || idAt(x + 1, y) !== id || idAt(x, y - 1) !== id || idAt(x, y + 1) !== id);
              const o = (j * 2 * R + i) * 4;
              const red = data[o] === 255 && data[o + 1] === 0 && data[o + 2] === 0 && data[o + 3] === 255;
              if (edge) edges++;
              if (edge !== red) mismatches++;
              if (j === R + 10 && red && firstRed.length === 0) firstRed.push(x);
              if (j === R + 10 && edge && firstEdge.length === 0) firstEdge.push(x);
            }
          }
          return { mismatches, edges, firstRed: firstRed[0] ?? -1, firstEdge: firstEdge[0] ?? -1, tileLevel: tile.level, selectedBefore: st.selectedId };
        },
        [CORNER.x, CORNER.y],
      );
      expect(check.edges).toBeGreaterThan(40);
      expect(check.mismatches).toBe(0);
      // The outline's first column is the object's first column in the image: on the true pixel boundary.
      expect(check.firstEdge).toBe(CORNER.x);
      expect(check.firstRed).toBe(CORNER.x);

      // A click inside the object selects it through 'result:instance-at' (its record comes along: the box is drawn).
      const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
      await page.mouse.click(box.x + box.width / 2 + 20, box.y + box.height / 2 + 20);
      const picked = await until(
        () => page.evaluate(() => {
          const st = window.__delineateState!();
          return { id: st.selectedId, bbox: st.selectedRecord?.bbox ?? null };
        }),
        (v) => v.id !== null && v.bbox !== null,
        20_000,
        'selection by click',
      );
      expect(picked.bbox).toEqual({ min: [CORNER.x, CORNER.y], max: [CORNER.x + OBJECT_COLS[1] - OBJECT_COLS[0], CORNER.y + OBJECT_ROWS[1] - OBJECT_ROWS[0]] });
      // The selected object's rim is white on the canvas at its corner.
      const rim = await page.evaluate(([cx, cy]) => {
        const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="viewer-canvas"]')!;
        const ox = Math.round(canvas.clientWidth / 2 - cx!);
        const oy = Math.round(canvas.clientHeight / 2 - cy!);
        return Array.from(canvas.getContext('2d')!.getImageData(ox + cx! + 5, oy + cy!, 1, 1).data);
      }, [CORNER.x, CORNER.y]);
      expect(rim).toEqual([255, 255, 255, 255]);

      // A table row click selects and centres its object.
      const rowId = await page.evaluate(() => Number(document.querySelector('[data-testid^="instance-row-"]')!.getAttribute('data-testid')!.replace('instance-row-', '')));
      await page.getByTestId(`instance-row-${rowId}`).click();
      await until(() => page.evaluate(() => window.__delineateState!().selectedId), (id) => id === rowId, 10_000, 'row selection');

      // Pan at 1:1 with the overlay: per-frame draw time (draw + 1-px read-back), as the viewer benchmark measures it.
      await page.evaluate(([x, y]) => window.__delineateViewer!.centreOn!(x!, y!, 1), [CORNER.x, CORNER.y]);
      const frames = await page.evaluate(async () => {
        const v = window.__delineateViewer!;
        const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="viewer-canvas"]')!;
        const ctx = canvas.getContext('2d')!;
        const out: number[] = [];
        for (let i = 0; i < 150; i++) {
          await new Promise((r) => requestAnimationFrame(r));
          const dx = Math.floor(i / 25) % 2 === 0 ? -24 : 24;
          const dy = Math.floor(i / 50) % 2 === 0 ? -8 : 8;
          const t0 = performance.now();
          v.panBy!(dx, dy);
          ctx.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1);
          out.push(performance.now() - t0);
        }
        return out.sort((a, b) => a - b);
      });
      const median = frames[frames.length >> 1]!;
      const overlayStats = await page.evaluate(() => {
        const t = window.__delineateViewer!.overlayTileStats!;
        return { level: t.level, drawn: t.drawn, requested: t.requested.length, painted: t.painted };
      });
      console.log(`ui-large-overlay: pan at 1:1 with overlay tiles: median frame ${median.toFixed(2)} ms, p95 ${frames[Math.floor(frames.length * 0.95)]!.toFixed(2)} ms (${JSON.stringify(overlayStats)})`);
      expect(overlayStats.level).toBe(0);
      // The acceptance target is < 16 ms; twice that fails the test even on loaded shared cores.
      expect(median).toBeLessThan(32);
      expect(problems).toEqual([]);
    },
    RUN_TIMEOUT_MS,
  );
});
