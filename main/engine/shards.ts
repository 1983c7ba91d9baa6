// Scale-out over machines a user already runs (a Kubernetes Indexed Job, a Slurm array): `segment --shard K/N`
// runs every N-th window of the raster's window grid (window i belongs to shard (i mod N) + 1), each read with the
// context its tiles need and run on the whole raster's tile grid (inference/region.ts), and writes a shard folder:
// one deflated file per window (labels, the chosen class's probability, the boundary head, class probabilities on
// request: what the rest of a run needs, on the core's pixels) and `shard.json`, written last, naming the source
// (size, SHA-256), the model (id, version, ONNX SHA-256), the options, K, N and the windows done. `merge` checks that
// the shards belong together, then feeds the stored windows through the SAME code a whole run takes after
// inference (pipeline.segmentImage below the windowed threshold, windowed.segmentWindowed above it), so labels,
// instances (objects across shard borders joined, ids numbered as one run numbers them) and measurements are those
// of one run; labels and instances are then rewritten as Cloud-Optimized GeoTIFFs.
// A list of inputs shards by input instead: input i belongs to shard (i mod N) + 1, and merge gathers the per-input
// result folders as one batch run writes them.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { promisify } from 'node:util';
import type { InstancesDocument } from '../../preload/formats';
import type { ProgressFn } from './service';
import { InputError, type ImageSource } from './image';
import { openImage } from './io';
import { writeFileAtomic } from './io/atomic';
import { convertToCog } from './io/cog';
import { resolveModel, type ResolvedModel } from './inference/manifest';
import type { Device, ModelRuntime } from './inference/runtime';
import { planNormalization } from './inference/normalize';
import { planResample } from './inference/resample';
import { planGlobalGrid, planRegion, RegionScratch } from './inference/region';
import { throwIfAborted } from './inference/tiling';
import { labelArrayFor, type LabelArray } from './postprocess/labels';
import { writeResultFolder } from './export/results';
import { openOptionsOf, openSession, prepareSegment, splitChannel, tileProgress, timedRun, type SegmentOptions } from './segment-setup';
import type { Connectivity } from './postprocess/components';
import { inferWindow, planWindows, windowedNormalizer, segmentWindowed, useWindowed, windowEdgePx, type WindowInference, type WindowPlanes, type WindowSupply } from './windowed';
import { postprocess, segmentImage, type SuppliedPlane } from './pipeline';

const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

export const SHARD_FORMAT = 'delineate-shard/1';
export const SHARD_FILE = 'shard.json';

export interface ShardSpec {
  /** 1-based. */
  k: number;
  n: number;
}

/** "K/N" with whole numbers 1 <= K <= N; anything else is a RangeError with a message for the user. */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(k >= 1) || k > n || n > 100000) throw new RangeError(`--shard must be K/N with whole numbers 1 <= K <= N, got "${text}"`);
  return { k, n };
}

/** Whether item i (window or input, 0-based) belongs to shard K of N. */
export function inShard(i: number, s: ShardSpec): boolean {
  return i % s.n === s.k - 1;
}

/** The options that change a result: shards must agree on them, and merge runs its post-processing with them. */
export interface ShardOptions {
  tileSize?: [number, number];
  overlap?: number;
  batch?: number;
  spacingMm?: number[];
  probabilities?: boolean;
  testTimeFlips?: boolean;
  calibration?: boolean;
  modelPostprocess?: boolean;
  resample?: boolean;
  connectivity?: Connectivity;
  minSizePx?: number;
  windowedMinPx?: number;
  windowPx?: number;
  instanceMaxPx?: number;
}

const OPTION_KEYS: ReadonlyArray<keyof ShardOptions> = ['tileSize', 'overlap', 'batch', 'spacingMm', 'probabilities', 'testTimeFlips', 'calibration', 'modelPostprocess', 'resample', 'connectivity', 'minSizePx', 'windowedMinPx', 'windowPx', 'instanceMaxPx'];

function shardOptions(o: SegmentOptions): ShardOptions {
  const out: Record<string, unknown> = {};
  for (const k of OPTION_KEYS) if (o[k] !== undefined) out[k] = o[k];
  return out as ShardOptions;
}

