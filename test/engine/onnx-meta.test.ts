// ONNX ModelProto parsing in JS: shapes, element types, metadata_props; non-ONNX files refused with one clear line.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseOnnx, readOnnxInfo } from '../../main/engine/inference/onnx-meta';
import { InputError } from '../../main/engine/image';
import { buildPixelModel } from '../fixtures/onnx-builder';
import { tempDir } from '../fixtures/models';

describe('parseOnnx', () => {
  it('reads inputs, outputs, opsets and metadata_props', () => {
    const bytes = buildPixelModel({
      inChannels: 3,
      weights: [[1, 0, 0], [0, 1, 0]],
      activation: 'softmax',
      metadata: { model_type: 'Segmentor', class_names: '{"0": "background", "1": "building"}', resolution: '30' },
    });
    const info = parseOnnx(bytes, 'm.onnx');
    expect(info.irVersion).toBe(7);
    expect(info.opsets).toEqual([{ domain: '', version: 13 }]);
    // Initializers W and B are not model inputs.
    expect(info.inputs).toEqual([{ name: 'input', elemType: 'float32', shape: ['batch', 3, 'height', 'width'] }]);
    expect(info.outputs).toEqual([{ name: 'output', elemType: 'float32', shape: ['batch', 2, 'height', 'width'] }]);
    expect(info.nodeCount).toBe(2);
    expect(info.metadata).toEqual({ model_type: 'Segmentor', class_names: '{"0": "background", "1": "building"}', resolution: '30' });
  });

  it('reads static shapes', () => {
    const info = parseOnnx(buildPixelModel({ inChannels: 1, weights: [[1]], activation: 'sigmoid', staticHw: [32, 48], staticBatch: true }), 'm.onnx');
    expect(info.inputs[0]!.shape).toEqual([1, 1, 32, 48]);
  });

  const bad: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array()],
    ['text', new TextEncoder().encode('this is not a model, just some text\n')],
    ['png header', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])],
    ['random', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)],
  ];
  for (const [name, bytes] of bad) {
    it(`refuses ${name} bytes with an InputError naming the file`, () => {
      expect(() => parseOnnx(bytes, '/models/x.onnx')).toThrow(InputError);
      expect(() => parseOnnx(bytes, '/models/x.onnx')).toThrow(/^\/models\/x\.onnx: (not a valid ONNX model|.*empty)/);
    });
  }

  it('refuses a truncated model', () => {
    const bytes = buildPixelModel({ inChannels: 1, weights: [[1]], activation: 'sigmoid' });
    expect(() => parseOnnx(bytes.subarray(0, bytes.length - 20), 'cut.onnx')).toThrow(/cut\.onnx: not a valid ONNX model/);
  });

  it('readOnnxInfo gives one line for a missing file', async () => {
    await expect(readOnnxInfo('/nonexistent/model.onnx')).rejects.toThrow('/nonexistent/model.onnx: no such model file');
  });

  it('readOnnxInfo reads a file', async () => {
    const t = tempDir();
    try {
      const file = path.join(t.dir, 'm.onnx');
      writeFileSync(file, buildPixelModel({ inChannels: 1, weights: [[1]], activation: 'none' }));
      const info = await readOnnxInfo(file);
      expect(info.nodeCount).toBe(1);
    } finally {
      t.cleanup();
    }
  });
});
