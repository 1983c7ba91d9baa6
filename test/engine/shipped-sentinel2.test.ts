// The shipped Sentinel-2 land-cover model through the built CLI on one validation patch
// (../shared/data/landcover-sentinel2-korea; skipped, named, when the data are not there): the 10 m patch runs at
// its own resolution on its own grid, background comes out as label 0 (a model with a background channel and
// explicit class channels once lost it), class areas are 100 m² per pixel, and the labels agree with the reference
// about as well as the shipped model did when this was written (IoU background 0.887, building 0.163, road 0.176,
// field 0.714, forest 0.837, mean 0.555 with the manifest's flips; a broken model, normalisation or class mapping
// scores far lower, and losing the background channel scores 0 on background).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readBand0, repoRoot, sharedDir, tempDir } from './helpers';

const PATCH = '202412_patchN_6';
const MIN_MEAN_IOU = 0.45;
const dataDir = path.join(sharedDir, 'data', 'landcover-sentinel2-korea');
const image = path.join(dataDir, 'images', `${PATCH}.tif`);
const reference = path.join(dataDir, 'labels', `${PATCH.replace('_patchN_', '_mask_')}.tif`);
const manifestFile = path.join(repoRoot, 'models', 'landcover-sentinel2-korea', 'manifest.json');
const splitFile = path.join(repoRoot, 'models', 'training', 'splits', 'sentinel2_val.txt');
const cli = path.join(repoRoot, 'dist', 'cli.cjs');
const skip = !existsSync(image) ? `${image} is missing` : !existsSync(manifestFile) ? 'the shipped Sentinel-2 model is missing' : !existsSync(cli) ? 'dist/ is not built (npm run build)' : null;
if (skip) console.warn(`shipped Sentinel-2 model tests skipped: ${skip}`);

interface ResultDoc {
  source: { width: number; height: number; geotransform?: number[]; crs?: string };
  inference: { resampled?: boolean; testTimeFlips?: string[] };
  classes: Array<{ id: number; name: string; pixelCount: number; areaM2?: number }>;
}

describe.skipIf(skip !== null)(`delineate segment --model landcover-sentinel2-korea${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  const t = tempDir('delineate-sentinel2-');
  let doc: ResultDoc;
  let predicted: { data: ArrayLike<number>; width: number; height: number };

  beforeAll(async () => {
    const out = path.join(t.dir, 'out');
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'delineate.cjs'), 'segment', image, '--model', 'landcover-sentinel2-korea', '--out', out, '--threads', '2'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as ResultDoc;
    predicted = await readBand0(path.join(out, 'labels.tif'));
  }, 180_000);
  afterAll(() => t.cleanup());

  it('keeps the patch grid and measures class areas at 100 m² per pixel', () => {
    expect(readFileSync(splitFile, 'utf8').split('\n').map((l) => l.trim())).toContain(PATCH);
    expect(doc.source.crs).toBe('EPSG:32652');
    expect(doc.source.geotransform?.[1]).toBe(10);
    expect(doc.inference.resampled).toBe(false);
    expect([predicted.width, predicted.height]).toEqual([512, 512]);
    expect(doc.classes.map((c) => c.name)).toEqual(['building', 'road', 'field', 'forest']);
    for (const c of doc.classes) {
      // Ellipsoidal areas differ from the planar 100 m² by the UTM scale factor (well under 1 % here).
      if (c.pixelCount > 0) expect(c.areaM2! / c.pixelCount, c.name).toBeCloseTo(100, -0.5);
    }
  });

  it('agrees with the reference labels, background included', async () => {
    const ref = await readBand0(reference);
    expect([ref.width, ref.height]).toEqual([predicted.width, predicted.height]);
    // Reference 0..4 (0 = background) against predicted labels 0..4 (0 = no class).
    const K = 5;
    const inter = new Float64Array(K);
    const predCount = new Float64Array(K);
    const refCount = new Float64Array(K);
    for (let i = 0; i < ref.data.length; i++) {
      const p = predicted.data[i]!;
      const g = ref.data[i]!;
      expect(p).toBeLessThan(K);
      predCount[p]!++;
      refCount[g]!++;
      if (p === g) inter[p]!++;
    }
    const iou = Array.from(inter, (v, k) => v / (predCount[k]! + refCount[k]! - v));
    console.log(`shipped Sentinel-2 on ${PATCH}: IoU ${iou.map((v) => v.toFixed(3)).join(' / ')} (background, building, road, field, forest)`);
    expect(predCount[0]! / ref.data.length).toBeGreaterThan(0.2);
    expect(iou[0]).toBeGreaterThan(0.8);
    expect(iou[3]).toBeGreaterThan(0.55);
    expect(iou[4]).toBeGreaterThan(0.7);
    const meanIou = iou.reduce((a, b) => a + b, 0) / K;
    expect(meanIou).toBeGreaterThan(MIN_MEAN_IOU);
  });
});
