// `delineate prompt` through the built CLI: the contract's flags, ordered clicks, one-line errors with exit 2,
// --point-crs on a GeoTIFF, the SAM-signature pair on the same path, and export of the result like any other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { InstancesDocument } from '../../preload/formats';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { lonLatTransform, pixelToMap } from '../../main/engine/geo/crs';
import type { PromptJson } from '../../main/engine/interactive/prompt';
import { ensureCliBundle, runCli, tempDir, writeTestPng } from './helpers';
import { writeClickModel, writeSamModel } from '../fixtures/prompt-models';


const t = tempDir('delineate-cli-prompt-');
const models = path.join(t.dir, 'models');
const env = { DELINEATE_MODELS_DIR: models, DELINEATE_USER_MODELS_DIR: path.join(t.dir, 'none') };
const png = path.join(t.dir, 'square.png');
const geotiff = path.join(t.dir, 'field.tif');
// UTM 33N, 10 m pixels, top-left corner at (500000, 5000000).
const gt: [number, number, number, number, number, number] = [500000, 10, 0, 5000000, 0, -10];

beforeAll(async () => {
  await ensureCliBundle();
  writeClickModel(models, { id: 'click-threshold' });
  // A first crop that reaches past the parcel, so the per-crop percentiles see both fields.
  writeClickModel(models, { id: 'click-rgb', cropSize: 48, firstCropPx: 48, minCropPx: 48, channels: ['R', 'G', 'B'], kinds: ['geo', 'image'], normalization: { type: 'percentile', pLow: 1, pHigh: 99, scope: 'crop', mask: 'all', clip: [0, 1] } });
  writeSamModel(models, { id: 'sam-test' });
  const px = new Uint8Array(64 * 64).fill(20);
  for (let y = 20; y <= 43; y++) for (let x = 16; x <= 39; x++) px[y * 64 + x] = 255;
  writeTestPng(png, 64, 64, 1, px);
  // A 3-band field: a bright parcel in a dark one.
  const W = 80;
  const rgb = new Uint8Array(3 * W * W).fill(30);
  for (let c = 0; c < 3; c++) for (let y = 30; y < 50; y++) for (let x = 25; x < 55; x++) rgb[c * W * W + y * W + x] = 200;
  await writeTiff(geotiff, { data: rgb, width: W, height: W, depth: 1, channels: 3, geometry: { type: 'geo', geotransform: gt, crs: 'EPSG:32633' } });
}, 120_000);
afterAll(() => t.cleanup());

describe('delineate prompt', () => {
  it('runs clicks in command-line order and writes labels, instances.json and prompt.json', () => {
    const out = path.join(t.dir, 'out');
    const r = runCli(['prompt', png, '--model', 'click-threshold', '--out', out, '--point', '28,30', '--negative=20,24', '--point', '30,32'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 object/);
    const prompt = JSON.parse(readFileSync(path.join(out, 'prompt.json'), 'utf8')) as PromptJson;
    expect(prompt.clicks).toEqual([
      { x: 28, y: 30, positive: true },
      { x: 20, y: 24, positive: false },
      { x: 30, y: 32, positive: true },
    ]);
    expect(prompt.steps).toHaveLength(3);
    expect(typeof prompt.seconds).toBe('number');
    expect(prompt.modelSeconds).toBeGreaterThan(0);
    expect(readdirSync(out).filter((f) => f.startsWith('labels.'))).toEqual(['labels.tif']);
    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as InstancesDocument;
    expect(doc.instances).toHaveLength(1);
    expect(doc.model?.id).toBe('click-threshold');
  });

  it('runs the SAM-signature pair through the same command', () => {
    const out = path.join(t.dir, 'out-sam');
    const r = runCli(['prompt', png, '--model', 'sam-test', '--out', out, '--point', '28,30'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const prompt = JSON.parse(readFileSync(path.join(out, 'prompt.json'), 'utf8')) as PromptJson;
    expect(prompt.model.format).toBe('sam');
    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as InstancesDocument;
    expect(doc.instances).toHaveLength(1);
  });

  it('takes --point-crs map coordinates (same CRS and WGS84) as the pixel they fall in', () => {
    const [mx, my] = pixelToMap(gt, 40 + 0.5, 38 + 0.5);
    const out = path.join(t.dir, 'out-crs');
    const r = runCli(['prompt', geotiff, '--model', 'click-rgb', '--out', out, '--point', `${mx},${my}`, '--point-crs', 'EPSG:32633'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const prompt = JSON.parse(readFileSync(path.join(out, 'prompt.json'), 'utf8')) as PromptJson;
    expect(prompt.clicks).toEqual([{ x: 40, y: 38, positive: true }]);
    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as InstancesDocument;
    // The parcel is 30 x 20 pixels of 10 m: 6 ha.
    expect(doc.instances[0]!.pixelCount).toBe(600);
    expect(doc.instances[0]!.areaHa).toBeGreaterThan(5.9);
    expect(doc.instances[0]!.areaHa).toBeLessThan(6.1);
    // The result is a result folder like segment's: it exports to GeoJSON.
    const json = path.join(t.dir, 'parcel.geojson');
    const e = runCli(['export', out, '--to', 'geojson', '--out', json], env);
    expect(e.stderr).toBe('');
    expect((JSON.parse(readFileSync(json, 'utf8')) as { features: unknown[] }).features).toHaveLength(1);
    const [lon, lat] = lonLatTransform('EPSG:32633').toLonLat(mx, my);
    const r2 = runCli(['prompt', geotiff, '--model', 'click-rgb', '--out', path.join(t.dir, 'out-wgs84'), '--point', `${lon},${lat}`, '--point-crs', 'EPSG:4326'], env);
    expect(r2.code).toBe(0);
    const p2 = JSON.parse(readFileSync(path.join(t.dir, 'out-wgs84', 'prompt.json'), 'utf8')) as PromptJson;
    expect(p2.clicks).toEqual([{ x: 40, y: 38, positive: true }]);
  });

  it.each([
    [['--point', '64,3'], /--point 64,3: x is outside the image \(0\.\.63\)/],
    [['--point', '3,-1'], /y is outside the image/],
    [['--point', '3.5,2'], /whole numbers/],
    [['--point', '3'], /must be x,y or x,y,z/],
    [['--box', '1,2,3'], /--box must be x0,y0,x1,y1/],
    [[], /needs at least one --point/],
    [['--point', '3,3', '--class', '0'], /--class must be a number from 1/],
    [['--point', '3,3', '--point-crs', 'EPSG:4326'], /--point-crs needs a georeferenced image/],
  ])('refuses %j with one line and exit 2', (extra, message) => {
    const r = runCli(['prompt', png, '--model', 'click-threshold', '--out', path.join(t.dir, 'never'), ...(extra as string[])], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message as RegExp);
    expect(existsSync(path.join(t.dir, 'never'))).toBe(false);
  });

  it('refuses a missing image, a missing model and a segmentation-only model with exit 2', () => {
    const missing = runCli(['prompt', path.join(t.dir, 'nope.png'), '--model', 'click-threshold', '--out', path.join(t.dir, 'never'), '--point', '1,1'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.png/);
    const noModel = runCli(['prompt', png, '--out', path.join(t.dir, 'never'), '--point', '1,1'], env);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/interactive-brain-flair: no such model/);
  });
});
