// Adding the user's own models: a folder model (manifest.json beside the .onnx), a Deepness-only .onnx (metadata
// inside), corrupt or unloadable files refused with the file named and nothing installed, duplicate ids refused,
// and removal limited to user-added models. Real tiny ONNX models, real onnxruntime.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installModel, planAutoDevice, removeUserModel } from '../../main/engine/inference/install';
import { scanModels } from '../../main/engine/inference/manifest';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';
import { buildPixelModel } from '../fixtures/onnx-builder';

let t: { dir: string; cleanup: () => void };
let builtin: string;
let userDir: string;
let picked: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  t = tempDir('delineate-install-');
  builtin = path.join(t.dir, 'shipped');
  userDir = path.join(t.dir, 'userdata', 'models');
  picked = path.join(t.dir, 'downloads');
  mkdirSync(picked, { recursive: true });
  writeModelFolder(builtin, brightManifest('shipped-one'));
  env = { DELINEATE_MODELS_DIR: builtin };
});
afterEach(() => t.cleanup());

const installed = () => (existsSync(userDir) ? readdirSync(userDir) : []);

describe('installModel', () => {
  it('installs a folder model (manifest + card) as <userDir>/<id>/ and lists it as a user model', async () => {
    const src = writeModelFolder(picked, { ...brightManifest('lesions'), name: 'Lesions' }, undefined, '# Lesions\n\nFinds bright lesions.\n');
    const summary = await installModel(path.join(src, 'model.onnx'), { userDir, env });
    expect(summary).toMatchObject({ id: 'lesions', name: 'Lesions', source: 'user', summary: 'Finds bright lesions.' });
    expect(readdirSync(path.join(userDir, 'lesions')).sort()).toEqual(['README.md', 'manifest.json', 'model.onnx']);
    expect(readFileSync(path.join(userDir, 'lesions', 'model.onnx'))).toEqual(readFileSync(path.join(src, 'model.onnx')));
    const scan = await scanModels({ ...env, DELINEATE_USER_MODELS_DIR: userDir });
    expect(scan.models.map((m) => [m.manifest.id, m.source])).toEqual([
      ['shipped-one', 'builtin'],
      ['lesions', 'user'],
    ]);
    expect(scan.problems).toEqual([]);
  });

  it('installs a Deepness-only .onnx (no manifest) with a manifest written from its metadata', async () => {
    const file = path.join(picked, 'trees.onnx');
    writeFileSync(file, buildPixelModel({ inChannels: 3, weights: [[1, 1, 1]], activation: 'sigmoid', metadata: { model_type: 'Segmentor', class_names: '{"0": "tree"}', tiles_size: '128', seg_thresh: '0.3' } }));
    const summary = await installModel(file, { userDir, env });
    expect(summary).toMatchObject({ id: 'trees', source: 'user', classes: [{ name: 'tree' }] });
    const manifest = JSON.parse(readFileSync(path.join(userDir, 'trees', 'manifest.json'), 'utf8')) as { file: string; tileSize: number[]; outputs: { threshold: number } };
    expect(manifest.file).toBe('trees.onnx');
    expect(manifest.tileSize).toEqual([128, 128]);
    expect(manifest.outputs.threshold).toBe(0.3);
    expect(existsSync(path.join(userDir, 'trees', 'trees.onnx'))).toBe(true);
  });

  it('refuses a corrupt .onnx naming the file, and installs nothing', async () => {
    const file = path.join(picked, 'broken.onnx');
    writeFileSync(file, Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251));
    await expect(installModel(file, { userDir, env })).rejects.toThrow(/^broken\.onnx: not a valid ONNX model/);
    expect(installed()).toEqual([]);
  });

  it('refuses a model onnxruntime cannot load even with a valid manifest beside it, and installs nothing', async () => {
    const src = writeModelFolder(picked, brightManifest('cut'));
    const onnx = path.join(src, 'model.onnx');
    const bytes = readFileSync(onnx);
    writeFileSync(onnx, bytes.subarray(0, bytes.length - 40));
    await expect(installModel(onnx, { userDir, env })).rejects.toThrow(/^model\.onnx: onnxruntime cannot load it/);
    expect(installed()).toEqual([]);
  });

  it('refuses an .onnx without manifest or metadata, and files that are not .onnx', async () => {
    const file = path.join(picked, 'bare.onnx');
    writeFileSync(file, buildPixelModel({ inChannels: 1, weights: [[1]], activation: 'sigmoid' }));
    await expect(installModel(file, { userDir, env })).rejects.toThrow(/^bare\.onnx: no manifest\.json beside the model and no Deepness metadata_props/);
    const text = path.join(picked, 'notes.txt');
    writeFileSync(text, 'hello');
    await expect(installModel(text, { userDir, env })).rejects.toThrow(/^notes\.txt: not an \.onnx model file/);
    expect(installed()).toEqual([]);
  });

  it('never overwrites an installed or shipped model of the same id', async () => {
    const first = writeModelFolder(path.join(picked, 'v1'), { ...brightManifest('dup'), version: '1.0.0' });
    await installModel(path.join(first, 'model.onnx'), { userDir, env });
    const before = readFileSync(path.join(userDir, 'dup', 'manifest.json'), 'utf8');
    const second = writeModelFolder(path.join(picked, 'v2'), { ...brightManifest('dup'), version: '2.0.0' });
    await expect(installModel(path.join(second, 'model.onnx'), { userDir, env })).rejects.toThrow(/^model\.onnx: a model with id "dup" \(Bright spots 1\.0\.0\) is already installed; remove it first/);
    expect(readFileSync(path.join(userDir, 'dup', 'manifest.json'), 'utf8')).toBe(before);
    const shipped = writeModelFolder(path.join(picked, 'v3'), brightManifest('shipped-one'));
    await expect(installModel(path.join(shipped, 'model.onnx'), { userDir, env })).rejects.toThrow(/is shipped with the app/);
    // No temporary folders are left behind.
    expect(installed()).toEqual(['dup']);
  });
});

describe('removeUserModel', () => {
  it('removes a user-added model and refuses shipped or unknown ones', async () => {
    const src = writeModelFolder(picked, brightManifest('mine'));
    await installModel(path.join(src, 'model.onnx'), { userDir, env });
    await expect(removeUserModel('shipped-one', { userDir, env })).rejects.toThrow(/shipped models cannot be removed/);
    await expect(removeUserModel('nope', { userDir, env })).rejects.toThrow(/no such installed model/);
    await removeUserModel('mine', { userDir, env });
    expect(installed()).toEqual([]);
    expect(existsSync(path.join(builtin, 'shipped-one', 'model.onnx'))).toBe(true);
  });
});

describe('planAutoDevice', () => {
  it('always ends with cpu and gives a reason for every provider it rules out', () => {
    const plan = planAutoDevice();
    expect(plan.candidates.at(-1)).toBe('cpu');
    for (const s of plan.skipped) expect(s).toMatch(/^(cuda|dml|coreml|webgpu): .+/);
  });
});
