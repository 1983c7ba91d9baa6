// Manifest validation (errors name the file and the field), Deepness metadata, the model registry and --model resolution.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { findAppRoot, loadManifest, manifestFromOnnxMetadata, modelRoots, resolveModel, scanModels, validateManifest } from '../../main/engine/inference/manifest';
import { parseOnnx } from '../../main/engine/inference/onnx-meta';
import { InputError } from '../../main/engine/image';
import { buildPixelModel } from '../fixtures/onnx-builder';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

describe('validateManifest', () => {
  it('accepts a complete manifest', () => {
    const m = brightManifest();
    expect(validateManifest(JSON.parse(JSON.stringify(m)), 'manifest.json')).toEqual(m);
  });

  it('keeps test-time flips and component filters', () => {
    const m = { ...JSON.parse(JSON.stringify(brightManifest())), testTimeFlips: ['x', 'y'], testTimeFlipsMinProbability: 0.05, postprocess: { keepLargestComponents: 1, minComponentFraction: 0.1 } } as Record<string, unknown>;
    const v = validateManifest(m, 'manifest.json');
    expect(v.testTimeFlips).toEqual(['x', 'y']);
    expect(v.testTimeFlipsMinProbability).toBe(0.05);
    expect(v.postprocess).toEqual({ keepLargestComponents: 1, minComponentFraction: 0.1 });
  });

  it('reads null optional outputs (threshold, boundary, distance) as not applicable', () => {
    const m = JSON.parse(JSON.stringify(brightManifest())) as Record<string, unknown>;
    m.outputs = { type: 'softmax', threshold: null, backgroundChannel: false, classChannels: [0], boundaryChannel: null, distanceChannel: null };
    const out = validateManifest(m, 'manifest.json').outputs;
    expect(out.threshold).toBeUndefined();
    expect(out.type).toBe('softmax');
    expect(out.classChannels).toEqual([0]);
  });

  const cases: Array<[string, (m: Record<string, unknown>) => void, RegExp]> = [
    ['missing id', (m) => delete m.id, /"id" must be a non-empty string/],
    ['bad task', (m) => (m.task = 'detect'), /"task" must be one of "semantic", "instance", "prompt", got "detect"/],
    ['bad kind', (m) => (m.kinds = ['medical', 'xray']), /"kinds\[1\]" must be one of/],
    ['tile not pair', (m) => (m.tileSize = [64]), /"tileSize" must be \[width, height\]/],
    ['bad colour', (m) => ((m.classes as Array<Record<string, unknown>>)[0]!.color = 'red'), /"classes\[0\].color" must be "#rrggbb"/],
    ['std zero', (m) => (m.normalization = { type: 'fixed', mean: [0], std: [0] }), /"normalization.std\[0\]" must be positive/],
    ['percentile order', (m) => (m.normalization = { type: 'percentile', pLow: 99, pHigh: 1, scope: 'volume' }), /"normalization.pHigh" must be greater than pLow/],
    ['mean count', (m) => (m.normalization = { type: 'fixed', mean: [0, 0], std: [1] }), /"normalization.mean" must have 1 or 1 values/],
    ['overlap range', (m) => (m.tileOverlap = 0.95), /"tileOverlap" must be from 0 to 0.9, got 0.95/],
    ['outputs type', (m) => (m.outputs = { type: 'argmax' }), /"outputs.type" must be one of/],
    ['classChannels count', (m) => (m.outputs = { type: 'softmax', classChannels: [1, 2] }), /"outputs.classChannels" must have one channel per class/],
    ['class on background', (m) => (m.outputs = { type: 'softmax', backgroundChannel: true, classChannels: [0] }), /"outputs.classChannels" maps a class onto channel 0/],
    ['file escapes', (m) => (m.file = '../other/model.onnx'), /"file" must be a path inside the model folder/],
    ['no licence', (m) => delete m.license, /"license" must be a non-empty string/],
    ['unknown flip', (m) => (m.testTimeFlips = ['z']), /"testTimeFlips\[0\]" must be one of "x", "y", "xy", got "z"/],
    ['flip twice', (m) => (m.testTimeFlips = ['x', 'x']), /"testTimeFlips" lists a flip twice/],
    ['flip bound without flips', (m) => (m.testTimeFlipsMinProbability = 0.05), /"testTimeFlipsMinProbability" needs testTimeFlips/],
    ['flip bound out of range', (m) => ((m.testTimeFlips = ['x']), (m.testTimeFlipsMinProbability = 1.5)), /"testTimeFlipsMinProbability"/],
    ['keep zero components', (m) => (m.postprocess = { keepLargestComponents: 0 }), /"postprocess.keepLargestComponents" must be from 1/],
    ['fraction above 1', (m) => (m.postprocess = { minComponentFraction: 1.5 }), /"postprocess.minComponentFraction" must be from 0 to 1/],
    ['unknown post-processing', (m) => (m.postprocess = { fillHoles: true }), /"postprocess.fillHoles" is not a known post-processing step/],
  ];
  for (const [name, mutate, message] of cases) {
    it(`refuses ${name}`, () => {
      const m = JSON.parse(JSON.stringify(brightManifest())) as Record<string, unknown>;
      mutate(m);
      let err: unknown;
      try {
        validateManifest(m, '/models/x/manifest.json');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/^\/models\/x\/manifest\.json: invalid manifest: /);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('refuses a manifest that is not JSON', async () => {
    const t = tempDir();
    try {
      const f = path.join(t.dir, 'manifest.json');
      writeFileSync(f, '{ "id": ');
      await expect(loadManifest(f)).rejects.toThrow(`${f}: invalid manifest: not JSON`);
    } finally {
      t.cleanup();
    }
  });
});

describe('Deepness metadata', () => {
  it('builds a softmax manifest from class_names, resolution (cm/px), tiles_overlap (%), standardization', () => {
    const bytes = buildPixelModel({
      inChannels: 3,
      weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
      activation: 'softmax',
      staticHw: [256, 256],
      metadata: {
        model_type: '"Segmentor"',
        class_names: "{0: 'background', 1: 'road', 2: 'building'}",
        resolution: '20',
        tiles_overlap: '15',
        standardization_mean: '[0.485, 0.456, 0.406]',
        standardization_std: '[0.229, 0.224, 0.225]',
      },
    });
    const m = manifestFromOnnxMetadata(parseOnnx(bytes, '/x/roads.onnx'), '/x/roads.onnx');
    expect(m.id).toBe('roads');
    expect(m.classes.map((c) => c.name)).toEqual(['road', 'building']);
    expect(m.outputs).toMatchObject({ type: 'softmax', backgroundChannel: true });
    expect(m.tileSize).toEqual([256, 256]);
    expect(m.tileOverlap).toBeCloseTo(0.15);
    expect(m.resolution).toEqual({ mPerPx: 0.2 });
    expect(m.input.channels).toEqual(['R', 'G', 'B']);
    if (m.normalization.type !== 'fixed') throw new Error('expected fixed');
    // Deepness divides 8-bit input by 255 first: folded into the stored mean/std.
    expect(m.normalization.mean[0]).toBeCloseTo(0.485 * 255);
    expect(m.normalization.std[2]).toBeCloseTo(0.225 * 255);
  });

  it('uses tiles_size for dynamic models and a sigmoid for one output channel', () => {
    const bytes = buildPixelModel({ inChannels: 3, weights: [[1, 1, 1]], activation: 'sigmoid', metadata: { model_type: 'Segmentor', class_names: '{"0": "tree"}', tiles_size: '384', seg_thresh: '0.3' } });
    const m = manifestFromOnnxMetadata(parseOnnx(bytes, 'trees.onnx'), 'trees.onnx');
    expect(m.tileSize).toEqual([384, 384]);
    expect(m.classes.map((c) => c.name)).toEqual(['tree']);
    expect(m.outputs).toMatchObject({ type: 'sigmoid', threshold: 0.3 });
  });

  it('refuses a model with neither manifest nor metadata, and detectors', () => {
    const plain = parseOnnx(buildPixelModel({ inChannels: 1, weights: [[1]], activation: 'sigmoid' }), 'plain.onnx');
    expect(() => manifestFromOnnxMetadata(plain, 'plain.onnx')).toThrow(/plain\.onnx: no manifest\.json beside the model and no Deepness metadata_props/);
    const det = parseOnnx(buildPixelModel({ inChannels: 1, weights: [[1]], activation: 'sigmoid', metadata: { model_type: 'Detector' } }), 'det.onnx');
    expect(() => manifestFromOnnxMetadata(det, 'det.onnx')).toThrow(/model_type "Detector" is not supported/);
  });
});

describe('registry', () => {
  const t = tempDir();
  const builtin = path.join(t.dir, 'builtin');
  const user = path.join(t.dir, 'user');
  const env = { DELINEATE_MODELS_DIR: builtin, DELINEATE_USER_MODELS_DIR: user };
  beforeAll(() => {
    writeModelFolder(builtin, brightManifest('bright'), undefined, '# Bright\n\n**Research use.** Finds *bright* spots in `grey` images\n([how](docs/how.md)). Second line.\n\nMore.');
    writeModelFolder(user, brightManifest('mine'));
    writeModelFolder(user, { ...brightManifest('broken'), tileSize: 'big' });
    mkdirSync(path.join(user, 'not-a-model'), { recursive: true });
  });
  afterAll(() => t.cleanup());

  it('finds the app root by package name', () => {
    const root = findAppRoot(__dirname);
    expect(root && path.join(root, 'package.json')).toBeTruthy();
    expect(modelRoots({})[0]!.dir).toBe(path.join(root!, 'models'));
  });

  it('scans builtin and user folders, reporting broken manifests without hiding the others', async () => {
    const scan = await scanModels(env);
    expect(scan.models.map((m) => [m.manifest.id, m.source])).toEqual([
      ['bright', 'builtin'],
      ['mine', 'user'],
    ]);
    // The card's first paragraph, as plain text (no markdown marks).
    expect(scan.models[0]!.summary).toBe('Research use. Finds bright spots in grey images (how). Second line.');
    expect(scan.problems).toHaveLength(1);
    expect(scan.problems[0]!.message).toMatch(/broken[\\/]manifest\.json: invalid manifest: "tileSize" must be an array/);
  });

  it('resolves an id, a folder, an .onnx beside its manifest, and reports unknown ids', async () => {
    expect((await resolveModel('bright', env)).onnxPath).toBe(path.join(builtin, 'bright', 'model.onnx'));
    expect((await resolveModel(path.join(user, 'mine'), env)).manifest.id).toBe('mine');
    const beside = await resolveModel(path.join(user, 'mine', 'model.onnx'), env);
    expect(beside.manifestPath).toBe(path.join(user, 'mine', 'manifest.json'));
    expect(beside.source).toBe('file');
    await expect(resolveModel('nope', env)).rejects.toThrow('nope: no such model (installed: bright, mine;');
    await expect(resolveModel('broken', env)).rejects.toThrow(/broken[\\/]manifest\.json: invalid manifest: "tileSize"/);
    await expect(resolveModel('/no/such/model.onnx', env)).rejects.toThrow('/no/such/model.onnx: no such model file or folder');
  });

  it('resolves a bare .onnx with Deepness metadata', async () => {
    const f = path.join(t.dir, 'deep.onnx');
    writeFileSync(f, buildPixelModel({ inChannels: 3, weights: [[0, 0, 0], [1, 1, 1]], activation: 'softmax', metadata: { model_type: 'Segmentor', class_names: '{"0": "bg", "1": "water"}' } }));
    const m = await resolveModel(f, env);
    expect(m.manifestPath).toBeNull();
    expect(m.manifest.classes[0]!.name).toBe('water');
  });
});
