// Parser fuzz harness (used by scripts/fuzz.ts and the vitest smoke test): builds seed files (real samples from
// ../shared/samples when present, plus generated DICOM, NIfTI, GeoTIFF, PNG, ONNX and manifest JSON), mutates
// them deterministically, and runs each case through the REAL engine host process (dist/engine-host.cjs) with a
// per-case timeout and an RSS cap. Outcomes: ok, clean error (InputError), other error (contained, but not one
// of our clean messages), crash (host died in our code), native crash (host killed by a signal from native
// code: onnxruntime, libvips, zlib), hang (timeout), blow-up (RSS over the cap or V8 heap exhausted).

import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { EngineCallError, EngineHostClient, EngineStoppedError, type HostProcess, type SpawnHost } from '../main/engine/host/client';
import type { ToHost } from '../main/engine/host/protocol';
import { encodeNifti } from '../main/engine/io/nifti';
import { writePng } from '../main/engine/io/png';
import { writeTiff } from '../main/engine/io/tiff-writer';
import { writeCtSlice } from '../test/fixtures/dicom-writer';
import { BRIGHT_MODEL, brightManifest } from '../test/fixtures/models';
import { buildPixelModel } from '../test/fixtures/onnx-builder';
import { makeRng, mutate, niftiMutation, type FuzzKind, type Mutation } from './fuzz-mutate';

export type { FuzzKind } from './fuzz-mutate';
export const FUZZ_KINDS: readonly FuzzKind[] = ['dicom', 'dicom-series', 'nifti', 'geotiff', 'png', 'onnx', 'manifest'];

export type Outcome = 'ok' | 'clean-error' | 'other-error' | 'crash' | 'native-crash' | 'hang' | 'blowup';
export const OUTCOMES: readonly Outcome[] = ['ok', 'clean-error', 'other-error', 'crash', 'native-crash', 'hang', 'blowup'];

export interface Seed {
  kind: FuzzKind;
  name: string;
  /** File name extension the case is written with (the reader may look at it). */
  ext: string;
  bytes: Uint8Array;
  /** NIfTI: mutate the uncompressed bytes, then gzip. */
  gzip?: boolean;
  /** DICOM series: every slice of the folder; `bytes` is slice `at`, the one the case mutates. */
  series?: { slices: Uint8Array[]; at: number };
}

export interface FuzzOptions {
  iterations: number;
  seed: number;
  /** Per-case wall time before the host is killed and the case counts as a hang. */
  timeoutMs: number;
  /** RSS of the host above which it is killed and the case counts as a blow-up. */
  rssCapMb: number;
  /** V8 old-space cap of the host (the app uses 4096; smaller here so a runaway shows quickly). */
  heapMb: number;
  hostPath: string;
  samplesDir: string | null;
  kinds: readonly FuzzKind[];
  /** Run only this case id (reproduce a finding). */
  only?: number;
  /** Where failing inputs are kept for reproduction; null: keep none. */
  findingsDir: string | null;
  log?: (line: string) => void;
}

export interface Finding {
  id: number;
  kind: FuzzKind;
  seed: string;
  mutation: string;
  outcome: Outcome;
  detail: string;
  file?: string;
}

export interface FuzzReport {
  cases: number;
  counts: Record<Outcome, number>;
  byKind: Record<FuzzKind, Record<Outcome, number>>;
  findings: Finding[];
  /** Distinct messages of contained non-InputError failures, with counts. */
  otherErrors: Map<string, { count: number; firstCase: number }>;
  peakRssMb: number;
  hostRestarts: number;
  elapsedMs: number;
}

// ---------------------------------------------------------------- seeds

