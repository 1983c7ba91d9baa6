// The ONLY module that imports onnxruntime-node. Everything else talks to the `ModelRuntime` interface, so
// tests can inject a fake and the engine never depends on the runtime's API. Device selection lives here:
// `auto` tries CUDA, DirectML, CoreML and WebGPU where they can exist, then CPU, recording why each was skipped.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import type { InferenceRecord } from '../../../preload/formats';
import { InputError } from '../image';

export type Device = InferenceRecord['device'];
export type DeviceRequest = Device | 'auto';

export const DEVICE_REQUESTS: readonly DeviceRequest[] = ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'];

/** Float32 NCHW tensor. */
export interface Tensor4 {
  data: Float32Array;
  dims: [number, number, number, number];
}

export interface SessionOptions {
  device: DeviceRequest;
  /** Intra-op threads (default: the machine's physical cores, see defaultIntraOpThreads). */
  threads?: number;
  inputName?: string;
  outputName?: string;
}

/** A loaded model. `run` takes and returns float32 NCHW. */
export interface ModelSession {
  readonly device: Device;
  /** Why each provider tried before `device` was skipped (e.g. "cuda: libonnxruntime_providers_cuda.so not found"). */
  readonly skipped: string[];
  readonly inputName: string;
  readonly outputName: string;
  run(input: Tensor4): Promise<Tensor4>;
  dispose(): Promise<void>;
}

/** A float32 tensor of any rank (prompt models: points, labels, embeddings, sizes). */
export interface NamedTensor {
  data: Float32Array;
  dims: number[];
}

/** A loaded model with several named inputs and outputs (SAM-family decoders); float32 only. */
export interface MultiSession {
  readonly device: Device;
  readonly skipped: string[];
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs with the given feeds; returns the requested outputs (all when `outputs` is left out). */
  run(feeds: Record<string, NamedTensor>, outputs?: readonly string[]): Promise<Record<string, NamedTensor>>;
  dispose(): Promise<void>;
}

export interface ModelRuntime {
  createSession(onnxPath: string, options: SessionOptions): Promise<ModelSession>;
  /** Sessions with several inputs/outputs; optional so single-tensor fakes in tests need not implement it. */
  createMultiSession?(onnxPath: string, options: Pick<SessionOptions, 'device' | 'threads'>): Promise<MultiSession>;
}

// ---------------------------------------------------------------- device selection (pure, unit-tested)

/** What the host offers; injected in tests. */
export interface HostCapabilities {
  platform: NodeJS.Platform;
  arch: string;
  /** onnxruntime backends compiled into this build (listSupportedBackends). */
  bundled: Set<string>;
  /** Checks that the native libraries a provider needs are installed; returns a reason when not. */
  missingLibrary(device: Device): string | null;
}

export interface DevicePlan {
  /** Providers to try, in order; the last is always cpu. */
  candidates: Device[];
  /** Providers ruled out before trying, with the reason. */
  skipped: string[];
}

/** Which providers to try for a request. An explicit device that cannot work falls back to cpu, with the reason. */
export function planDevices(request: DeviceRequest, host: HostCapabilities): DevicePlan {
  const order: Device[] = request === 'auto' ? ['cuda', 'dml', 'coreml', 'webgpu'] : request === 'cpu' ? [] : [request];
  const plan: DevicePlan = { candidates: [], skipped: [] };
  for (const device of order) {
    const reason = unavailableReason(device, host);
    if (reason) plan.skipped.push(`${device}: ${reason}`);
    else plan.candidates.push(device);
  }
  plan.candidates.push('cpu');
  return plan;
}

function unavailableReason(device: Device, host: HostCapabilities): string | null {
  const { platform, arch } = host;
  switch (device) {
    case 'cuda':
      if (!((platform === 'linux' || platform === 'win32') && arch === 'x64')) return `only on Linux/Windows x64 (this is ${platform} ${arch})`;
      break;
    case 'dml':
      if (platform !== 'win32') return `DirectML exists only on Windows (this is ${platform})`;
      break;
    case 'coreml':
      if (platform !== 'darwin') return `CoreML exists only on macOS (this is ${platform})`;
      break;
    case 'webgpu':
    case 'cpu':
      break;
  }
  // onnxruntime names DirectML "dml" and CUDA "cuda" in listSupportedBackends.
  if (device !== 'cpu' && !host.bundled.has(device) && !(device === 'cuda' && platform === 'linux')) {
    return 'not included in this onnxruntime-node build';
  }
  return host.missingLibrary(device);
}

/**
 * Tries the planned providers in order; the first session that opens wins. Failures are recorded, never fatal,
 * because cpu always comes last.
 */
