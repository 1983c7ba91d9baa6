// `delineate segment <input...> --model <id|file.onnx> --out <dir>`: runs a model on one image (results in <dir>)
// or many (a folder, or several inputs: results in <dir>/<name>/ each), continuing past bad inputs and exiting 2
// when any failed. A progress bar (tiles done/total, ETA) goes to stderr on a terminal; Ctrl-C cancels between
// tiles and writes nothing. `--no-resample` runs the image at its own resolution even when the model's differs;
// `--no-tta` and `--no-postprocess` skip the manifest's test-time flips and component filters. `--shard K/N` runs
// the K-th of N interleaved parts (windows of one raster, or inputs of a list) for `delineate merge` (shards.ts).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { checkFlags, flagNumber, flagSpacing, flagString, openOptionsFromFlags, parseArgs, UsageError } from '../args';
import { InputError } from '../../engine/image';
import { holdsDicom, naturalCompare } from '../../engine/io';
import { resolveModel } from '../../engine/inference/manifest';
import { readOnnxInfo } from '../../engine/inference/onnx-meta';
import { DEVICE_REQUESTS, type DeviceRequest } from '../../engine/inference/runtime';
import { AbortError } from '../../engine/inference/tiling';
import { resultName, segmentToFolder, type SegmentOptions } from '../../engine/pipeline';
import type { ProgressFn } from '../../engine/service';
import type { RunWarning } from '../../../preload/formats';
import { inShard, modelRecord, parseShardSpec, segmentShard, SHARD_FILE, SHARD_FORMAT, type FilesShardManifest, type ShardSpec } from '../../engine/shards';
import { writeFileAtomic } from '../../engine/io/atomic';

const FLAGS = ['model', 'out', 'device', 'tile', 'overlap', 'threads', 'spacing', 'series', 'allow-gaps', 'probabilities', 'batch', 'stack', 'no-resample', 'no-tta', 'no-postprocess', 'shard'];
const IMAGE_FILE = /\.(png|jpe?g|tiff?|nii|nii\.gz)$/i;

/** "256" or "512x256" (width x height). */
export function parseTile(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)(?:x(\d+))?$/i.exec(value.trim());
  const w = m ? Number(m[1]) : NaN;
  const h = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(w >= 8 && h >= 8 && w <= 8192 && h <= 8192)) throw new UsageError(`--tile must be N or WxH with sizes from 8 to 8192, got "${value}"`);
  return [w, h];
}

/**
 * Inputs to process: files as given; a DICOM folder is one series (one volume); another folder expands to the images
 * inside it (or stays one volume with --stack).
 */
async function expandInputs(positionals: string[], stack: boolean): Promise<{ inputs: string[]; batch: boolean }> {
  const inputs: string[] = [];
  let sawFolder = false;
  for (const p of positionals) {
    const stat = await fs.stat(p).catch(() => null);
    if (stat?.isDirectory() && !stack && !(await holdsDicom(p))) {
      sawFolder = true;
      const names = (await fs.readdir(p)).filter((n) => IMAGE_FILE.test(n) && !n.startsWith('.')).sort(naturalCompare);
      if (names.length === 0) throw new InputError(p, 'folder has no images (PNG, JPEG, TIFF, NIfTI); use --stack to read numbered slices as one volume');
      inputs.push(...names.map((n) => path.join(p, n)));
    } else inputs.push(p); // missing paths fail per input, with the reader's one-line message
  }
  return { inputs, batch: sawFolder || inputs.length > 1 };
}