function listSmallFiles(dir: string, maxBytes: number, accept: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && accept(e.name) && statSync(p).size <= maxBytes) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** A plain Uint8Array copy: Buffer#slice shares memory, which would let one case's mutation change the seed. */
function u8(b: Buffer | Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/** Generated seeds (always) plus small real samples (when the shared folder exists), in a stable order. */
export async function makeSeeds(samplesDir: string | null, kinds: readonly FuzzKind[]): Promise<Seed[]> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'delineate-fuzz-seeds-'));
  const seeds: Seed[] = [];
  try {
    if (kinds.includes('dicom')) {
      const w = 24;
      const pixels = new Uint16Array(w * w).map((_, i) => (i * 37) % 4096);
      const file = path.join(tmp, 'ct.dcm');
      writeCtSlice(file, {
        rows: w,
        columns: w,
        pixels,
        positionMm: [0, 0, 0],
        orientation: [1, 0, 0, 0, 1, 0],
        pixelSpacingMm: [0.5, 0.5],
        sliceThicknessMm: 1,
        rescaleIntercept: -1024,
        instanceNumber: 1,
        seriesUid: '1.2.3.4',
        studyUid: '1.2.3',
        sopInstanceUid: '1.2.3.4.5',
      });
      seeds.push({ kind: 'dicom', name: 'generated ct.dcm', ext: '.dcm', bytes: u8(readFileSync(file)) });
      if (samplesDir) {
        for (const f of listSmallFiles(path.join(samplesDir, 'dicom'), 100_000, (n) => !n.endsWith('.tsv') && !n.endsWith('.md'))) {
          seeds.push({ kind: 'dicom', name: path.relative(samplesDir, f), ext: '.dcm', bytes: u8(readFileSync(f)) });
        }
      }
    }
    if (kinds.includes('dicom-series')) {
      // Five slices of one series, 1 mm apart; the case mutates the first, a middle or the last one, so the series
      // assembly (sorting, spacing, consistency) meets one damaged member among good ones.
      const w = 20;
      /** Slice k (at k mm) of series 1.2.3.4.9 as file `name`, numbered `n` (the second volume: n = 6..10). */
      const slice = (name: string, k: number, n: number, seed: [number, number]): Uint8Array => {
        const file = path.join(tmp, name);
        writeCtSlice(file, {
          rows: w,
          columns: w,
          pixels: new Uint16Array(w * w).map((_, i) => (i * seed[0] + k * seed[1]) % 4096),
          positionMm: [0, 0, k],
          orientation: [1, 0, 0, 0, 1, 0],
          pixelSpacingMm: [0.5, 0.5],
          sliceThicknessMm: 1,
          rescaleIntercept: -1024,
          instanceNumber: n,
          seriesUid: '1.2.3.4.9',
          studyUid: '1.2.3.9',
          sopInstanceUid: `1.2.3.4.9.${n}`,
        });
        return u8(readFileSync(file));
      };
      const slices = Array.from({ length: 5 }, (_, k) => slice(`s${k}.dcm`, k, k + 1, [37, 101]));
      for (const at of [0, 2, 4]) seeds.push({ kind: 'dicom-series', name: `generated 5-slice series, slice ${at}`, ext: '', bytes: slices[at]!, series: { slices, at } });
      // Two volumes at each of the five positions (a time series): split into volumes, the first opened.
      const second = Array.from({ length: 5 }, (_, k) => slice(`t${k}.dcm`, k, 6 + k, [31, 7]));
      const twoVolumes = [...slices, ...second];
      for (const at of [3, 7]) seeds.push({ kind: 'dicom-series', name: `generated series of two volumes, slice ${at}`, ext: '', bytes: twoVolumes[at]!, series: { slices: twoVolumes, at } });
      // The same with the slice at 2 mm lost: opened with slices missing, the gap is filled by interpolation.
      const gapped = [slices[0]!, slices[1]!, slices[3]!, slices[4]!];
      for (const at of [1, 2]) seeds.push({ kind: 'dicom-series', name: `generated series with a missing slice, slice ${at}`, ext: '', bytes: gapped[at]!, series: { slices: gapped, at } });
    }
    if (kinds.includes('nifti')) {
      const data = new Int16Array(12 * 10 * 4).map((_, i) => (i * 13) % 500);
      const volume = {
        data,
        width: 12,
        height: 10,
        depth: 4,
        channels: 1,
        geometry: { type: 'medical' as const, spacingMm: [1, 1, 2] as [number, number, number], originMm: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] },
      };
      seeds.push({ kind: 'nifti', name: 'generated vol.nii', ext: '.nii', bytes: u8(encodeNifti(volume, false)) });
      seeds.push({ kind: 'nifti', name: 'generated vol.nii.gz', ext: '.nii.gz', bytes: u8(encodeNifti(volume, false)), gzip: true });
    }
    if (kinds.includes('geotiff')) {
      const geo = { type: 'geo' as const, geotransform: [500000, 10, 0, 4000000, 0, -10] as [number, number, number, number, number, number], crs: 'EPSG:32633' };
      const file = path.join(tmp, 'geo.tif');
      await writeTiff(file, { data: new Uint16Array(40 * 30 * 2).map((_, i) => i % 1000), width: 40, height: 30, depth: 1, channels: 2, geometry: geo }, { tileSize: 16 });
      seeds.push({ kind: 'geotiff', name: 'generated geo.tif', ext: '.tif', bytes: u8(readFileSync(file)) });
      if (samplesDir) {
        for (const f of listSmallFiles(path.join(samplesDir, 'geotiff'), 200_000, (n) => /\.tiff?$/i.test(n))) {
          seeds.push({ kind: 'geotiff', name: path.relative(samplesDir, f), ext: '.tif', bytes: u8(readFileSync(f)) });
        }
      }
    }
    if (kinds.includes('png')) {
      const file = path.join(tmp, 'img.png');
      await writePng(file, new Uint8Array(32 * 24 * 3).map((_, i) => (i * 7) & 255), 32, 24, 3);
      seeds.push({ kind: 'png', name: 'generated img.png', ext: '.png', bytes: u8(readFileSync(file)) });
    }
    if (kinds.includes('onnx')) seeds.push({ kind: 'onnx', name: 'generated bright.onnx', ext: '.onnx', bytes: u8(buildPixelModel(BRIGHT_MODEL)) });
    if (kinds.includes('manifest')) {
      seeds.push({ kind: 'manifest', name: 'generated manifest.json', ext: '.json', bytes: u8(Buffer.from(JSON.stringify(brightManifest('fuzz'), null, 2))) });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return seeds;
}

