// Execution-provider selection (pure, on fake hosts), fallback with recorded reasons, and a real onnxruntime session.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { InputError } from '../../main/engine/image';
import { countPhysicalCores, createOrtRuntime, defaultIntraOpThreads, modelLoadError, openWithFallback, planDevices, type Device, type HostCapabilities } from '../../main/engine/inference/runtime';
import { buildPixelModel } from '../fixtures/onnx-builder';
import { tempDir } from '../fixtures/models';

function host(platform: NodeJS.Platform, arch: string, bundled: string[], missing: Partial<Record<Device, string>> = {}): HostCapabilities {
  return { platform, arch, bundled: new Set(bundled), missingLibrary: (d) => missing[d] ?? null };
}

describe('planDevices', () => {
  it('auto on Linux x64 without CUDA libraries or Vulkan falls to cpu with a reason for each', () => {
    const plan = planDevices('auto', host('linux', 'x64', ['cpu', 'webgpu'], { cuda: 'no CUDA libs', webgpu: 'no Vulkan' }));
    expect(plan.candidates).toEqual(['cpu']);
    expect(plan.skipped).toEqual([
      'cuda: no CUDA libs',
      'dml: DirectML exists only on Windows (this is linux)',
      'coreml: CoreML exists only on macOS (this is linux)',
      'webgpu: no Vulkan',
    ]);
  });

  it('auto on Windows tries cuda, dml, webgpu; on macOS arm64 coreml and webgpu', () => {
    expect(planDevices('auto', host('win32', 'x64', ['cpu', 'dml', 'webgpu', 'cuda'])).candidates).toEqual(['cuda', 'dml', 'webgpu', 'cpu']);
    expect(planDevices('auto', host('darwin', 'arm64', ['cpu', 'coreml', 'webgpu'])).candidates).toEqual(['coreml', 'webgpu', 'cpu']);
  });

  it('an explicit device that cannot exist falls back to cpu', () => {
    const plan = planDevices('coreml', host('linux', 'x64', ['cpu']));
    expect(plan.candidates).toEqual(['cpu']);
    expect(plan.skipped[0]).toMatch(/^coreml: CoreML exists only on macOS/);
    expect(planDevices('cpu', host('linux', 'x64', ['cpu']))).toEqual({ candidates: ['cpu'], skipped: [] });
  });

  it('openWithFallback records a failure and uses the next provider', async () => {
    const tried: Device[] = [];
    const r = await openWithFallback({ candidates: ['webgpu', 'cpu'], skipped: ['cuda: x'] }, async (d) => {
      tried.push(d);
      if (d === 'webgpu') throw new Error('Failed to get a WebGPU adapter\nmore detail');
      return 'session';
    });
    expect(tried).toEqual(['webgpu', 'cpu']);
    expect(r.device).toBe('cpu');
    expect(r.skipped).toEqual(['cuda: x', 'webgpu: Failed to get a WebGPU adapter']);
  });
});

describe('default intra-op threads', () => {
  it('counts physical cores: hardware threads of one core share its (package, core) pair', () => {
    // 4 logical CPUs, 2 cores with 2 threads each (onnxruntime's own default, logical / 2, is right here) ...
    expect(countPhysicalCores([['0', '0'], ['0', '1'], ['0', '0'], ['0', '1']])).toBe(2);
    // ... but 2 vCPUs without SMT are 2 cores, where logical / 2 gives one thread; two sockets count apart.
    expect(countPhysicalCores([['0', '0'], ['0', '1']])).toBe(2);
    expect(countPhysicalCores([['0', '0'], ['1', '0']])).toBe(2);
    expect(countPhysicalCores([])).toBeNull();
  });

  it.runIf(process.platform === 'linux')('on Linux: the sysfs cores, within the CPUs this process may use', () => {
    const n = defaultIntraOpThreads();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(availableParallelism());
  });
});

describe('onnxruntime-node session', () => {
  it('runs a 1x1 conv + sigmoid on cpu with known values', async () => {
    const t = tempDir();
    try {
      const f = path.join(t.dir, 'm.onnx');
      writeFileSync(f, buildPixelModel({ inChannels: 2, weights: [[1, -1]], bias: [0.5], activation: 'sigmoid' }));
      const session = await createOrtRuntime().createSession(f, { device: 'auto', threads: 1 });
      try {
        // This machine has no GPU: auto ends on cpu and says why the others were skipped.
        expect(session.device).toBe('cpu');
        expect(session.skipped.length).toBeGreaterThanOrEqual(3);
        const out = await session.run({ data: Float32Array.from([1, 2, 0, 0]), dims: [1, 2, 1, 2] });
        expect(out.dims).toEqual([1, 1, 1, 2]);
        expect(out.data[0]).toBeCloseTo(1 / (1 + Math.exp(-1.5)), 6);
        expect(out.data[1]).toBeCloseTo(1 / (1 + Math.exp(-2.5)), 6);
      } finally {
        await session.dispose();
      }
    } finally {
      t.cleanup();
    }
  });
});

describe('a model onnxruntime refuses', () => {
  it('is an InputError naming the file and the reason, not an internal error', async () => {
    // Well-formed protobuf (the structural check passes) whose graph reads a tensor nothing produces.
    const t = tempDir();
    try {
      const model = onnx.ModelProto.decode(buildPixelModel({ inChannels: 2, weights: [[1, 0]], activation: 'sigmoid' }));
      model.graph!.node![1]!.input = ['ogits'];
      const f = path.join(t.dir, 'dangling.onnx');
      writeFileSync(f, onnx.ModelProto.encode(model).finish());
      const open = createOrtRuntime().createSession(f, { device: 'cpu', threads: 1 });
      await expect(open).rejects.toBeInstanceOf(InputError);
      await expect(open).rejects.toThrow(/dangling\.onnx: onnxruntime cannot load this model \(.*'ogits'/);
    } finally {
      t.cleanup();
    }
  });

  it('keeps the first line of the reason without onnxruntime source locations; running out of memory passes unchanged', () => {
    const ort = new Error(
      'Load model from /m/model.onnx failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:146 onnxruntime::Model::Model(onnx::ModelProto&&, const PathString&) Unsupported model IR version: 200, max supported IR version: 10\nmore',
    );
    const e = modelLoadError('/m/model.onnx', ort);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toBe('/m/model.onnx: onnxruntime cannot load this model (Unsupported model IR version: 200, max supported IR version: 10)');
    const init = modelLoadError('/m/model.onnx', new Error("tensorprotoutils.cc:35 ValidateEmbeddedTensorProtoDataSizeAndShape Initializer 'W': data field count (2) does not match expected count from shape (3)"));
    expect(init).toBeInstanceOf(InputError);
    expect((init as Error).message).toBe("/m/model.onnx: onnxruntime cannot load this model (Initializer 'W': data field count (2) does not match expected count from shape (3))");
    const other = new Error('std::bad_alloc');
    expect(modelLoadError('/m/model.onnx', other)).toBe(other);
  });
});