/** Distinct output folder names for inputs that share a base name (a/scan.png, b/scan.png). */
function outputNames(inputs: string[]): string[] {
  const used = new Map<string, number>();
  return inputs.map((input) => {
    const base = resultName(input);
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
}

/** One terminal line: `name [#####-----]  45% 120/260 tiles, 12 s left` while tiles run, the share of post-processing done, else the stage. */
export function progressLine(label: string, p: Parameters<ProgressFn>[0], barWidth = 24): string {
  const eta = p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds) ? `, ${formatSeconds(p.etaSeconds)} left` : '';
  const f = p.total > 0 ? Math.min(1, Math.max(0, p.done / p.total)) : 0;
  // Post-processing reports its steps in percent, with its own estimate.
  if (p.stage === 'postprocess' && p.total > 1) return `${label}: post-processing ${String(Math.floor(f * 100)).padStart(3)}%${eta}`;
  if (p.stage !== 'inference' || !(p.total > 0)) return `${label}: ${p.stage}`;
  const filled = Math.round(f * barWidth);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${String(Math.floor(f * 100)).padStart(3)}% ${p.done}/${p.total} tiles${eta}`;
}

function formatSeconds(s: number): string {
  const t = Math.ceil(s);
  return t < 60 ? `${t} s` : t < 3600 ? `${Math.floor(t / 60)} min ${t % 60} s` : `${Math.floor(t / 3600)} h ${Math.floor((t % 3600) / 60)} min`;
}

function progressPrinter(label: string): ProgressFn & { end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  const fn = ((p) => {
    if (!tty) return;
    const now = Date.now();
    if (now - last < 100 && p.done !== p.total) return;
    last = now;
    process.stderr.write(`\r\x1b[K${progressLine(label, p)}`);
  }) as ProgressFn & { end(): void };
  fn.end = () => {
    if (tty) process.stderr.write('\r\x1b[K');
  };
  return fn;
}

export async function segmentCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['probabilities', 'stack', 'allow-gaps', 'no-resample', 'no-tta', 'no-postprocess']);
  checkFlags(args, FLAGS);
  if (args.positionals.length === 0) throw new UsageError('segment needs at least one input image or folder');
  const modelSpec = flagString(args, 'model');
  if (!modelSpec) throw new UsageError('segment needs --model <id|file.onnx>');
  const outDir = flagString(args, 'out');
  if (!outDir) throw new UsageError('segment needs --out <dir>');
  const device = (flagString(args, 'device') ?? 'auto') as DeviceRequest;
  if (!DEVICE_REQUESTS.includes(device)) throw new UsageError(`--device must be one of ${DEVICE_REQUESTS.join(', ')}, got "${device}"`);
  const tileSize = parseTile(flagString(args, 'tile'));
  const overlap = flagNumber(args, 'overlap', 0, 0.9);
  const threads = flagNumber(args, 'threads', 1, 256);
  const batch = flagNumber(args, 'batch', 1, 256);
  const spacingMm = flagSpacing(args);
  const { seriesUid, allowGaps } = openOptionsFromFlags(args);
  if ((threads !== undefined && !Number.isInteger(threads)) || (batch !== undefined && !Number.isInteger(batch))) {
    throw new UsageError('--threads and --batch take whole numbers');
  }

  let shard: ShardSpec | null = null;
  const shardText = flagString(args, 'shard');
  if (shardText !== undefined) {
    try {
      shard = parseShardSpec(shardText);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }

  // The model is checked once, before any input: a bad model is one line and exit 2, not one failure per input.
  const model = await resolveModel(modelSpec);
  await readOnnxInfo(model.onnxPath);

  const { inputs, batch: isBatch } = await expandInputs(args.positionals, args.flags.has('stack'));
  const names = outputNames(inputs);
  const options: SegmentOptions = {
    model,
    device,
    ...(tileSize ? { tileSize } : {}),
    ...(overlap !== undefined ? { overlap } : {}),
    ...(threads ? { threads } : {}),
    ...(batch ? { batch } : {}),
    ...(spacingMm ? { spacingMm } : {}),
    ...(seriesUid ? { seriesUid } : {}),
    ...(allowGaps ? { allowGaps } : {}),
    ...(args.flags.has('probabilities') ? { probabilities: true } : {}),
    ...(args.flags.has('no-resample') ? { resample: false } : {}),
    ...(args.flags.has('no-tta') ? { testTimeFlips: false } : {}),
    ...(args.flags.has('no-postprocess') ? { modelPostprocess: false } : {}),
  };

  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  if (shard && !isBatch) {
    try {
      const progress = progressPrinter(`${path.basename(inputs[0]!)} ${shard.k}/${shard.n}`);
      const startedMs = performance.now();
      const onWarnings = (warnings: RunWarning[]): void => {
        for (const w of warnings) process.stderr.write(`delineate segment: warning: ${path.basename(inputs[0]!)}: ${w.message}\n`);
      };
      const { manifest } = await segmentShard(inputs[0]!, outDir, { ...options, onWarnings }, modelSpec, shard, progress, controller.signal);
      progress.end();
      const tiles = manifest.windows.reduce((a, w) => a + w.tiles, 0);
      process.stdout.write(`${inputs[0]} -> ${outDir}: shard ${shard.k}/${shard.n}, ${manifest.windows.length} of ${manifest.windowCount} windows (${manifest.device}, ${tiles} tiles, ${((performance.now() - startedMs) / 1000).toFixed(1)} s)\n`);
      return 0;
    } catch (err) {
      if (err instanceof AbortError) {
        process.stderr.write('delineate segment: cancelled; nothing written for this shard\n');
        return 130;
      }
      throw err;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  }
  const failures: string[] = [];
  const shardDone: number[] = [];
  const shardFailed: FilesShardManifest['failed'] = [];
  let warnedDevices = false;
  try {
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      // --shard over a list: input i belongs to shard (i mod N) + 1; the folder names stay those of the whole list.
      if (shard && !inShard(i, shard)) continue;
      const dir = isBatch ? path.join(outDir, names[i]!) : outDir;
      const progress = progressPrinter(path.basename(input));
      try {
        // Printed as soon as the model is checked against the image, before the first tile runs; one line each.
        const onWarnings = (warnings: RunWarning[]): void => {
          for (const w of warnings) process.stderr.write(`delineate segment: warning: ${path.basename(input)}: ${w.message}\n`);
        };
        const startedMs = performance.now();
        const { outcome } = await segmentToFolder(input, dir, { ...options, onWarnings }, progress, controller.signal);
        // The time printed is the whole run as waited for: reading, the model, post-processing and writing.
        const wallS = (performance.now() - startedMs) / 1000;
        progress.end();
        const inf = outcome.document.inference!;
        if (device !== 'auto' && inf.device !== device && !warnedDevices) {
          warnedDevices = true;
          process.stderr.write(`delineate segment: --device ${device} unavailable, used ${inf.device} (${outcome.skippedDevices.join('; ')})\n`);
        }
        shardDone.push(i);
        process.stdout.write(`${input} -> ${dir}: ${outcome.instanceCount ?? outcome.document.instances.length} instances (${inf.device}, ${inf.tiles} tiles, ${wallS.toFixed(1)} s)\n`);
      } catch (err) {
        progress.end();
        if (err instanceof AbortError) {
          process.stderr.write('delineate segment: cancelled; nothing written for the current input\n');
          return 130;
        }
        // One input alone: let the CLI's handler turn it into one line (exit 2) or an internal error (exit 1).
        if (!isBatch) throw err;
        const message = err instanceof InputError ? err.message : `${input}: ${(err as Error).message ?? String(err)}`;
        failures.push(message);
        shardFailed.push({ index: i, message });
        process.stderr.write(`delineate segment: ${message}\n`);
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  if (shard) {
    const manifest: FilesShardManifest = {
      format: SHARD_FORMAT,
      mode: 'files',
      k: shard.k,
      n: shard.n,
      inputs: inputs.map((f, i) => ({ file: path.resolve(f), name: names[i]! })),
      model: await modelRecord(modelSpec, model),
      options: { ...(tileSize ? { tileSize } : {}), ...(overlap !== undefined ? { overlap } : {}), ...(batch ? { batch } : {}), ...(spacingMm ? { spacingMm } : {}), ...(options.probabilities ? { probabilities: true } : {}), ...(options.resample === false ? { resample: false } : {}), ...(options.testTimeFlips === false ? { testTimeFlips: false } : {}), ...(options.modelPostprocess === false ? { modelPostprocess: false } : {}) },
      done: shardDone,
      failed: shardFailed,
    };
    await fs.mkdir(outDir, { recursive: true });
    await writeFileAtomic(path.join(outDir, SHARD_FILE), JSON.stringify(manifest, null, 2) + '\n');
    process.stdout.write(`shard ${shard.k}/${shard.n}: segmented ${shardDone.length} of ${shardDone.length + shardFailed.length} input${shardDone.length + shardFailed.length === 1 ? '' : 's'} into ${outDir}${failures.length ? `; ${failures.length} failed` : ''}\n`);
  } else if (isBatch) {
    const ok = inputs.length - failures.length;
    process.stdout.write(`segmented ${ok} of ${inputs.length} input${inputs.length === 1 ? '' : 's'} into ${outDir}${failures.length ? `; ${failures.length} failed` : ''}\n`);
  }
  return failures.length > 0 ? 2 : 0;
}
