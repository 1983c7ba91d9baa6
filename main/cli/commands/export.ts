// `delineate export <session-file-or-result-dir> --to seg|rtstruct|nifti|geotiff|geojson|gpkg|shp|csv|json|png --out <file>
// [--crs EPSG:n] [--deidentify] [--per-instance] [--tolerance X] [--series <dicom dir>] [--z N] [--tracks change.json]`:
// one result (a folder `segment`/`measure` wrote, or a session: its result folder with the session's edits replayed)
// to one file. --tracks (seg): each lesion's TrackingID/TrackingUID from a medical compare that included this result.
// `delineate export <compare-out-dir> --to sr --out report.dcm [--targets 1,3] [--deidentify] [--seg a.dcm,b.dcm]`:
// the medical comparison's track table and response as a DICOM SR measurement report (TID 1500); --seg: the dates'
// SEGs (made with --tracks), whose segments each lesion's measurement groups then reference.
// Every export is written to a temporary file and renamed; --deidentify applies to every non-DICOM format.
import { promises as fs } from 'node:fs';
import { checkFlags, flagNumber, flagString, parseArgs, UsageError } from '../args';
import { EXPORT_FORMATS, exportResult, exportResultFolder, type ExportFormat, type ExportOptions, type LoadedResult } from '../../engine/export/exporter';
import { checkImageReference, loadSession, replaySession } from '../../engine/session/session';
import { measurementsOf } from '../../engine/session/workspace';
import type { ManualInput } from '../../engine/export/manual';
import { prepareOutputFolder } from '../output-folder';
import { trackingForResult } from '../../engine/compare/medical/seg-tracking';
import { exportMeasurementReport } from '../../engine/compare/medical/report';
import { TargetError } from '../../engine/compare/medical/response';
import { parseTargets } from './compare';

const FLAGS = ['to', 'out', 'crs', 'deidentify', 'per-instance', 'tolerance', 'series', 'z', 'tracks', 'targets', 'seg'];
/** Flags the SR report of a comparison accepts (the others belong to a single result's export). */
const SR_FLAGS = ['to', 'out', 'deidentify', 'targets', 'seg'];

/** `--to sr`: the report of a compare output folder (or its change.json). */
async function exportReport(input: string, out: string, targets: number[] | undefined, deidentify: boolean, segs: string[] | undefined): Promise<number> {
  const warnings: string[] = [];
  const removeCreated = await prepareOutputFolder(out);
  let change;
  try {
    change = await exportMeasurementReport(input, out, { warnings, deidentify, ...(targets ? { targets } : {}), ...(segs ? { segs } : {}) });
  } catch (err) {
    await removeCreated();
    if (err instanceof TargetError) throw new UsageError(`--targets ${targets?.join(',') ?? ''}: ${err.message}`);
    throw err;
  }
  for (const w of warnings) process.stderr.write(`delineate export: warning: ${w}\n`);
  const r = change.response;
  const groups = change.lesions.reduce((n, l) => n + l.volumeMl.filter((v) => v !== null).length, 0);
  process.stdout.write(`${input} -> ${out} (sr, ${change.lesions.length} lesion tracks, ${groups} measurement groups; volumetric ${r.volumetric}, RECIST ${r.recist}, RANO ${r.rano})\n`);
  return 0;
}

/** A session's result (its folder with the edits replayed) and the rulers and bidirectional axes its view holds (numbered M1, M2 ...). */
async function loadInput(input: string): Promise<{ result: LoadedResult; measurements: ManualInput[] }> {
  const session = await loadSession(input);
  for (const p of await checkImageReference(session.image)) process.stderr.write(`delineate export: warning: ${p}\n`);
  const replayed = await replaySession(session);
  return { result: replayed.result, measurements: measurementsOf(session.view.measurements).map((m, i) => ({ ...m, id: i + 1 })) };
}

export async function exportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['deidentify', 'per-instance']);
  checkFlags(args, FLAGS);
  if (args.positionals.length !== 1) throw new UsageError('export needs one <session-file-or-result-dir>');
  const to = flagString(args, 'to');
  if (!to || (!(EXPORT_FORMATS as readonly string[]).includes(to) && to !== 'sr')) throw new UsageError(`--to must be one of ${EXPORT_FORMATS.join('|')}|sr`);
  const out = flagString(args, 'out');
  if (!out) throw new UsageError('export needs --out <file>');
  const targets = parseTargets(flagString(args, 'targets'));
  if (to === 'sr') {
    const other = [...args.flags.keys()].find((k) => !SR_FLAGS.includes(k));
    if (other) throw new UsageError(`--${other} does not apply to --to sr`);
    const segs = flagString(args, 'seg')?.split(',').map((f) => f.trim()).filter((f) => f);
    return exportReport(args.positionals[0]!, out, targets, args.flags.has('deidentify'), segs);
  }
  if (targets) throw new UsageError('--targets applies to --to sr');
  if (args.flags.has('seg')) throw new UsageError('--seg applies to --to sr');
  const crs = flagString(args, 'crs');
  if (crs !== undefined && !/^EPSG:\d+$/i.test(crs)) throw new UsageError(`--crs must be EPSG:n, got "${crs}"`);
  const tolerance = flagNumber(args, 'tolerance', 0, Number.MAX_VALUE);
  const z = flagNumber(args, 'z', 0, Number.MAX_SAFE_INTEGER);
  const series = flagString(args, 'series');
  const tracks = flagString(args, 'tracks');
  if (tracks !== undefined && to !== 'seg') throw new UsageError('--tracks applies to --to seg');
  const options: ExportOptions = {
    ...(crs ? { crs: crs.toUpperCase() } : {}),
    ...(args.flags.has('deidentify') ? { deidentify: true } : {}),
    ...(args.flags.has('per-instance') ? { perInstance: true } : {}),
    ...(tolerance !== undefined ? { toleranceMapUnits: tolerance } : {}),
    ...(series ? { sourceSeries: series } : {}),
    ...(z !== undefined ? { z: Math.floor(z) } : {}),
    ...(tracks ? { tracking: await trackingForResult(tracks, args.positionals[0]!) } : {}),
  };
  const input = args.positionals[0]!;
  // A result folder is exported from disk (vector formats trace instances.tif block by block); a session is replayed.
  const folder = (await fs.stat(input)).isDirectory();
  const session = folder ? null : await loadInput(input);
  // As segment does: a missing output folder is created (and removed again if the export fails).
  const removeCreated = await prepareOutputFolder(out);
  let done: { written: string[]; instanceCount: number };
  try {
    if (session) {
      const { result, measurements } = session;
      done = { written: await exportResult(result, to as ExportFormat, out, { ...options, ...(measurements.length ? { measurements } : {}) }), instanceCount: result.document.instances.length };
    } else done = await exportResultFolder(input, to as ExportFormat, out, options);
  } catch (err) {
    await removeCreated();
    throw err;
  }
  process.stdout.write(`${input} -> ${done.written.join(', ')} (${to}, ${done.instanceCount} instances)\n`);
  return 0;
}
