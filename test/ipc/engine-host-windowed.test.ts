// The windowed Run through the real engine host process, as the app runs it (threshold lowered by environment):
// the result comes back marked windowed, its tiles, pages and a pixel edit cross the process boundary, closing removes its
// folder, and a cancel after the first inference progress rejects quickly and leaves no folder. Skips when dist/
// is not built.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EngineHostClient, forkHost } from '../../main/engine/host/client';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

const HOST = join(__dirname, '..', '..', 'dist', 'engine-host.cjs');
const skip = !existsSync(HOST);

const t = tempDir('delineate-host-windowed-');
afterAll(() => t.cleanup());

/** Result folders the host keeps under its temporary folder. */
function kept(tmp: string): string[] {
  return readdirSync(tmp)
    .filter((n) => n.startsWith('delineate-results-'))
    .flatMap((n) => readdirSync(join(tmp, n)));
}

async function raster(file: string, w: number, h: number): Promise<void> {
  const px = new Uint8Array(w * h);
  for (let i = 0; i < px.length; i++) px[i] = 40 + (i % 7);
  for (const [x0, y0, s] of [[20, 20, 30], [200, 100, 50], [w - 60, h - 60, 40]] as const) for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) px[y * w + x] = 220;
  await writeTiff(file, { data: px, width: w, height: h, depth: 1, channels: 1, geometry: { type: 'geo', geotransform: [500000, 1, 0, 5000000, 0, -1], crs: 'EPSG:32633' } });
}

describe.skipIf(skip)(`windowed Run in the engine host process${skip ? ' (skipped: dist/engine-host.cjs is not built, run npm run build)' : ''}`, () => {
  const tmp = join(t.dir, 'host-tmp');
  mkdirSync(tmp);
  const engine = new EngineHostClient({ spawn: forkHost(HOST, [], { TMPDIR: tmp, DELINEATE_WINDOWED_MIN_PX: '1', DELINEATE_AUTOSAVE_DIR: join(t.dir, 'autosave') }) });
  afterAll(() => engine.stop());
  const model = writeModelFolder(join(t.dir, 'models'), brightManifest('bright'));

  it('answers a windowed result; tiles and pages cross the process boundary; close removes the folder', async () => {
    const file = join(t.dir, 'small.tif');
    await raster(file, 400, 300);
    await engine.start();
    const r = await engine.call('segment', [file, { modelId: model, device: 'cpu' }, {}], { jobId: 'run-1' });
    expect(r.windowed).toEqual({ width: 400, height: 300, instanceCount: 3 });
    expect(r.document.instances).toEqual([]);
    expect(kept(tmp)).toHaveLength(1);
    const tile = await engine.call('resultTile', [{ resultId: r.resultId!, level: 0, x: 0, y: 0, tileSize: 256, z: 0 }]);
    expect(tile.instances).toBeInstanceOf(Uint32Array);
    expect(tile.instances.length).toBe(256 * 256);
    const at = await engine.call('resultInstanceAt', [r.resultId!, 30, 30, 0]);
    expect(tile.instances[30 * 256 + 30]).toBe(at!.id);
    const page = await engine.call('resultInstances', [{ resultId: r.resultId!, offset: 0, limit: 10, sort: { key: 'area', descending: true } }]);
    expect(page.instances.map((i) => i.pixelCount)).toEqual([2500, 1600, 900]);
    // A pixel edit (brush into a new object) crosses the boundary too: new id, its pixels in the tiles, its record paged.
    const painted = await engine.call('editResult', [r.resultId!, { op: 'paintStroke', z: 0, points: [[120, 250], [140, 250]], radiusPx: [3, 3], target: { newInstanceOfClass: 1 } }]);
    const made = painted.createdInstanceId!;
    expect(made).toBeGreaterThan(3);
    expect(painted.document.classes[0]!.instanceCount).toBe(4);
    const edited = await engine.call('resultTile', [{ resultId: r.resultId!, level: 0, x: 0, y: 0, tileSize: 256, z: 0 }]);
    expect(edited.revision).toBe(1);
    expect(edited.instances[250 * 256 + 130]).toBe(made);
    expect((await engine.call('resultInstanceAt', [r.resultId!, 130, 250, 0]))?.id).toBe(made);
    const after = await engine.call('resultInstances', [{ resultId: r.resultId!, offset: 0, limit: 10 }]);
    expect(after.instances.map((i) => i.id)).toContain(made);
    await engine.call('undoEdit', [r.resultId!]);
    expect(await engine.call('resultInstanceAt', [r.resultId!, 130, 250, 0])).toBeNull();
    await engine.call('closeResult', [r.resultId!]);
    expect(kept(tmp)).toEqual([]);
  });

  it('a cancel after the first inference progress rejects within a second and leaves no folder', async () => {
    const file = join(t.dir, 'cancel.tif');
    await raster(file, 1500, 1500);
    await engine.start();
    let cancelledAt = 0;
    const run = engine.call('segment', [file, { modelId: model, device: 'cpu' }, {}], {
      jobId: 'run-2',
      onProgress: (p) => {
        if (p.stage === 'inference' && !cancelledAt) {
          cancelledAt = performance.now();
          engine.cancel('run-2');
        }
      },
    });
    await expect(run).rejects.toThrow(/cancel|abort/i);
    const ms = performance.now() - cancelledAt;
    console.log(`windowed Run in the engine host: cancel answered in ${ms.toFixed(0)} ms`);
    expect(cancelledAt).toBeGreaterThan(0);
    expect(ms).toBeLessThan(1000);
    expect(kept(tmp)).toEqual([]);
  });
});