// ---------------------------------------------------------------- cases

export interface FuzzCase {
  id: number;
  seed: Seed;
  mutation: Mutation;
}

/** 16 MiB of zeros as one gzip member; repeated members make a small file that inflates without end. */
let zeroMember: Uint8Array | null = null;

/** A NIfTI whose header is tiny but whose gzip stream inflates to `mib` MiB (a decompression bomb). */
function niftiBomb(seed: Seed, mib: number): Uint8Array {
  zeroMember ??= u8(gzipSync(Buffer.alloc(16 << 20), { level: 9 }));
  const members: Uint8Array[] = [u8(gzipSync(Buffer.from(seed.bytes)))];
  for (let i = 0; i < mib / 16; i++) members.push(zeroMember);
  return u8(Buffer.concat(members));
}

/** Case `id` of a run: which seed, which mutation; a pure function of (seeds, run seed, id). */
export function makeCase(seeds: readonly Seed[], runSeed: number, id: number): FuzzCase {
  const rng = makeRng((runSeed * 0x9e3779b1) ^ (id * 0x85ebca6b));
  // Kind first, then a seed of that kind: the many DICOM samples must not crowd out the other formats.
  const kinds = [...new Set(seeds.map((s) => s.kind))];
  const kind = rng.pick(kinds);
  const seed = rng.pick(seeds.filter((s) => s.kind === kind));
  let mutation: Mutation;
  if (seed.gzip) {
    const roll = rng.next();
    if (roll < 0.05) mutation = { bytes: niftiBomb(seed, 1024), name: 'nifti-gzip-bomb 1 GiB' };
    else if (roll < 0.7) {
      const m = rng.next() < 0.6 ? niftiMutation(seed.bytes, rng) : mutate('nifti', seed.bytes, rng);
      mutation = { bytes: u8(gzipSync(Buffer.from(m.bytes))), name: `${m.name} (gzipped)` };
    } else {
      mutation = mutate('nifti', u8(gzipSync(Buffer.from(seed.bytes))), rng);
      mutation.name = `${mutation.name} (of the gzip stream)`;
    }
  } else {
    // A few rounds stack mutations the way real corruption does (a bit flip in a truncated file ...).
    mutation = mutate(seed.kind, seed.bytes, rng);
    const rounds = rng.next() < 0.25 ? 1 + rng.int(3) : 0;
    for (let i = 0; i < rounds; i++) {
      const m = mutate(seed.kind, mutation.bytes, rng);
      mutation = { bytes: m.bytes, name: `${mutation.name} + ${m.name}` };
    }
  }
  return { id, seed, mutation };
}