export async function openWithFallback<S>(
  plan: DevicePlan,
  open: (device: Device) => Promise<S>,
): Promise<{ session: S; device: Device; skipped: string[] }> {
  const skipped = [...plan.skipped];
  let lastError: unknown;
  for (const device of plan.candidates) {
    try {
      return { session: await open(device), device, skipped };
    } catch (err) {
      lastError = err;
      // Keep the first line only: onnxruntime messages carry source paths and stack-like detail.
      skipped.push(`${device}: ${String((err as Error).message ?? err).split('\n')[0]!.slice(0, 300)}`);
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

// ---------------------------------------------------------------- threads

/**
 * Physical cores among CPUs given as (package id, core id) pairs, one per logical CPU: hardware threads of one core
 * share the pair. Null when there is nothing to count.
 */
export function countPhysicalCores(cpus: ReadonlyArray<readonly [string, string]>): number | null {
  if (cpus.length === 0) return null;
  return new Set(cpus.map(([pkg, core]) => `${pkg}/${core}`)).size;
}

/** (package id, core id) of each online logical CPU, from Linux's sysfs topology; empty elsewhere or unreadable. */
function linuxCpuTopology(root = '/sys/devices/system/cpu'): Array<[string, string]> {
  try {
    return readdirSync(root)
      .filter((d) => /^cpu\d+$/.test(d))
      .flatMap((d): Array<[string, string]> => {
        const topo = path.join(root, d, 'topology');
        if (!existsSync(path.join(topo, 'core_id'))) return []; // offline CPUs have no topology
        const pkg = existsSync(path.join(topo, 'physical_package_id')) ? readFileSync(path.join(topo, 'physical_package_id'), 'utf8').trim() : '0';
        return [[pkg, readFileSync(path.join(topo, 'core_id'), 'utf8').trim()]];
      });
  } catch {
    return [];
  }
}

let defaultThreads: number | null | undefined;

/**
 * Intra-op threads when the caller names none: the physical cores (Linux: sysfs topology), at most the CPUs this
 * process may use. onnxruntime's own default on Linux halves the logical CPU count, assuming two hardware threads
 * per core, so a machine without them (most cloud VMs, many ARM boards) ran every model on half its cores: on a 2-vCPU
 * machine one thread, 1.36x slower per land-cover tile than two. Elsewhere (Windows, macOS count physical cores
 * properly) onnxruntime's default stays (undefined).
 */
export function defaultIntraOpThreads(): number | undefined {
  if (defaultThreads === undefined) {
    const cores = process.platform === 'linux' ? countPhysicalCores(linuxCpuTopology()) : null;
    defaultThreads = cores === null ? null : Math.max(1, Math.min(cores, availableParallelism()));
  }
  return defaultThreads ?? undefined;
}

// ---------------------------------------------------------------- onnxruntime-node

type Ort = typeof import('onnxruntime-node');

let ortModule: Ort | null = null;
function ort(): Ort {
  // Loaded on first use: listing models or measuring never pays for the native module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ortModule ??= require('onnxruntime-node') as Ort;
  return ortModule;
}

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/local/lib', '/usr/lib/aarch64-linux-gnu'];

function findLibrary(name: string, extraDirs: string[] = []): boolean {
  const dirs = [...extraDirs, ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LIB_DIRS];
  return dirs.some((d) => existsSync(path.join(d, name)));
}

/** The real host: what this onnxruntime-node build bundles and which native libraries are installed. */
export function detectHost(): HostCapabilities {
  const bundled = new Set<string>();
  try {
    for (const b of ort().listSupportedBackends()) if (b.bundled) bundled.add(b.name);
  } catch {
    bundled.add('cpu');
  }
  const ortBin = (() => {
    try {
      return path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
    } catch {
      return '';
    }
  })();
  return {
    platform: process.platform,
    arch: process.arch,
    bundled,
    missingLibrary(device) {
      // Checked before trying so a missing library gives a clear reason instead of onnxruntime's native log spew.
      if (device === 'cuda' && process.platform === 'linux') {
        if (!existsSync(path.join(ortBin, 'libonnxruntime_providers_cuda.so'))) {
          return 'the CUDA provider libraries are not installed (with network access: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node, plus CUDA 12 and cuDNN 9; see docs/inference.md)';
        }
      }
      if (device === 'webgpu' && process.platform === 'linux' && !findLibrary('libvulkan.so.1')) {
        return 'no Vulkan loader (libvulkan.so.1), so no WebGPU adapter';
      }
      return null;
    },
  };
}

const EP_NAME: Record<Device, string> = { cpu: 'cpu', cuda: 'cuda', dml: 'dml', coreml: 'coreml', webgpu: 'webgpu' };

class OrtSession implements ModelSession {
  constructor(
    private readonly session: import('onnxruntime-node').InferenceSession,
    readonly device: Device,
    readonly skipped: string[],
    readonly inputName: string,
    readonly outputName: string,
  ) {}

  async run(input: Tensor4): Promise<Tensor4> {
    const o = ort();
    const feeds = { [this.inputName]: new o.Tensor('float32', input.data, input.dims) };
    const result = await this.session.run(feeds, [this.outputName]);
    const out = result[this.outputName];
    if (!out) throw new Error(`the model produced no output "${this.outputName}"`);
    if (out.type !== 'float32') throw new Error(`output "${this.outputName}" is ${out.type}, expected float32`);
    if (out.dims.length !== 4) throw new Error(`output "${this.outputName}" has rank ${out.dims.length}, expected 4 (NCHW)`);
    const dims = out.dims.map(Number) as [number, number, number, number];
    return { data: out.data as Float32Array, dims };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

class OrtMultiSession implements MultiSession {
  constructor(
    private readonly session: import('onnxruntime-node').InferenceSession,
    readonly device: Device,
    readonly skipped: string[],
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, NamedTensor>, outputs?: readonly string[]): Promise<Record<string, NamedTensor>> {
    const o = ort();
    const tensors: Record<string, import('onnxruntime-node').Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) tensors[name] = new o.Tensor('float32', t.data, t.dims);
    const wanted = outputs ?? this.session.outputNames;
    const result = await this.session.run(tensors, [...wanted]);
    const out: Record<string, NamedTensor> = {};
    for (const name of wanted) {
      const t = result[name];
      if (!t) throw new Error(`the model produced no output "${name}"`);
      if (t.type !== 'float32') throw new Error(`output "${name}" is ${t.type}, expected float32`);
      out[name] = { data: t.data as Float32Array, dims: t.dims.map(Number) };
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * onnxruntime's refusal to open a model file as an InputError naming the file: "Load model from <file> failed:<why>"
 * (a graph that names a missing tensor, an unknown IR version, bytes only its own parser rejects) and the errors of
 * session initialisation (an initializer whose data does not match its shape). Session creation runs on the CPU
 * last (openWithFallback), so what fails there is the file, not a device; running out of memory is not the file's
 * fault and passes unchanged. The reason keeps its first line, without onnxruntime's source locations.
 */
export function modelLoadError(onnxPath: string, err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (/bad_alloc|out of memory|ENOMEM/i.test(message)) return err;
  const why = message
    .split('\n')[0]!
    .replace(/^Load model from .*? failed:\s*/, '')
    // "/onnxruntime_src/.../model.cc:146 onnxruntime::Model::Model(onnx::ModelProto&&, ...) " or "tensorprotoutils.cc:35 Validate... "
    .replace(/(?:\/onnxruntime_src\/)?\S+\.(?:cc|cpp|h):\d+\s+(?:[^\s(]*\([^)]*\)|\S+)\s*/g, '')
    .trim();
  return new InputError(onnxPath, `onnxruntime cannot load this model (${(why || 'no reason given').slice(0, 300)})`);
}

/** onnxruntime-node behind the ModelRuntime interface. */
export function createOrtRuntime(host: HostCapabilities = detectHost()): ModelRuntime {
  const open = async (onnxPath: string, options: Pick<SessionOptions, 'device' | 'threads'>) => {
    const o = ort();
    const plan = planDevices(options.device, host);
    const threads = options.threads ?? defaultIntraOpThreads();
    return openWithFallback(plan, (device) =>
      o.InferenceSession.create(onnxPath, {
        executionProviders: [EP_NAME[device]],
        graphOptimizationLevel: 'all',
        ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
        // Idle intra-op threads sleep instead of spinning: between tiles the engine's own work (blending, labels,
        // decoding, compression) needs the cores, and on a busy 2-core machine a land-cover tile ran 16 % faster.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      }),
    ).catch((err: unknown) => {
      throw modelLoadError(onnxPath, err);
    });
  };
  return {
    async createMultiSession(onnxPath, options) {
      const opened = await open(onnxPath, options);
      return new OrtMultiSession(opened.session, opened.device, opened.skipped);
    },
    async createSession(onnxPath, options) {
      const opened = await open(onnxPath, options);
      const s = opened.session;
      const inputName = options.inputName ?? s.inputNames[0];
      const outputName = options.outputName ?? s.outputNames[0];
      if (!inputName || !s.inputNames.includes(inputName)) throw new Error(`the model has no input "${inputName ?? ''}" (it has ${s.inputNames.join(', ')})`);
      if (!outputName || !s.outputNames.includes(outputName)) throw new Error(`the model has no output "${outputName ?? ''}" (it has ${s.outputNames.join(', ')})`);
      return new OrtSession(s, opened.device, opened.skipped, inputName, outputName);
    },
  };
}
