// UI end to end with the shipped models: before Run, the model panel warns when the chosen model was trained at a
// ground resolution far from the image's (300 m pixels under the 4.8 m land-cover model: both resolutions and the
// factor), the picker leaves out a model that cannot read the image (the brain model for a colour satellite JPEG),
// and after a run the time shown is the whole run as the person waited, not only the model's part. Chromium + test
// host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { writePng } from '../../main/engine/io/png';
import { RESULTS, readState, skipReason, startSession, until, type Session } from './ui-helpers';
import { repoRoot } from '../engine/helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const MODELS = join(repoRoot, 'models');
const shipped = readdirSync(MODELS)
  .filter((d) => existsSync(join(MODELS, d, 'manifest.json')))
  .map((d) => JSON.parse(readFileSync(join(MODELS, d, 'manifest.json'), 'utf8')) as { id: string; task: string; kinds: string[]; input: { channels: string[] } })
  // The segmentation picker leaves out the interactive models (task "prompt": they run from clicks, not from Run).
  .filter((m) => m.task !== 'prompt');

describe.skipIf(skipReason !== null)(`UI: is the model right for this image${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let s: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-fit-'));
    const W = 64;
    const rgb = new Uint8Array(W * W * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 251;
    // 300 m pixels in UTM 18N, as the Landsat quick-look of ../shared/samples/geotiff/RGB.byte.tif.
    await writeTiff(join(dir, 'landsat.tif'), { data: rgb, width: W, height: W, depth: 1, channels: 3, geometry: { type: 'geo', geotransform: [430000, 300, 0, 4500000, 0, -300], crs: 'EPSG:32618' } });
    // A colour satellite photo without georeferencing (a plain picture) and a grey MR-like slice.
    const photo = Buffer.alloc(W * W * 3);
    for (let i = 0; i < W * W; i++) {
      photo[3 * i] = 60 + (i % 90);
      photo[3 * i + 1] = 120 + ((i * 3) % 80);
      photo[3 * i + 2] = 40 + ((i * 7) % 60);
    }
    await sharp(photo, { raw: { width: W, height: W, channels: 3 } }).jpeg().toFile(join(dir, 'satellite.jpg'));
    const grey = new Uint8Array(W * W);
    for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) grey[y * W + x] = (x - 32) ** 2 + (y - 32) ** 2 < 400 ? 90 + ((x * y) % 20) : 0;
    await writePng(join(dir, 'flair.png'), grey, W, W, 1);
    s = await startSession(MODELS);
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(file: string, kind: string): Promise<void> {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, file));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-kind').filter({ hasText: kind }).waitFor();
  }

  /** The ids of the models the picker offers (their labels carry licence notes). */
  const options = (): Promise<string[]> => s.page.getByTestId('model-select').locator('option').evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value).sort());

  it('warns about the resolution before Run: 300 m pixels under the 4.8 m and the 10 m land-cover models', async () => {
    const { page } = s;
    await open('landsat.tif', 'geo');
    await page.getByTestId('model-select').selectOption('landcover-deepglobe');
    const warning = page.getByTestId('model-warning').filter({ hasText: 'resolution' });
    await warning.waitFor({ timeout: 20_000 });
    const text = (await warning.textContent()) ?? '';
    expect(text).toContain('300 m/px');
    expect(text).toContain('4.8 m/px');
    expect(text).toContain('62.5x coarser');
    expect(await warning.getAttribute('data-code')).toBe('resolution');
    // Shown before anything ran: no job, no result, and Run still offered (the person decides).
    const st = await readState(page);
    expect(st.job).toBe(false);
    expect(st.resultId).toBeNull();
    expect(await page.getByTestId('run-button').isEnabled()).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'ui-model-fit-resolution.png') });

    await page.getByTestId('model-select').selectOption('landcover-sentinel2-korea');
    await page.getByTestId('model-warning').filter({ hasText: '30x coarser' }).waitFor();
    expect(await page.getByTestId('model-warning').textContent()).toContain('10 m/px');
    expect(s.problems).toEqual([]);
  }, 120_000);

  it('does not offer the brain model for a colour satellite JPEG, and offers it (not the RGB models) for a grey slice', async () => {
    await open('satellite.jpg', 'image');
    const brain = 'brain-flair-lgg';
    const rgbModels = shipped.filter((m) => m.input.channels.length === 3).map((m) => m.id);
    expect(rgbModels).toEqual(expect.arrayContaining(['buildings-joplin', 'landcover-deepglobe', 'landcover-sentinel2-korea']));
    const onPhoto = await until(options, (o) => !o.includes(brain), 20_000, 'brain model left out');
    expect(onPhoto).toEqual(expect.arrayContaining(rgbModels));
    await open('flair.png', 'image');
    // The three-band models cannot read one grey channel.
    const onSlice = await until(options, (o) => !o.some((id) => rgbModels.includes(id)), 20_000, 'RGB models left out');
    expect(onSlice).toContain(brain);
    await s.page.getByTestId('model-select').selectOption(brain);
    expect(await s.page.getByTestId('model-warning').count()).toBe(0);
    expect(s.problems).toEqual([]);
  }, 120_000);

  it('shows the wall time of the whole run, post-processing included', async () => {
    const { page } = s;
    const t0 = Date.now();
    await page.getByTestId('run-button').click();
    await until(() => readState(page), (v) => v.resultId !== null && !v.job, 120_000, 'result');
    const waitedS = (Date.now() - t0) / 1000;
    const run = await page.evaluate(() => {
      const r = window.__delineateState!().result!;
      return { wallSeconds: r.wallSeconds ?? null, modelSeconds: r.document.inference!.seconds };
    });
    expect(run.wallSeconds).not.toBeNull();
    // The whole run: at least what the engine spent, at most what the test waited.
    expect(run.wallSeconds!).toBeGreaterThanOrEqual(run.modelSeconds);
    expect(run.wallSeconds!).toBeLessThanOrEqual(waitedS + 0.05);
    expect(await page.getByTestId('run-seconds').textContent()).toBe(`${run.wallSeconds!.toFixed(1)} s`);
    expect(s.problems).toEqual([]);
  }, 180_000);
});