interface WindowEntry {
  index: number;
  x: number;
  y: number;
  w: number;
  h: number;
  file: string;
  probability: boolean;
  boundary: boolean;
  probBytes: boolean;
  /** Alternative class labels and probability (size ranges), after the rest. */
  alternative?: boolean;
  tiles: number;
  skipped: number;
  skippedTiles: number[];
}

interface ModelRecord {
  /** What to resolve at merge: the id, or the manifest/ONNX path as given. */
  spec: string;
  id: string;
  version: string;
  onnxSha256: string;
}

export interface RasterShardManifest {
  format: typeof SHARD_FORMAT;
  mode: 'raster';
  k: number;
  n: number;
  source: { file: string; sizeBytes: number; sha256: string; width: number; height: number };
  model: ModelRecord;
  options: ShardOptions;
  /** Which path one run takes (decides merge's post-processing). */
  path: 'in-memory' | 'windowed';
  windowPx: number;
  windowCount: number;
  device: Device;
  seconds: number;
  windows: WindowEntry[];
}

export interface FilesShardManifest {
  format: typeof SHARD_FORMAT;
  mode: 'files';
  k: number;
  n: number;
  /** Every input of the whole list, in order, with its result folder name. */
  inputs: Array<{ file: string; name: string }>;
  model: ModelRecord;
  options: ShardOptions;
  /** Indices of the inputs this shard segmented, and those that failed (with why). */
  done: number[];
  failed: Array<{ index: number; message: string }>;
}

export type ShardManifest = RasterShardManifest | FilesShardManifest;

/** SHA-256 of a file, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function modelRecord(spec: string, model: ResolvedModel): Promise<ModelRecord> {
  // A path is kept absolute so a merge started elsewhere finds the same model.
  const exists = await fs.stat(spec).then(
    () => true,
    () => false,
  );
  return { spec: exists ? path.resolve(spec) : spec, id: model.manifest.id, version: model.manifest.version, onnxSha256: await fileSha256(model.onnxPath) };
}

/** Which path one whole run of this image takes (segmentToFolder's rule). */
function wholeRunPath(src: ImageSource, options: SegmentOptions & { model: ResolvedModel }): 'in-memory' | 'windowed' {
  const plan = options.resample === false ? null : planResample(options.model.manifest.resolution, src.geometry, src.width, src.height);
  return useWindowed(src, options, plan ? plan.factor[0] * plan.factor[1] : 1) ? 'windowed' : 'in-memory';
}

function windowBytes(p: WindowPlanes): { bytes: Buffer; probability: boolean; boundary: boolean; probBytes: boolean; alternative: boolean } {
  const parts: Buffer[] = [Buffer.from(p.labels.buffer, p.labels.byteOffset, p.labels.byteLength)];
  if (p.probability) parts.push(Buffer.from(p.probability.buffer, p.probability.byteOffset, p.probability.byteLength));
  if (p.boundary) parts.push(Buffer.from(p.boundary.buffer, p.boundary.byteOffset, p.boundary.byteLength));
  if (p.probBytes) parts.push(Buffer.from(p.probBytes.buffer, p.probBytes.byteOffset, p.probBytes.byteLength));
  const alt = p.alternative;
  if (alt) parts.push(Buffer.from(alt.labels.buffer, alt.labels.byteOffset, alt.labels.byteLength), Buffer.from(alt.probability.buffer, alt.probability.byteOffset, alt.probability.byteLength));
  return { bytes: Buffer.concat(parts), probability: p.probability !== null, boundary: p.boundary !== null, probBytes: p.probBytes !== null, alternative: alt !== null };
}

/**
 * `segment <raster> --shard K/N`: runs this shard's windows and writes the shard folder (shard.json last, so a
 * folder without it is an unfinished shard). A failure or cancel removes what this run wrote.
 */
