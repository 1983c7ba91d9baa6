// The built `delineate` CLI (bin/delineate.cjs -> dist/cli.cjs): segment, measure and models, with exit codes
// and one-line errors. Builds the CLI bundle first when dist/cli.cjs is missing or older than the sources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { writePng } from '../../main/engine/io/png';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';
import { ensureCliBundle, runCli } from './helpers';


describe('delineate CLI', () => {
  const t = tempDir('delineate-cli-');
  const models = path.join(t.dir, 'models');
  const env = { DELINEATE_MODELS_DIR: models, DELINEATE_USER_MODELS_DIR: path.join(t.dir, 'none') };
  const images = path.join(t.dir, 'images');

  beforeAll(async () => {
    await ensureCliBundle();
    writeModelFolder(models, brightManifest('bright'));
    const px = new Uint8Array(120 * 90).fill(20);
    for (let y = 10; y < 30; y++) for (let x = 10; x < 40; x++) px[y * 120 + x] = 250;
    for (let y = 60; y < 70; y++) for (let x = 80; x < 85; x++) px[y * 120 + x] = 250;
    mkdirSync(images, { recursive: true });
    await writePng(path.join(images, 'one.png'), px, 120, 90, 1);
    await writePng(path.join(images, 'two.png'), px.map((v) => 255 - v), 120, 90, 1);
    writeFileSync(path.join(images, 'broken.png'), 'not a png');
    writeFileSync(path.join(t.dir, 'bad.onnx'), 'garbage bytes');
  });
  afterAll(() => t.cleanup());

  it('models list --json', () => {
    const r = runCli(['models', 'list', '--json'], env);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ id: string; source: string }>).map((m) => [m.id, m.source])).toEqual([['bright', 'builtin']]);
  });

  it('models inspect --json shows inputs, outputs and the manifest', () => {
    const r = runCli(['models', 'inspect', path.join(models, 'bright', 'model.onnx'), '--json'], env);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { onnx: { inputs: Array<{ shape: unknown[] }> }; manifest: { id: string }; problems: string[] };
    expect(report.onnx.inputs[0]!.shape).toEqual(['batch', 1, 'height', 'width']);
    expect(report.manifest.id).toBe('bright');
    const bad = runCli(['models', 'inspect', path.join(t.dir, 'bad.onnx'), '--json'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('segment one image writes the result folder', () => {
    const out = path.join(t.dir, 'out1');
    const r = runCli(['segment', path.join(images, 'one.png'), '--model', 'bright', '--out', out, '--tile', '48', '--overlap', '0.25', '--threads', '1'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['instances.json', 'instances.tif', 'labels.tif', 'measurements.csv', 'overlay.png']);
    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as { instances: Array<{ pixelCount: number }>; inference: { tileSize: number[]; overlap: number } };
    expect(doc.instances.map((i) => i.pixelCount)).toEqual([600, 50]);
    expect(doc.inference).toMatchObject({ tileSize: [48, 48], overlap: 0.25 });
  });

  it('--no-resample keeps a model with a stated resolution at the image resolution', () => {
    writeModelFolder(models, { ...brightManifest('bright-1mm'), resolution: { mmPerPx: 1 } });
    const run = (extra: string[]): { resampled: boolean; resampleFactor?: number[] } => {
      const out = path.join(t.dir, `res${extra.length}`);
      const r = runCli(['segment', path.join(images, 'one.png'), '--model', 'bright-1mm', '--out', out, '--spacing', '0.5,0.5', ...extra], env);
      expect(r.code).toBe(0);
      return (JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as { inference: { resampled: boolean; resampleFactor?: number[] } }).inference;
    };
    expect(run([])).toMatchObject({ resampled: true, resampleFactor: [0.5, 0.5] });
    expect(run(['--no-resample']).resampled).toBe(false);
  });

  it('a bad model is one line and exit 2', () => {
    for (const model of [path.join(t.dir, 'bad.onnx'), 'no-such-model']) {
      const r = runCli(['segment', path.join(images, 'one.png'), '--model', model, '--out', path.join(t.dir, 'x')], env);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^delineate segment: /);
      expect(r.stderr).not.toMatch(/\bat .*\.(c?js|ts):\d+/);
    }
    expect(existsSync(path.join(t.dir, 'x'))).toBe(false);
  });

  it('a folder is a batch: continues past a bad file, summarises, exits 2', () => {
    const out = path.join(t.dir, 'batch');
    const r = runCli(['segment', images, '--model', 'bright', '--out', out, '--batch', '4'], env);
    expect(r.code).toBe(2);
    expect(readdirSync(out).sort()).toEqual(['one', 'two']);
    expect(r.stdout).toMatch(/segmented 2 of 3 inputs into .*; 1 failed/);
    expect(r.stderr).toMatch(/broken\.png: not a valid PNG file/);
  });

  it('usage errors exit 2', () => {
    expect(runCli(['segment', path.join(images, 'one.png'), '--model', 'bright'], env).code).toBe(2);
    expect(runCli(['segment', path.join(images, 'one.png'), '--model', 'bright', '--out', 'o', '--tile', '3'], env).stderr).toMatch(/--tile must be N or WxH/);
    expect(runCli(['segment', path.join(images, 'one.png'), '--model', 'bright', '--out', 'o', '--device', 'tpu'], env).code).toBe(2);
  });

  it('measure writes instances from a label map', () => {
    const out = path.join(t.dir, 'measured');
    const r = runCli(['measure', path.join(images, 'one.png'), path.join(t.dir, 'out1', 'labels.tif'), '--out', out, '--min-size-px', '100', '--connectivity', '4'], env);
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as { instances: Array<{ pixelCount: number; meanIntensity: number }> };
    expect(doc.instances.map((i) => [i.pixelCount, i.meanIntensity])).toEqual([[600, 250]]);
  });
});