// ---------------------------------------------------------------- host with stderr capture and RSS watch

interface WatchedHost {
  spawn: SpawnHost;
  /** The last exit of a host process: code, signal, stderr tail. */
  lastExit(): { code: number | null; signal: string | null; stderr: string } | null;
  /** Current host child (for kill and RSS). */
  current(): ChildProcess | null;
}

function watchedHost(hostPath: string, heapMb: number, env: NodeJS.ProcessEnv): WatchedHost {
  let child: ChildProcess | null = null;
  let exit: { code: number | null; signal: string | null; stderr: string } | null = null;
  const spawn: SpawnHost = (): HostProcess => {
    let stderr = '';
    const c = fork(hostPath, [], {
      serialization: 'advanced',
      execArgv: [`--max-old-space-size=${heapMb}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env,
    });
    child = c;
    c.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    return {
      get pid() {
        return c.pid;
      },
      send: (m: ToHost) => {
        if (c.connected) c.send(m);
      },
      onMessage: (l) => c.on('message', l),
      onExit: (l) => {
        let fired = false;
        const once = (code: number | null, signal: string | null): void => {
          if (fired) return;
          fired = true;
          exit = { code, signal, stderr };
          l({ code, signal });
        };
        // 'close' waits for stderr to drain, so the tail is complete when we classify.
        c.on('close', once);
        c.on('error', () => once(null, null));
      },
      kill: () => {
        c.kill('SIGKILL');
      },
    };
  };
  return { spawn, lastExit: () => exit, current: () => child };
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------- run

function emptyCounts(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

const NATIVE_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT', 'SIGTRAP']);

/** Runs the cases; never throws for a case, only for a harness failure (no host bundle, host will not start). */
export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const log = o.log ?? (() => undefined);
  if (!existsSync(o.hostPath)) throw new Error(`${o.hostPath} is missing: run npm run build first`);
  const seeds = await makeSeeds(o.samplesDir, o.kinds);
  if (seeds.length === 0) throw new Error('no seeds for the chosen kinds');
  const work = mkdtempSync(path.join(tmpdir(), 'delineate-fuzz-'));
  // A small image for the model cases: they exercise the model/manifest path, not the image reader.
  const imagePath = path.join(work, 'image.png');
  await writePng(imagePath, new Uint8Array(48 * 40).map((_, i) => (i % 48 > 24 ? 220 : 20)), 48, 40, 1);
  const goodOnnx = buildPixelModel(BRIGHT_MODEL);
  const goodManifest = JSON.stringify(brightManifest('fuzz'));
  // A good one-channel model for the image cases: an image that opens and renders is also segmented, so the whole
  // read, inference, post-processing and measurement path meets the corrupt input (an RGB image is refused cleanly).
  const modelDir = path.join(work, 'bright-model');
  mkdirSync(modelDir);
  writeFileSync(path.join(modelDir, 'model.onnx'), goodOnnx);
  writeFileSync(path.join(modelDir, 'manifest.json'), goodManifest);

  // No user or shipped models: only the model folders the cases name. Decoded-size limit lowered so the limit
  // checks are what stops the bombs (the app default is larger); the RSS cap then catches any that slip past.
  const env: NodeJS.ProcessEnv = { ...process.env, DELINEATE_MODELS_DIR: path.join(work, 'no-models'), DELINEATE_MAX_DECODED_MB: '512' };
  delete env.DELINEATE_USER_MODELS_DIR;
  const host = watchedHost(o.hostPath, o.heapMb, env);
  const engine = new EngineHostClient({ spawn: host.spawn, startTimeoutMs: 60_000 });
  await engine.start();

  const report: FuzzReport = {
    cases: 0,
    counts: emptyCounts(),
    byKind: Object.fromEntries(FUZZ_KINDS.map((k) => [k, emptyCounts()])) as Record<FuzzKind, Record<Outcome, number>>,
    findings: [],
    otherErrors: new Map(),
    peakRssMb: 0,
    hostRestarts: 0,
    elapsedMs: 0,
  };
  if (o.findingsDir) mkdirSync(o.findingsDir, { recursive: true });

  const ids = o.only !== undefined ? [o.only] : Array.from({ length: o.iterations }, (_, i) => i);
  try {
    for (const id of ids) {
      const c = makeCase(seeds, o.seed, id);
      const { outcome, detail } = await runCase(c);
      report.cases++;
      report.counts[outcome]++;
      report.byKind[c.seed.kind][outcome]++;
      if (outcome === 'other-error') {
        const key = `${c.seed.kind}: ${detail}`;
        const seen = report.otherErrors.get(key);
        report.otherErrors.set(key, { count: (seen?.count ?? 0) + 1, firstCase: seen?.firstCase ?? id });
      }
      if (outcome !== 'ok' && outcome !== 'clean-error' && outcome !== 'other-error') {
        const finding: Finding = { id, kind: c.seed.kind, seed: c.seed.name, mutation: c.mutation.name, outcome, detail };
        if (o.findingsDir) {
          finding.file = path.join(o.findingsDir, `case-${o.seed}-${id}${c.seed.ext}`);
          writeFileSync(finding.file, c.mutation.bytes);
        }
        report.findings.push(finding);
        log(`case ${id} [${c.seed.kind}] ${c.seed.name} / ${c.mutation.name}: ${outcome}: ${detail}`);
      } else if (o.only !== undefined) {
        log(`case ${id} [${c.seed.kind}] ${c.seed.name} / ${c.mutation.name}: ${outcome}${detail ? `: ${detail}` : ''}`);
      }
    }
  } finally {
    await engine.stop();
    rmSync(work, { recursive: true, force: true });
  }
  report.elapsedMs = Date.now() - started;
  return report;

  /** Writes the case, runs its engine calls under the timeout and RSS watch, and classifies what happened. */
  async function runCase(c: FuzzCase): Promise<{ outcome: Outcome; detail: string }> {
    const dir = path.join(work, `case-${c.id}`);
    mkdirSync(dir);
    let killedFor = null as 'hang' | 'blowup' | null;
    let peak = 0;
    const pid = engine.pid;
    const watch = setInterval(() => {
      const mb = rssMb(pid);
      peak = Math.max(peak, mb);
      if (mb > o.rssCapMb && killedFor === null) {
        killedFor = 'blowup';
        host.current()?.kill('SIGKILL');
      }
    }, 20);
    const timer = setTimeout(() => {
      if (killedFor === null) {
        killedFor = 'hang';
        host.current()?.kill('SIGKILL');
      }
    }, o.timeoutMs);
    try {
      await callsFor(c, dir);
      return { outcome: 'ok', detail: '' };
    } catch (err) {
      if (err instanceof EngineStoppedError) {
        // Let 'close' deliver the exit (stderr tail) before classifying.
        await new Promise((r) => setTimeout(r, 50));
        const exit = host.lastExit();
        const tail = (exit?.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
        const whole = exit?.stderr ?? '';
        report.hostRestarts++;
        await engine.restart();
        if (killedFor === 'hang') return { outcome: 'hang', detail: `no answer within ${o.timeoutMs} ms` };
        if (killedFor === 'blowup') return { outcome: 'blowup', detail: `RSS over ${o.rssCapMb} MiB` };
        if (/heap out of memory|Allocation failed|invalid array length|invalid size error|ArrayBuffer allocation failed/i.test(whole)) return { outcome: 'blowup', detail: `V8 heap exhausted: ${tail}` };
        if (exit?.signal && NATIVE_SIGNALS.has(exit.signal)) return { outcome: 'native-crash', detail: `${exit.signal}: ${tail || 'no output'}` };
        return { outcome: 'crash', detail: `${exit?.signal ?? `exit ${String(exit?.code)}`}: ${tail || err.message}` };
      }
      if (err instanceof EngineCallError) {
        if (err.name === 'InputError') return { outcome: 'clean-error', detail: err.message };
        // Normalise numbers and paths so one bug is one line in the report.
        const msg = `${err.name}: ${err.message}`.replace(work, '<work>').replace(/\d+/g, 'N').slice(0, 160);
        return { outcome: 'other-error', detail: msg };
      }
      throw err;
    } finally {
      clearTimeout(timer);
      clearInterval(watch);
      report.peakRssMb = Math.max(report.peakRssMb, peak);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async function callsFor(c: FuzzCase, dir: string): Promise<void> {
    const bytes = c.mutation.bytes;
    if (c.seed.kind === 'onnx' || c.seed.kind === 'manifest') {
      writeFileSync(path.join(dir, 'model.onnx'), c.seed.kind === 'onnx' ? bytes : goodOnnx);
      writeFileSync(path.join(dir, 'manifest.json'), c.seed.kind === 'manifest' ? bytes : goodManifest);
      // By folder: manifest validation, the JS ONNX parser, then onnxruntime on whatever passed both.
      await engine.call('segment', [imagePath, { modelId: dir }]);
      return;
    }
    let file = path.join(dir, `case${c.seed.ext}`);
    if (c.seed.series) {
      file = path.join(dir, 'series');
      mkdirSync(file);
      c.seed.series.slices.forEach((s, k) => writeFileSync(path.join(file, `slice-${k}.dcm`), k === c.seed.series!.at ? bytes : s));
    } else writeFileSync(file, bytes);
    if (c.seed.series) {
      // Strict first (a damaged position is a gap the reader refuses), then as "Open with slices missing", where
      // whole-step gaps are filled by interpolation: that path must hold as well.
      try {
        await engine.call('info', [file]);
      } catch (err) {
        if (!(err instanceof Error) || err.name !== 'InputError') throw err;
      }
      const gaps = { allowGaps: true };
      const info = await engine.call('info', [file, gaps]);
      await engine.call('slice', [file, { z: Math.floor(info.depth / 2), maxSize: 256 }, gaps]);
      await engine.call('segment', [file, { modelId: modelDir }, gaps]);
      return;
    }
    const info = await engine.call('info', [file]);
    await engine.call('slice', [file, { z: Math.floor(info.depth / 2), maxSize: 256 }]);
    await engine.call('segment', [file, { modelId: modelDir }]);
  }
}

/** Our code is at fault for crashes, hangs and blow-ups; native crashes are counted apart. */
export function failuresInOurCode(r: FuzzReport): number {
  return r.counts.crash + r.counts.hang + r.counts.blowup;
}

export function formatReport(r: FuzzReport, o: Pick<FuzzOptions, 'iterations' | 'seed'>): string {
  const lines: string[] = [];
  const head = ['kind', ...OUTCOMES];
  const row = (name: string, c: Record<Outcome, number>) => [name, ...OUTCOMES.map((k) => String(c[k]))];
  const rows = [head, ...FUZZ_KINDS.filter((k) => OUTCOMES.some((x) => r.byKind[k][x] > 0)).map((k) => row(k, r.byKind[k])), row('total', r.counts)];
  const widths = head.map((_, i) => Math.max(...rows.map((x) => (x[i] ?? '').length)));
  for (const x of rows) lines.push(x.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
  lines.push('');
  lines.push(`seed ${o.seed}, ${r.cases} cases in ${(r.elapsedMs / 1000).toFixed(1)} s; host restarts ${r.hostRestarts}; peak host RSS ${r.peakRssMb.toFixed(0)} MiB`);
  lines.push(`crashes ${r.counts.crash}, hangs ${r.counts.hang}, unbounded allocations ${r.counts.blowup} (our code); contained native crashes ${r.counts['native-crash']}`);
  if (r.otherErrors.size > 0) {
    lines.push('contained errors that are not InputError (message, count):');
    for (const [m, n] of [...r.otherErrors.entries()].sort((a, b) => b[1].count - a[1].count).slice(0, 25)) lines.push(`  ${n.count}x ${m} (first: --case ${n.firstCase})`);
  }
  for (const f of r.findings) lines.push(`FINDING case ${f.id} [${f.kind}] ${f.seed} / ${f.mutation}: ${f.outcome}: ${f.detail}${f.file ? ` (${f.file})` : ''}`);
  return lines.join('\n');
}
