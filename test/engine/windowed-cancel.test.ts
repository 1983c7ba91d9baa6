// Cancel of a big windowed run (a 20000 x 20000 raster): it rejects within a second, whether the cancel comes
// before the first window, between model calls or during a slow window read, and leaves the output folder as it
// was (no partial result, no temporary or scratch file).
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { segmentWindowed } from '../../main/engine/windowed';
import { postprocess } from '../../main/engine/pipeline';
import { AbortError } from '../../main/engine/inference/tiling';
import type { ImageSource, PixelBlock, Region } from '../../main/engine/image';
import type { ModelManifest } from '../../preload/formats';
import type { ProgressFn } from '../../main/engine/service';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

const t = tempDir('delineate-windowed-cancel-');
afterAll(() => t.cleanup());

const N = 20000;

/** A generated N x N grey geo raster (bright squares on grey); window reads (over 1 Mpx) take `readDelayMs`. */
function generated(readDelayMs = 0, onWindowRead?: (n: number) => void): ImageSource {
  let windowReads = 0;
  return {
    file: 'generated-20000.tif',
    format: 'GeoTIFF',
    kind: 'geo',
    width: N,
    height: N,
    depth: 1,
    channels: 1,
    dtype: 'uint8',
    geometry: { type: 'geo', geotransform: [500000, 1, 0, 5000000, 0, -1], crs: 'EPSG:32633' },
    meta: {},
    async read(r: Region = {}): Promise<PixelBlock> {
      const x0 = r.x ?? 0;
      const y0 = r.y ?? 0;
      const w = r.width ?? N - x0;
      const h = r.height ?? N - y0;
      const data = new Uint8Array(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = (x0 + x) % 300 < 40 && (y0 + y) % 300 < 40 ? 220 : 40;
      if (w * h > 1024 * 1024) {
        onWindowRead?.(++windowReads);
        if (readDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, readDelayMs));
      }
      return { data, width: w, height: h, depth: 1, channels: 1, dtype: 'uint8' };
    },
    close: () => Promise.resolve(),
  };
}

const models = path.join(t.dir, 'models');
const manifest: ModelManifest = { ...brightManifest('bright-256'), tileSize: [256, 256], tileOverlap: 0.25 };
const model = writeModelFolder(models, manifest);

/**
 * Runs a windowed segmentation; `arm` gets the abort function and returns the progress callback (or calls it from
 * elsewhere). Returns the error and how long after the abort the run rejected.
 */
async function cancelled(out: string, src: ImageSource, controller: AbortController, onProgress: ProgressFn, abortedAt: () => number): Promise<{ error: unknown; afterAbortMs: number }> {
  const error = await segmentWindowed(src, out, { model, device: 'cpu', probabilities: true, windowedMinPx: 0 }, onProgress, controller.signal, postprocess).then(
    () => null,
    (err: unknown) => err,
  );
  const at = abortedAt();
  expect(at).toBeGreaterThan(0);
  return { error, afterAbortMs: performance.now() - at };
}

/** An abort controller that remembers when it aborted. */
function timedAbort(): { controller: AbortController; abort: () => void; at: () => number } {
  const controller = new AbortController();
  let at = 0;
  return {
    controller,
    abort: () => {
      if (at) return;
      at = performance.now();
      controller.abort();
    },
    at: () => at,
  };
}

describe('cancel of a 20000 x 20000 windowed run', () => {
  it('at the first progress event: rejects at once and creates no folder', async () => {
    const out = path.join(t.dir, 'first-event');
    const c = timedAbort();
    const r = await cancelled(out, generated(), c.controller, () => c.abort(), c.at);
    console.log(`cancel at the first progress event: rejected ${r.afterAbortMs.toFixed(0)} ms after the abort`);
    expect(r.error).toBeInstanceOf(AbortError);
    expect(r.afterAbortMs).toBeLessThan(1000);
    expect(existsSync(out)).toBe(false);
  });

  it('after the first tiles: rejects within one model call, the existing folder keeps only what it held', async () => {
    const out = path.join(t.dir, 'mid-run');
    mkdirSync(out);
    writeFileSync(path.join(out, 'keep.txt'), 'mine');
    const c = timedAbort();
    // From a timer, as a cancel message arrives: while the window's tiles run.
    const r = await cancelled(out, generated(), c.controller, (p) => {
      if (p.stage === 'inference' && p.done > 0) setTimeout(c.abort, 20);
    }, c.at);
    console.log(`cancel while tiles run: rejected ${r.afterAbortMs.toFixed(0)} ms after the abort`);
    expect(r.error).toBeInstanceOf(AbortError);
    // One model call of a 256 px tile takes milliseconds; the bound is the target, generous for busy machines.
    expect(r.afterAbortMs).toBeLessThan(1000);
    expect(readdirSync(out)).toEqual(['keep.txt']);
  });

  it('during a slow window read: does not wait for the read', async () => {
    const out = path.join(t.dir, 'slow-read');
    const c = timedAbort();
    // Every window read takes 3 s; the cancel comes 100 ms into the second one.
    const src = generated(3000, (n) => {
      if (n === 2) setTimeout(c.abort, 100);
    });
    const r = await cancelled(out, src, c.controller, () => undefined, c.at);
    console.log(`cancel during a 3 s window read: rejected ${r.afterAbortMs.toFixed(0)} ms after the abort`);
    expect(r.error).toBeInstanceOf(AbortError);
    expect(r.afterAbortMs).toBeLessThan(1000);
    expect(existsSync(out)).toBe(false);
  }, 60000);
});
