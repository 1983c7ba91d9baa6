// UI end to end with the models the app ships (models/ of this repository, not test models): the picker offers
// each one for the kinds its manifest accepts (brain on medical volumes, the three geo models on GeoTIFFs, all
// four on a plain picture) with its card's summary, and the Sentinel-2 model runs from the UI on a real 10 m patch
// (../shared/data/landcover-sentinel2-korea; that part is skipped, named, without the data). Chromium + test host +
// the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { writeNifti } from '../../main/engine/io/nifti';
import { RESULTS, readState, skipReason, startSession, until, type Session } from './ui-helpers';
import { repoRoot, sharedDir } from '../engine/helpers';
import { NON_COMMERCIAL_NOTE, isNonCommercialLicense } from '../../main/engine/inference/license';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const MODELS = join(repoRoot, 'models');
// The segmentation picker lists every shipped model but the interactive ones (task "prompt": they run from clicks).
const shipped = readdirSync(MODELS)
  .filter((d) => existsSync(join(MODELS, d, 'manifest.json')))
  .map((d) => JSON.parse(readFileSync(join(MODELS, d, 'manifest.json'), 'utf8')) as { id: string; name: string; version: string; kinds: string[]; task: string; license: string })
  .filter((m) => m.task !== 'prompt');
// A model whose weights are for non-commercial use only says so in the picker.
const label = (m: { name: string; version: string; license: string }): string =>
  `${m.name} ${m.version}${isNonCommercialLicense(m.license) ? ` (${NON_COMMERCIAL_NOTE})` : ''}`;
const labelsFor = (kind: string): string[] => shipped.filter((m) => m.kinds.includes(kind)).map(label).sort();

const S2_PATCH = join(sharedDir, 'data', 'landcover-sentinel2-korea', 'images', '202412_patchN_6.tif');
const s2Skip = existsSync(S2_PATCH) ? null : `${S2_PATCH} is missing`;
if (!skipReason && s2Skip) console.warn(`ui run of the shipped Sentinel-2 model skipped: ${s2Skip}`);

describe.skipIf(skipReason !== null)(`UI: the shipped models in the picker${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-shipped-'));
    const W = 64;
    const rgb = new Uint8Array(W * W * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 251;
    await writeTiff(join(dir, 'scene.tif'), { data: rgb, width: W, height: W, depth: 1, channels: 3, geometry: { type: 'geo', geotransform: [342260, 10, 0, 3847030, 0, -10], crs: 'EPSG:32652' } });
    const vol = new Int16Array(W * W * 8).map((_, i) => (i * 13) % 900);
    await writeNifti(join(dir, 'head.nii.gz'), {
      data: vol,
      width: W,
      height: W,
      depth: 8,
      channels: 1,
      geometry: { type: 'medical', spacingMm: [0.9, 0.9, 5], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] },
    });
    await sharp(Buffer.from(rgb.subarray(0, W * W)), { raw: { width: W, height: W, channels: 1 } }).png().toFile(join(dir, 'slice.png'));
    s = await startSession(MODELS);
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(file: string, kind: string): Promise<string[]> {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, file));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-kind').filter({ hasText: kind }).waitFor();
    return (await page.getByTestId('model-select').locator('option').allTextContents()).sort();
  }

  it('lists the geo models for a GeoTIFF, the brain model for a NIfTI volume, all of them for a picture', async () => {
    expect(shipped.map((m) => m.id).sort()).toEqual(['brain-flair-lgg', 'buildings-joplin', 'landcover-deepglobe', 'landcover-sentinel2-korea']);
    expect(await open('scene.tif', 'geo')).toEqual(labelsFor('geo'));
    expect(labelsFor('geo')).toHaveLength(3);
    expect(await open('head.nii.gz', 'medical')).toEqual(labelsFor('medical'));
    expect(labelsFor('medical')).toEqual([label(shipped.find((m) => m.id === 'brain-flair-lgg')!)]);
    // Trained on CC BY-NC-SA data: the picker says so.
    expect(labelsFor('medical')[0]).toContain('(non-commercial use only)');
    expect(await open('slice.png', 'image')).toEqual(shipped.map(label).sort());
    // The card's summary is the model card's first paragraph: research use, stated up front.
    await s.page.getByTestId('model-select').selectOption('brain-flair-lgg');
    expect(await s.page.getByTestId('model-summary').textContent()).toMatch(/not a medical device/i);
    expect(s.problems).toEqual([]);
  }, 120_000);

  it.skipIf(s2Skip !== null)(`runs the Sentinel-2 model on a 10 m patch and reports class areas in hectares${s2Skip === null ? '' : ` (skipped: ${s2Skip})`}`, async () => {
    const { page, host } = s;
    host.setNextDialogPath(S2_PATCH);
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: '512 × 512' }).waitFor();
    await page.getByTestId('model-select').selectOption('landcover-sentinel2-korea');
    await page.getByTestId('run-button').click();
    await until(() => readState(page), (v) => v.resultId !== null, 120_000, 'result');
    const classes = await page.evaluate(() => window.__delineateState!().result?.document.classes ?? []);
    expect(classes.map((c) => c.name)).toEqual(['building', 'road', 'field', 'forest']);
    const px = (name: string) => classes.find((c) => c.name === name)!.pixelCount;
    const total = 512 * 512;
    // This patch is a third forest and about a third sea or other background (see the model card).
    expect(px('forest') / total).toBeGreaterThan(0.2);
    expect(classes.reduce((a, c) => a + c.pixelCount, 0) / total).toBeLessThan(0.6);
    // Land-cover totals are given in hectares (and so are the objects: one unit per panel).
    expect(await page.getByTestId('class-summary').locator('th').allTextContents()).toEqual(['Class', 'Objects', 'Area (ha)']);
    const forestHa = Number((await page.getByTestId('class-total-4').textContent())?.replace(/,/g, ''));
    expect(forestHa).toBeCloseTo(classes.find((c) => c.name === 'forest')!.areaHa as number, 0);
    expect(forestHa).toBeCloseTo((px('forest') * 100) / 10_000, -1);
    // The class's size range from its calibrated probabilities stands beside the total and brackets it.
    const rangeText = (await page.getByTestId('class-range-4').textContent()) ?? '';
    const [lowHa, highHa] = (/\(([\d,.]+)–([\d,.]+)\)/.exec(rangeText) ?? []).slice(1).map((t) => Number(t.replace(/,/g, '')));
    expect(lowHa).toBeLessThanOrEqual(forestHa);
    expect(highHa).toBeGreaterThanOrEqual(forestHa);
    expect(highHa).toBeGreaterThan(lowHa!);
    await page.getByTestId('fit-button').click();
    await page.screenshot({ path: join(RESULTS, 'ui-shipped-sentinel2.png') });
    expect(s.problems).toEqual([]);
  }, 180_000);
});
