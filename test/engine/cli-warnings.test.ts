// `delineate segment` says when the model does not suit the image: one warning line on stderr per problem (the
// resolution one names the word, both ground resolutions and the factor) and the same {code, message} in
// instances.json `warnings`; the run still goes ahead. Runs the shipped models (models/ of this repository) on a
// generated 300 m GeoTIFF and a colour JPEG, and on the real 300 m Landsat scene of ../shared when it is there. The
// CLI is bundled from the current sources into a private folder first, so a build elsewhere cannot change it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import sharp from 'sharp';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { writePng } from '../../main/engine/io/png';
import { writeCtSlice } from '../fixtures/dicom-writer';
import type { InstancesDocument } from '../../preload/formats';
import { repoRoot, sharedDir, skipNote, tempDir } from './helpers';

const LANDSAT = path.join(sharedDir, 'samples', 'geotiff', 'RGB.byte.tif');
const landsatMissing = !existsSync(LANDSAT);
// Inside the repository, so the bundle finds the app root and the shipped models as dist/cli.cjs does.
const bundle = path.join(repoRoot, '.tmp', `test-cli-warnings-${process.pid}`, 'cli.cjs');
const EXTERNAL = ['electron', 'sharp', 'onnxruntime-node', '@cornerstonejs/codec-openjpeg', '@cornerstonejs/codec-charls', '@cornerstonejs/codec-openjph', '@cornerstonejs/codec-libjpeg-turbo-8bit', 'sql.js', '@itk-wasm/elastix', 'itk-wasm'];

