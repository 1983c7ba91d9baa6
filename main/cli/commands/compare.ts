// `delineate compare <t0> <t1> [<t2>...] --out <dir> [--model id] [--dates d0,d1,...] [--register rigid|affine|none]
// [--min-area m2] [--targets 1,3]`: follow-up comparison of two or more dates. Each input is a result folder
// (segment/measure), a saved session, or an image that --model segments first. Geo results give land-cover change
// (change.json, change.csv, change.tif, change.gpkg); medical results give registration, lesion tracks and response
// (change.json, change.csv, change.nii.gz with change.label.txt and change.ctbl; --targets names the RECIST target
// lesions by track id instead of the largest measurable ones). Everything is written into a temporary folder beside
// --out and renamed at the end, so a comparison that fails (mismatched classes, no overlap, bad input) writes nothing.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkFlags, flagNumber, flagString, parseArgs, UsageError } from '../args';
import { InputError } from '../../engine/image';
import { resolveTimePoints } from '../../engine/compare/timepoints';
import { compareGeo } from '../../engine/compare/geo/index';
import { compareMedical } from '../../engine/compare/medical/index';
import { TargetError } from '../../engine/compare/medical/response';

/** "--targets 1,3" -> track ids (positive integers), or undefined when the flag is absent. */
export function parseTargets(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((t) => t.trim());
  if (parts.some((t) => !/^[1-9]\d*$/.test(t))) throw new UsageError(`--targets must be track ids separated by commas (e.g. 1,3), got "${text}"`);
  return parts.map(Number);
}

const FLAGS = ['out', 'model', 'dates', 'register', 'min-area', 'targets'];
const REGISTER = ['rigid', 'affine', 'none'] as const;
type RegisterMethod = (typeof REGISTER)[number];

/** Moves the finished temporary folder to out: a rename when out does not exist, else file by file into it. */
async function publish(tmp: string, out: string): Promise<void> {
  try {
    await fs.rename(tmp, out);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR' && code !== 'ENOTDIR') throw err;
  }
  if (!(await fs.stat(out)).isDirectory()) throw new InputError(out, '--out exists and is not a folder');
  for (const name of await fs.readdir(tmp)) {
    const target = path.join(out, name);
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(path.join(tmp, name), target);
  }
  await fs.rm(tmp, { recursive: true, force: true });
}

export async function compareCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  checkFlags(args, FLAGS);
  const inputs = args.positionals;
  if (inputs.length < 2) throw new UsageError('compare needs two or more time points: <t0> <t1> [<t2>...]');
  const out = flagString(args, 'out');
  if (!out) throw new UsageError('compare needs --out <dir>');
  const model = flagString(args, 'model');
  const datesText = flagString(args, 'dates');
  const dates = datesText?.split(',').map((d) => d.trim());
  const registerText = flagString(args, 'register') ?? 'rigid';
  if (!(REGISTER as readonly string[]).includes(registerText)) throw new UsageError(`--register must be rigid, affine or none, got "${registerText}"`);
  const register = registerText as RegisterMethod;
  const minAreaM2 = flagNumber(args, 'min-area', 0, Number.MAX_VALUE);
  const targets = parseTargets(flagString(args, 'targets'));

  const outDir = path.resolve(out);
  // The parent may have to be made; if so, a failure removes it again.
  const createdParent = await fs.mkdir(path.dirname(outDir), { recursive: true });
  const tmp = path.join(path.dirname(outDir), `.${path.basename(outDir)}.${randomBytes(6).toString('hex')}.tmp`);
  await fs.mkdir(tmp);
  const progress = (f: number, msg: string): void => {
    if (process.stderr.isTTY) process.stderr.write(`\r${Math.round(f * 100)}% ${msg}`.padEnd(80).slice(0, 80));
  };
  // Ctrl-C stops the work at the next strip or slice and removes the temporary folder, as a failure does.
  const abort = new AbortController();
  const onInterrupt = (): void => abort.abort();
  process.once('SIGINT', onInterrupt);
  const signal = abort.signal;
  try {
    const workDir = path.join(tmp, 'timepoints');
    const { timepoints, warnings } = await resolveTimePoints(inputs, { workDir, signal, ...(model ? { model } : {}), ...(dates ? { dates } : {}), onProgress: progress });
    // Results made here (segmented images, edited sessions) stay in the output; an empty folder does not.
    if ((await fs.readdir(workDir)).length === 0) await fs.rmdir(workDir);
    const kinds = new Set(timepoints.map((tp) => tp.kind));
    if (kinds.size > 1) throw new InputError(inputs[0]!, `the time points are of different kinds (${timepoints.map((tp) => `${tp.input}: ${tp.kind}`).join(', ')})`);
    const kind = timepoints[0]!.kind;
    let summary: string;
    if (kind === 'geo') {
      if (targets) warnings.push('--targets applies to medical lesions; it is ignored for maps');
      if (args.flags.has('register')) warnings.push('--register applies to medical images; maps are compared on the earliest date\'s grid');
      const doc = await compareGeo(timepoints, { outDir: tmp, warnings, signal, onProgress: progress, ...(minAreaM2 !== undefined ? { minAreaM2 } : {}) });
      summary = `${doc.transitions.length} from-to pairs, ${doc.changedHa} ha changed of ${doc.overlapHa} ha valid on both dates, ${doc.polygons} change polygons`;
    } else if (kind === 'medical') {
      if (minAreaM2 !== undefined) warnings.push('--min-area applies to maps; it is ignored for medical images');
      let doc;
      try {
        doc = await compareMedical(timepoints, { register, outDir: tmp, warnings, signal, onProgress: progress, ...(targets ? { targets } : {}) });
      } catch (err) {
        if (err instanceof TargetError) throw new UsageError(`--targets ${targets?.join(',') ?? ''}: ${err.message}`);
        throw err;
      }
      const r = doc.response;
      summary = `${doc.lesions.length} lesion tracks; response volumetric ${r.volumetric}, RECIST ${r.recist}, RANO ${r.rano}`;
    } else {
      throw new InputError(inputs[0]!, 'plain pictures have no geometry to compare across dates (need medical or georeferenced images)');
    }
    if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(81) + '\r');
    await publish(tmp, outDir);
    for (const w of warnings) process.stderr.write(`delineate compare: warning: ${w}\n`);
    const order = timepoints.map((tp) => `${tp.input}${tp.date ? ` (${tp.date})` : ''}`).join(' -> ');
    process.stdout.write(`${order} -> ${out}: ${summary}\n`);
    return 0;
  } catch (err) {
    if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(81) + '\r');
    await fs.rm(tmp, { recursive: true, force: true });
    if (createdParent) await fs.rm(createdParent, { recursive: true, force: true });
    if (signal.aborted) {
      process.stderr.write('delineate compare: cancelled; nothing written\n');
      return 130;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}