export async function segmentShard(
  filePath: string,
  outDir: string,
  options: SegmentOptions,
  modelSpec: string,
  shard: ShardSpec,
  onProgress: ProgressFn,
  signal?: AbortSignal,
): Promise<{ manifest: RasterShardManifest; files: string[] }> {
  const started = performance.now();
  const src = await openImage(filePath, openOptionsOf(options));
  const written: string[] = [];
  try {
    if (src.depth !== 1 || src.kind === 'medical') throw new InputError(filePath, '--shard splits 2D rasters by window; give a folder or a list of files to shard volumes by input');
    const model = typeof options.model === 'string' ? await resolveModel(options.model) : options.model;
    const resolved = { ...options, model };
    const runPath = wholeRunPath(src, resolved);
    const prep = await prepareSegment(src, resolved);
    const m = prep.manifest;
    const { width: W, height: H } = src;
    const grid = planGlobalGrid(W, H, prep.tileSize, prep.overlap, prep.resample?.factor ?? null);
    const windowPx = windowEdgePx(resolved);
    const windows = planWindows(W, H, windowPx);
    const mine = windows.map((w, i) => ({ w, i })).filter(({ i }) => inShard(i, shard));
    const totalTiles = mine.reduce((a, { w }) => a + planRegion(grid, w).tiles.length, 0);
    throwIfAborted(signal);
    onProgress({ stage: 'reading', done: 0, total: 1 });
    // The normaliser one run would use: whole-image statistics in memory, the sampled grid when windowed.
    const channels = prep.channels;
    let normalizer;
    if (runPath === 'windowed' || m.normalization.type === 'fixed') {
      normalizer = await windowedNormalizer(src, m.normalization, channels);
    } else {
      const block = await src.read({ channels: Array.from({ length: channels }, (_, c) => c) });
      normalizer = planNormalization(m.normalization, { data: block.data, width: W, height: H, depth: 1, channels, ...(src.nodata !== undefined ? { nodata: src.nodata } : {}) });
    }
    const session = await openSession(prep, resolved);
    const clock = { ms: 0 };
    const entries: WindowEntry[] = [];
    let tilesDone = 0;
    const reportTiles = tileProgress(onProgress, started, Math.max(1, totalTiles));
    try {
      await fs.mkdir(outDir, { recursive: true });
      const inference: WindowInference = {
        src,
        prep,
        grid,
        normalizer,
        run: timedRun(session, clock),
        // The in-memory path keeps probabilities only on request; so does the windowed one.
        keepProbabilities: resolved.probabilities === true,
        ...(resolved.calibration === false ? { calibration: false } : {}),
        signal,
        onTiles: (done) => reportTiles(tilesDone + done),
        scratch: new RegionScratch(),
      };
      for (const { w, i } of mine) {
        throwIfAborted(signal);
        const { planes } = await inferWindow(inference, w);
        tilesDone += planes.tiles;
        const packed = windowBytes(planes);
        const file = `window-${i}.bin`;
        const target = path.join(outDir, file);
        await writeFileAtomic(target, await deflateRawAsync(packed.bytes, { level: 1 }));
        written.push(target);
        entries.push({ index: i, ...w, file, probability: packed.probability, boundary: packed.boundary, probBytes: packed.probBytes, ...(packed.alternative ? { alternative: true } : {}), tiles: planes.tiles, skipped: planes.skipped, skippedTiles: planes.skippedTiles });
      }
    } finally {
      await session.dispose().catch(() => undefined);
    }
    throwIfAborted(signal);
    const stat = await fs.stat(filePath);
    const manifest: RasterShardManifest = {
      format: SHARD_FORMAT,
      mode: 'raster',
      k: shard.k,
      n: shard.n,
      source: { file: path.resolve(filePath), sizeBytes: stat.size, sha256: await fileSha256(filePath), width: W, height: H },
      model: await modelRecord(modelSpec, model),
      options: shardOptions(resolved),
      path: runPath,
      windowPx,
      windowCount: windows.length,
      device: session.device,
      seconds: (performance.now() - started) / 1000,
      windows: entries,
    };
    const manifestPath = path.join(outDir, SHARD_FILE);
    await writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
    written.push(manifestPath);
    onProgress({ stage: 'done', done: 1, total: 1 });
    return { manifest, files: written };
  } catch (err) {
    for (const f of written) await fs.rm(f, { force: true });
    throw err;
  } finally {
    await src.close();
  }
}

// ---------------------------------------------------------------- merge