/** Runs the bundled CLI's main() with these arguments (what bin/delineate.cjs does), without blocking the test. */
function delineate(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', 'require(process.argv[1]).main(process.argv.slice(2)).then((c) => process.exit(c))', bundle, ...args], {
      env: { ...process.env, DELINEATE_USER_MODELS_DIR: path.join(path.dirname(bundle), 'no-user-models') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const warningLines = (stderr: string): string[] => stderr.split('\n').filter((l) => /warning/i.test(l));
const readDoc = (out: string): InstancesDocument => JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as InstancesDocument;

/** The resolution warning's line and instances.json entry, checked the same way for the generated and the real scene. */
function expectResolutionWarning(r: { code: number | null; stderr: string }, out: string): void {
  expect(r.code).toBe(0);
  const lines = warningLines(r.stderr);
  expect(lines).toHaveLength(1);
  const line = lines[0]!;
  expect(line).toMatch(/resolution/);
  expect(line).toContain('300 m/px');
  expect(line).toContain('4.8 m/px');
  expect(line).toContain('62.5x coarser');
  const doc = readDoc(out);
  expect(doc.warnings).toHaveLength(1);
  expect(doc.warnings![0]!.code).toBe('resolution');
  // One message: what the terminal said is what the file keeps.
  expect(line.endsWith(doc.warnings![0]!.message)).toBe(true);
}

describe('delineate segment warnings', () => {
  const t = tempDir('delineate-cli-warnings-');
  const scene = path.join(t.dir, 'landsat-like.tif');
  const photo = path.join(t.dir, 'satellite.jpg');

  beforeAll(async () => {
    mkdirSync(path.dirname(bundle), { recursive: true });
    await build({ entryPoints: [path.join(repoRoot, 'main/cli/index.ts')], outfile: bundle, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', external: EXTERNAL });
    // 300 m pixels in UTM 18N, as Landsat quick-looks: 62.5x coarser than the 4.8 m land-cover model.
    const W = 48;
    const H = 40;
    const data = new Uint8Array(W * H * 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < W * H; i++) data[c * W * H + i] = (40 + c * 50 + ((i * 7) % 90)) & 255;
    await writeTiff(scene, { data, width: W, height: H, depth: 1, channels: 3, geometry: { type: 'geo', geotransform: [430000, 300, 0, 4500000, 0, -300], crs: 'EPSG:32618' } });
    const rgb = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 29) % 251;
    await sharp(rgb, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toFile(photo);
  }, 120_000);
  afterAll(() => {
    t.cleanup();
    rmSync(path.dirname(bundle), { recursive: true, force: true });
  });

  it('warns once about resolution on a generated 300 m GeoTIFF and keeps the warning in instances.json', async () => {
    const out = path.join(t.dir, 'out-generated');
    const r = await delineate(['segment', scene, '--model', 'landcover-deepglobe', '--out', out], 300_000);
    expectResolutionWarning(r, out);
    // The time printed is the whole run's (the model's part, in instances.json, is within it).
    const printedS = Number(/tiles, ([\d.]+) s\)/.exec(r.stdout)?.[1]);
    expect(printedS).toBeGreaterThanOrEqual(Number(readDoc(out).inference!.seconds.toFixed(1)));
  }, 300_000);

  it('warns once about channels when the brain model runs on a colour picture, and says nothing more', async () => {
    const out = path.join(t.dir, 'out-photo');
    const r = await delineate(['segment', photo, '--model', 'brain-flair-lgg', '--out', out], 300_000);
    expect(r.code).toBe(0);
    const lines = warningLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/channels: .*MR FLAIR.*colour image with 3 channels/);
    expect(readDoc(out).warnings?.map((w) => w.code)).toEqual(['channels']);
  }, 300_000);

  it('writes no warnings when the model suits the image', async () => {
    const grey = path.join(t.dir, 'grey.png');
    // One grey channel, as the FLAIR slices of the data set (sharp would write a grey buffer as RGB).
    await writePng(grey, new Uint8Array(64 * 64).map((_, i) => 60 + (i % 50)), 64, 64, 1);
    const out = path.join(t.dir, 'out-grey');
    const r = await delineate(['segment', grey, '--model', 'brain-flair-lgg', '--out', out], 300_000);
    expect(r.code).toBe(0);
    expect(warningLines(r.stderr)).toEqual([]);
    expect(readDoc(out).warnings).toBeUndefined();
  }, 300_000);

  it('warns when a folder\'s larger DICOM series could not be opened and a smaller one was segmented instead', async () => {
    // Five slices of one series with slice 3 missing (a gap the reader refuses without "gaps allowed"), and a
    // one-slice series beside it (as a localizer, or one slice of the main series whose UID was damaged): the
    // run is on the small one, and until now nothing said so.
    const dir = path.join(t.dir, 'dicom-gap');
    mkdirSync(dir, { recursive: true });
    const slice = (file: string, z: number, seriesUid: string, k: number, rows: number): void =>
      writeCtSlice(path.join(dir, file), {
        rows,
        columns: rows,
        pixels: new Uint16Array(rows * rows).map((_, i) => (i * 31 + k * 7) % 2000),
        positionMm: [0, 0, z],
        orientation: [1, 0, 0, 0, 1, 0],
        pixelSpacingMm: [0.9, 0.9],
        sliceThicknessMm: 1,
        rescaleIntercept: -1024,
        instanceNumber: k,
        seriesUid,
        studyUid: '1.2.3.77',
        sopInstanceUid: `${seriesUid}.${k}`,
      });
    for (const [k, z] of [[1, 0], [2, 1], [3, 2], [4, 4], [5, 5]] as const) slice(`main-${k}.dcm`, z, '1.2.3.77.1', k, 32);
    slice('scout.dcm', 0, '1.2.3.77.2', 1, 24);
    const out = path.join(t.dir, 'out-dicom-gap');
    const r = await delineate(['segment', dir, '--model', 'brain-flair-lgg', '--out', out], 300_000);
    expect(r.code).toBe(0);
    const lines = warningLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/series: a larger series in this folder \(1\.2\.3\.77\.1\) was not opened: .*gap.*; this is the largest series that could be/);
    const doc = readDoc(out);
    expect(doc.source.depth).toBe(1);
    expect(doc.warnings?.map((w) => w.code)).toEqual(['series']);
    // With gaps allowed the main series opens with the missing slice filled in at its position: that is said on every
    // run too.
    const out2 = path.join(t.dir, 'out-dicom-gap-allowed');
    const r2 = await delineate(['segment', dir, '--allow-gaps', '--model', 'brain-flair-lgg', '--out', out2], 300_000);
    expect(r2.code).toBe(0);
    const lines2 = warningLines(r2.stderr);
    expect(lines2).toHaveLength(1);
    expect(lines2[0]).toMatch(/series: 1 gap\(s\) in the slice positions: about 1 missing slice\(s\).*filled at their positions by linear interpolation.*z = 3, zero-based.*; what is outlined and measured on those planes rests on interpolated images/);
    expect(readDoc(out2).source.depth).toBe(6);
  }, 300_000);

  it('warns when a stack of numbered slices skips numbers', async () => {
    const dir = path.join(t.dir, 'stack-gap');
    mkdirSync(dir, { recursive: true });
    for (const k of [1, 2, 4, 5]) await writePng(path.join(dir, `case_${k}.png`), new Uint8Array(48 * 48).map((_, i) => 60 + ((i + k) % 50)), 48, 48, 1);
    const out = path.join(t.dir, 'out-stack-gap');
    const r = await delineate(['segment', dir, '--stack', '--spacing', '1,1,3', '--model', 'brain-flair-lgg', '--out', out], 300_000);
    expect(r.code).toBe(0);
    const lines = warningLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/series: the slice numbers skip 1 slice\(s\) \(1 between case_2\.png and case_4\.png\); filled at their positions by linear interpolation between the neighbouring slices \(z = 2, zero-based\), so distances and volumes across a gap keep their length/);
    expect(readDoc(out).warnings?.map((w) => w.code)).toEqual(['series']);
    expect(readDoc(out).source.depth).toBe(5);
  }, 300_000);

  it.skipIf(landsatMissing)(`warns about resolution on the 300 m Landsat scene under the 4.8 m land-cover model${skipNote(landsatMissing, `${LANDSAT} is missing`)}`, async () => {
    const out = path.join(t.dir, 'out-landsat');
    const r = await delineate(['segment', LANDSAT, '--model', 'landcover-deepglobe', '--out', out], 900_000);
    expectResolutionWarning(r, out);
  }, 900_000);
});