async function readManifest(dir: string): Promise<ShardManifest> {
  const file = path.join(dir, SHARD_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new InputError(dir, `not a finished shard folder (no ${SHARD_FILE})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InputError(file, 'is not valid JSON');
  }
  const m = parsed as Partial<ShardManifest>;
  if (m.format !== SHARD_FORMAT || (m.mode !== 'raster' && m.mode !== 'files')) throw new InputError(file, `is not a ${SHARD_FORMAT} shard manifest`);
  return m as ShardManifest;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Checks that the folders are the N shards of one job: the same mode, source (or input list), model, options and N,
 * each K exactly once. Throws one InputError naming the first problem.
 */
export async function checkShards(dirs: string[]): Promise<ShardManifest[]> {
  if (dirs.length === 0) throw new InputError('merge', 'give the shard folders to merge');
  const manifests = await Promise.all(dirs.map(readManifest));
  const first = manifests[0]!;
  const firstDir = dirs[0]!;
  manifests.forEach((m, i) => {
    const dir = dirs[i]!;
    if (m.mode !== first.mode) throw new InputError(dir, `is a ${m.mode} shard; ${firstDir} is a ${first.mode} shard`);
    if (m.mode === 'raster' && first.mode === 'raster') {
      if (m.source.sha256 !== first.source.sha256 || m.source.sizeBytes !== first.source.sizeBytes) throw new InputError(dir, `is a shard of ${m.source.file}; ${firstDir} is of ${first.source.file} (different source files)`);
    }
    if (m.mode === 'files' && first.mode === 'files' && !same(m.inputs, first.inputs)) throw new InputError(dir, `shards a different list of inputs than ${firstDir}`);
    if (m.model.id !== first.model.id || m.model.version !== first.model.version || m.model.onnxSha256 !== first.model.onnxSha256) {
      throw new InputError(dir, `ran model ${m.model.id} ${m.model.version}; ${firstDir} ran ${first.model.id} ${first.model.version}${m.model.id === first.model.id ? ' (different ONNX file)' : ''}`);
    }
    if (!same(m.options, first.options)) throw new InputError(dir, `ran with options ${JSON.stringify(m.options)}; ${firstDir} with ${JSON.stringify(first.options)}`);
    if (m.n !== first.n) throw new InputError(dir, `is shard ${m.k}/${m.n}; ${firstDir} is shard ${first.k}/${first.n}`);
  });
  const byK = new Map<number, string>();
  manifests.forEach((m, i) => {
    const other = byK.get(m.k);
    if (other !== undefined) throw new InputError(dirs[i]!, `is shard ${m.k}/${m.n} again (also ${other})`);
    byK.set(m.k, dirs[i]!);
  });
  const missing = Array.from({ length: first.n }, (_, i) => i + 1).filter((k) => !byK.has(k));
  if (missing.length) throw new InputError(firstDir, `shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${first.n}`).join(', ')} missing: merge needs all ${first.n}`);
  return manifests;
}

/** A runtime whose session runs nothing: merge supplies every window, the record keeps the shards' device. */
function suppliedRuntime(device: Device): ModelRuntime {
  return {
    createSession: async (_onnx, o) => ({
      device,
      skipped: [],
      inputName: o.inputName ?? 'input',
      outputName: o.outputName ?? 'output',
      run: () => Promise.reject(new Error('merge runs no model: every window comes from a shard')),
      dispose: async () => undefined,
    }),
  };
}

async function readWindow(dir: string, e: WindowEntry, classCount: number): Promise<WindowPlanes> {
  const file = path.join(dir, e.file);
  const raw = await inflateRawAsync(await fs.readFile(file)).catch(() => {
    throw new InputError(file, 'is damaged (not a deflated window)');
  });
  const px = e.w * e.h;
  const { labels: probe } = labelArrayFor(classCount, 0);
  const labelBytes = px * probe.BYTES_PER_ELEMENT;
  const want = labelBytes + (e.probability ? 4 * px : 0) + (e.boundary ? 4 * px : 0) + (e.probBytes ? classCount * px : 0) + (e.alternative ? labelBytes + 4 * px : 0);
  if (raw.length !== want) throw new InputError(file, `holds ${raw.length} bytes; a ${e.w}x${e.h} window needs ${want}`);
  // Copies: the inflated buffer's offset may not suit a typed array's alignment.
  const slice = (start: number, end: number): ArrayBuffer => raw.buffer.slice(raw.byteOffset + start, raw.byteOffset + end) as ArrayBuffer;
  let at = 0;
  const labels = probe instanceof Uint16Array ? new Uint16Array(slice(0, labelBytes)) : new Uint8Array(slice(0, labelBytes));
  at = labelBytes;
  const take = (on: boolean, bytes: number): ArrayBuffer | null => {
    if (!on) return null;
    const b = slice(at, at + bytes);
    at += bytes;
    return b;
  };
  const p = take(e.probability, 4 * px);
  const b = take(e.boundary, 4 * px);
  const q = take(e.probBytes, classCount * px);
  const al = take(e.alternative === true, labelBytes);
  const ap = take(e.alternative === true, 4 * px);
  const alternative = al && ap ? { labels: probe instanceof Uint16Array ? new Uint16Array(al) : new Uint8Array(al), probability: new Float32Array(ap) } : null;
  return { labels, probability: p ? new Float32Array(p) : null, boundary: b ? new Float32Array(b) : null, probBytes: q ? new Uint8Array(q) : null, alternative, tiles: e.tiles, skipped: e.skipped, skippedTiles: e.skippedTiles };
}

export type MergeOutcome =
  | { mode: 'raster'; document: InstancesDocument; files: string[]; instanceCount: number }
  | { mode: 'files'; files: string[]; failed: Array<{ file: string; message: string }> };

/** `merge <dir>... --out <dir>`: see the file header. Nothing is written when the shards do not belong together. */
export async function mergeShards(dirs: string[], outDir: string, onProgress: ProgressFn): Promise<MergeOutcome> {
  const manifests = await checkShards(dirs);
  const first = manifests[0]!;
  if (first.mode === 'files') return mergeFileShards(dirs, manifests as FilesShardManifest[], outDir);
  const shards = manifests as RasterShardManifest[];
  // Every window exactly once, from the shard that owns it.
  const owner = new Map<number, { dir: string; entry: WindowEntry }>();
  shards.forEach((m, i) => {
    for (const e of m.windows) {
      if (!inShard(e.index, { k: m.k, n: m.n })) throw new InputError(dirs[i]!, `holds window ${e.index}, which belongs to shard ${(e.index % m.n) + 1}/${m.n}`);
      owner.set(e.index, { dir: dirs[i]!, entry: e });
    }
  });
  for (let i = 0; i < first.windowCount; i++) {
    if (!owner.has(i)) throw new InputError(dirs[shards.findIndex((m) => inShard(i, m))] ?? dirs[0]!, `lacks window ${i} of ${first.windowCount}`);
  }
  const src = await openImage(first.source.file, openOptionsOf(first.options));
  try {
    if (src.width !== first.source.width || src.height !== first.source.height) throw new InputError(first.source.file, `is ${src.width}x${src.height}; the shards ran on ${first.source.width}x${first.source.height}`);
    const model = await resolveModel(first.model.spec);
    if (model.manifest.id !== first.model.id || model.manifest.version !== first.model.version || (await fileSha256(model.onnxPath)) !== first.model.onnxSha256) {
      throw new InputError(first.model.spec, `is not the model the shards ran (${first.model.id} ${first.model.version})`);
    }
    const options: SegmentOptions = { ...first.options, model, runtime: suppliedRuntime(first.device) };
    const K = model.manifest.classes.length;
    let files: string[];
    let document: InstancesDocument;
    let instanceCount: number;
    if (first.path === 'windowed') {
      const supply: WindowSupply = async (index, core) => {
        const o = owner.get(index)!;
        const e = o.entry;
        if (e.x !== core.x || e.y !== core.y || e.w !== core.w || e.h !== core.h) throw new InputError(o.dir, `window ${index} is ${e.w}x${e.h} at ${e.x},${e.y}; the grid has ${core.w}x${core.h} at ${core.x},${core.y}`);
        return readWindow(o.dir, e, K);
      };
      const r = await segmentWindowed(src, outDir, options, onProgress, undefined, postprocess, supply);
      files = r.files;
      document = r.outcome.document;
      // The windowed path streams its records to instances.json: the document holds none.
      instanceCount = r.outcome.instanceCount;
    } else {
      const supplied = await assemblePlane(src, owner, model, first.options, K);
      const outcome = await segmentImage(src, options, onProgress, undefined, supplied);
      onProgress({ stage: 'writing', done: 0, total: 1 });
      files = await writeResultFolder(outDir, outcome.document, outcome.rasters);
      document = outcome.document;
      instanceCount = document.instances.length;
    }
    // Labels, instances (and probabilities) as Cloud-Optimized GeoTIFFs: tiled, overviews, IFDs first.
    for (const f of files) if (/(^|[\\/])(labels|instances|probabilities)\.tif$/.test(f)) await convertToCog(f);
    return { mode: 'raster', document, files, instanceCount };
  } finally {
    await src.close();
  }
}

/** The in-memory path's whole-plane arrays from the shards' windows. */
async function assemblePlane(src: ImageSource, owner: Map<number, { dir: string; entry: WindowEntry }>, model: ResolvedModel, options: ShardOptions, K: number): Promise<SuppliedPlane> {
  const W = src.width;
  const plane = W * src.height;
  const { labels } = labelArrayFor(K, plane);
  const probability = new Float32Array(plane);
  const split = splitChannel(model.manifest.outputs) !== null;
  const boundary = split ? new Float32Array(plane) : null;
  const probBytes = options.probabilities ? new Uint8Array(K * plane) : null;
  // Made on the first window that has one (the shards computed it because the run gives sizes a range).
  let alternative: { labels: LabelArray; probability: Float32Array } | null = null;
  const skipped = new Set<number>();
  for (const { dir, entry: e } of owner.values()) {
    const p = await readWindow(dir, e, K);
    for (const t of p.skippedTiles) skipped.add(t);
    for (let y = 0; y < e.h; y++) {
      const s = y * e.w;
      const d = (e.y + y) * W + e.x;
      labels.set(p.labels.subarray(s, s + e.w), d);
      if (p.probability) probability.set(p.probability.subarray(s, s + e.w), d);
      if (boundary && p.boundary) boundary.set(p.boundary.subarray(s, s + e.w), d);
      if (probBytes && p.probBytes) for (let k = 0; k < K; k++) probBytes.set(p.probBytes.subarray(k * e.w * e.h + s, k * e.w * e.h + s + e.w), k * plane + d);
      if (p.alternative) {
        alternative ??= { labels: labelArrayFor(K, plane).labels, probability: new Float32Array(plane) };
        alternative.labels.set(p.alternative.labels.subarray(s, s + e.w), d);
        alternative.probability.set(p.alternative.probability.subarray(s, s + e.w), d);
      }
    }
  }
  return { labels, probability, boundary, probBytes, alternative, tilesSkipped: skipped.size };
}

/** File-list shards: the per-input result folders, gathered into one output as one batch run writes them. */
async function mergeFileShards(dirs: string[], manifests: FilesShardManifest[], outDir: string): Promise<MergeOutcome> {
  const first = manifests[0]!;
  const from = new Map<number, string>();
  manifests.forEach((m, i) => {
    for (const idx of m.done) from.set(idx, dirs[i]!);
  });
  const failed = manifests.flatMap((m) => m.failed);
  // Every input done or failed somewhere; the folders of those done must be there before anything is copied.
  for (let i = 0; i < first.inputs.length; i++) {
    if (!from.has(i) && !failed.some((f) => f.index === i)) throw new InputError(dirs[manifests.findIndex((m) => inShard(i, m))] ?? dirs[0]!, `has no result for input ${first.inputs[i]!.file}`);
  }
  for (const [i, dir] of from) {
    const folder = path.join(dir, first.inputs[i]!.name);
    if (!(await fs.stat(folder).then((s) => s.isDirectory(), () => false))) throw new InputError(folder, 'is missing: the shard says it segmented this input');
  }
  await fs.mkdir(outDir, { recursive: true });
  const files: string[] = [];
  for (const [i, dir] of [...from].sort((a, b) => a[0] - b[0])) {
    const name = first.inputs[i]!.name;
    const target = path.join(outDir, name);
    await fs.rm(target, { recursive: true, force: true });
    await fs.cp(path.join(dir, name), target, { recursive: true });
    files.push(target);
  }
  return { mode: 'files', files, failed: failed.map((f) => ({ file: first.inputs[f.index]?.file ?? String(f.index), message: f.message })) };
}
