// Time points of a follow-up comparison: each input (a result folder from segment/measure, a saved session, or an
// image that a model segments first) becomes one labelled date with its image, label map and instances.json.
// Dates come from --dates, else DICOM StudyDate/AcquisitionDate, GeoTIFF date tags (GDAL ACQUISITIONDATETIME, TIFF
// DateTime) or a YYYYMM[DD] in the image's (or the input's) file name. Time points are ordered by date; when any has
// no date, the command-line order is kept for all of them, with a warning (never an error).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fromFile } from 'geotiff';
import type { ImageKind, InstancesDocument } from '../../../preload/formats';
import { InputError } from '../image';
import { isDicomFile } from '../io/dicom/index';
import { parseHeader } from '../io/dicom/parse';
import { str } from '../io/dicom/header';
import { writeResultFolder } from '../export/results';
import { checkImageReference, loadSession, replaySession } from '../session/session';
import { resultName, segmentToFolder } from '../pipeline';

export interface TimePoint {
  /** The input as given on the command line. */
  input: string;
  /** ISO date: YYYY-MM-DD, or YYYY-MM when only the month is known; null when none was found. */
  date: string | null;
  imagePath: string;
  labelsPath: string;
  resultDir: string;
  /** Parsed instances.json of the result. */
  instances: unknown;
  kind: 'medical' | 'geo' | 'image';
}

export interface ResolveOptions {
  /** Model that segments inputs that are images. */
  model?: string;
  /** One date per input (YYYY-MM-DD, YYYYMMDD or YYYY-MM), in input order; overrides every other source. */
  dates?: string[];
  /** Where results made here (segmented images, sessions with edits) are written. */
  workDir: string;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
}

const LABEL_FILES = ['labels.nii.gz', 'labels.nii', 'labels.tif'];

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** A date given by the user: YYYY-MM-DD, YYYYMMDD, YYYY-MM or YYYYMM -> ISO; null when it is not a valid date. */
export function parseDateText(text: string): string | null {
  const m = /^(\d{4})-?(\d{2})(?:-?(\d{2}))?$/.exec(text.trim());
  if (!m) return null;
  return isoDate(m[1]!, m[2]!, m[3]);
}

function isoDate(y: string, mo: string, d: string | undefined): string | null {
  const year = Number(y);
  const month = Number(mo);
  if (year < 1900 || year > 2200 || month < 1 || month > 12) return null;
  if (d === undefined) return `${y}-${mo}`;
  const day = Number(d);
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > last) return null;
  return `${y}-${mo}-${d}`;
}

/** A YYYYMMDD or YYYYMM (years 1900-2199) standing alone in a file name (not inside a longer run of digits). */
export function dateFromName(file: string): string | null {
  const base = path.basename(file);
  const re = /(?<!\d)((?:19|20|21)\d{2})(0[1-9]|1[0-2])((?:0[1-9]|[12]\d|3[01]))?(?!\d)/g;
  for (let m = re.exec(base); m; m = re.exec(base)) {
    const iso = isoDate(m[1]!, m[2]!, m[3]);
    if (iso) return iso;
  }
  return null;
}

/** DICOM DA "YYYYMMDD" -> ISO. */
function dicomDate(da: string | undefined): string | null {
  if (!da) return null;
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})/.exec(da.trim());
  return m ? isoDate(m[1]!, m[2]!, m[3]) : null;
}

/** StudyDate, else AcquisitionDate, else SeriesDate of the first DICOM file of a file or folder. */
async function dicomImageDate(imagePath: string): Promise<string | null> {
  let file = imagePath;
  const st = await fs.stat(imagePath);
  if (st.isDirectory()) {
    const names = (await fs.readdir(imagePath)).sort();
    let found: string | null = null;
    for (const n of names) {
      const p = path.join(imagePath, n);
      if ((await fs.stat(p)).isFile() && (await isDicomFile(p))) {
        found = p;
        break;
      }
    }
    if (!found) return null;
    file = found;
  } else if (!(await isDicomFile(file))) {
    return null;
  }
  const ds = (await parseHeader(file)).dataSet;
  return dicomDate(str(ds, 'x00080020')) ?? dicomDate(str(ds, 'x00080022')) ?? dicomDate(str(ds, 'x00080021'));
}

/** GDAL ACQUISITIONDATETIME (or any *DATETIME item) in GDAL_METADATA, else TIFF DateTime "YYYY:MM:DD HH:MM:SS". */
async function geotiffDate(file: string): Promise<string | null> {
  const tiff = await fromFile(file);
  try {
    const fd = (await tiff.getImage(0)).getFileDirectory();
    const gdal = fd.hasTag('GDAL_METADATA') ? String((await fd.loadValue('GDAL_METADATA')) ?? '') : '';
    const item = /<Item name="(?:ACQUISITIONDATETIME|ACQUISITION_DATETIME|DATETIME|TIFFTAG_DATETIME)"[^>]*>\s*(\d{4})[-:]?(\d{2})[-:]?(\d{2})/i.exec(gdal);
    if (item) {
      const iso = isoDate(item[1]!, item[2]!, item[3]);
      if (iso) return iso;
    }
    const dt = fd.hasTag('DateTime') ? String((await fd.loadValue('DateTime')) ?? '') : '';
    const m = /^(\d{4})[:-](\d{2})[:-](\d{2})/.exec(dt.trim());
    return m ? isoDate(m[1]!, m[2]!, m[3]) : null;
  } finally {
    // close() is a promise for file sources (false when there is nothing to close).
    await tiff.close();
  }
}

/** The date of an image from its own tags (DICOM, GeoTIFF), else from its file name; null when none is found. */
export async function imageDate(imagePath: string): Promise<string | null> {
  try {
    if (/\.tiff?$/i.test(imagePath)) {
      const d = await geotiffDate(imagePath);
      if (d) return d;
    } else if (!/\.(nii|nii\.gz|png|jpe?g)$/i.test(imagePath)) {
      const d = await dicomImageDate(imagePath);
      if (d) return d;
    }
  } catch {
    // An unreadable or missing image still has a name that may carry the date.
  }
  return dateFromName(imagePath);
}

function documentKind(doc: InstancesDocument, where: string): ImageKind {
  const k = doc.source?.kind;
  if (k === 'medical' || k === 'geo' || k === 'image') return k;
  throw new InputError(where, 'instances.json has no source.kind (medical, geo or image)');
}

async function readDocument(dir: string): Promise<InstancesDocument> {
  let doc: unknown;
  try {
    doc = JSON.parse(await fs.readFile(path.join(dir, 'instances.json'), 'utf8'));
  } catch (err) {
    throw new InputError(dir, `not a result folder: cannot read instances.json (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const d = doc as Partial<InstancesDocument> | null;
  if (!d || typeof d !== 'object' || typeof d.source !== 'object' || !Array.isArray(d.classes) || !Array.isArray(d.instances)) {
    throw new InputError(dir, 'instances.json is not a result (needs source, classes and instances)');
  }
  return d as InstancesDocument;
}

async function labelsIn(dir: string): Promise<string> {
  for (const n of LABEL_FILES) {
    const p = path.join(dir, n);
    if (await exists(p)) return p;
  }
  throw new InputError(dir, `not a result folder: none of ${LABEL_FILES.join(', ')}`);
}

/** A result folder: instances.json, its labels raster, and the image named by source.file (relative to the folder). */
async function fromResultFolder(input: string, dir: string, warnings: string[]): Promise<Omit<TimePoint, 'date'>> {
  const doc = await readDocument(dir);
  const labelsPath = await labelsIn(dir);
  const file = typeof doc.source.file === 'string' ? doc.source.file : '';
  const imagePath = file ? path.resolve(dir, file) : '';
  if (!imagePath || !(await exists(imagePath))) warnings.push(`${input}: its image ${file || '(not named)'} was not found; the comparison uses the saved labels only`);
  return { input, imagePath, labelsPath, resultDir: dir, instances: doc, kind: documentKind(doc, dir) };
}

/** A saved session: its result folder, with the edit log applied (written to workDir when there are edits). */
async function fromSession(input: string, workDir: string, index: number, warnings: string[]): Promise<Omit<TimePoint, 'date'>> {
  const session = await loadSession(input);
  for (const p of await checkImageReference(session.image)) warnings.push(`${input}: ${p}`);
  if (!session.result) throw new InputError(input, 'the session has no result folder (run a model in it first)');
  if (session.edits.length === 0) {
    const tp = await fromResultFolder(input, session.result, warnings);
    return { ...tp, imagePath: session.image.path };
  }
  const replayed = await replaySession(session);
  if (replayed.applied < session.edits.length) warnings.push(`${input}: only ${replayed.applied} of ${session.edits.length} edits could be applied`);
  const r = replayed.result;
  const dir = path.join(workDir, `t${index}-${resultName(input.replace(/\.json$/i, ''))}`);
  const kind = documentKind(r.document, input);
  await writeResultFolder(dir, r.document, {
    kind,
    width: r.width,
    height: r.height,
    depth: r.depth,
    geometry: r.geometry,
    classes: r.classes,
    labels: r.labels,
    nodataLabel: r.nodataLabel,
    instances: r.instances,
    instanceCount: r.document.instances.reduce((m, rec) => Math.max(m, rec.id), 0),
  });
  return { input, imagePath: session.image.path, labelsPath: await labelsIn(dir), resultDir: dir, instances: r.document, kind };
}

type InputKind = 'result' | 'session' | 'image';

async function classify(input: string): Promise<InputKind> {
  let st;
  try {
    st = await fs.stat(input);
  } catch {
    throw new InputError(input, 'no such file or folder');
  }
  if (st.isDirectory()) return (await exists(path.join(input, 'instances.json'))) ? 'result' : 'image';
  if (/\.json$/i.test(input)) return 'session';
  return 'image';
}

/** Resolves each input to a time point (segmenting images with opts.model) and orders them by date. */
export async function resolveTimePoints(inputs: string[], opts: ResolveOptions): Promise<{ timepoints: TimePoint[]; warnings: string[] }> {
  const warnings: string[] = [];
  if (inputs.length < 2) throw new InputError(inputs[0] ?? 'compare', 'a comparison needs at least two time points');
  let given: string[] | null = null;
  if (opts.dates) {
    if (opts.dates.length !== inputs.length) throw new InputError('--dates', `${opts.dates.length} dates for ${inputs.length} inputs`);
    given = opts.dates.map((d) => {
      const iso = parseDateText(d);
      if (!iso) throw new InputError('--dates', `"${d}" is not a date (YYYY-MM-DD)`);
      return iso;
    });
  }
  const kinds = await Promise.all(inputs.map(classify));
  const imageCount = kinds.filter((k) => k === 'image').length;
  if (imageCount > 0 && !opts.model) {
    const first = inputs[kinds.indexOf('image')]!;
    throw new InputError(first, 'is an image: give --model to segment it first, or a result folder (segment/measure) or a session');
  }
  await fs.mkdir(opts.workDir, { recursive: true });
  const resolved: Array<Omit<TimePoint, 'date'>> = [];
  let segmented = 0;
  for (let i = 0; i < inputs.length; i++) {
    opts.signal?.throwIfAborted();
    const input = inputs[i]!;
    const kind = kinds[i]!;
    if (kind === 'result') resolved.push(await fromResultFolder(input, input, warnings));
    else if (kind === 'session') resolved.push(await fromSession(input, opts.workDir, i, warnings));
    else {
      const dir = path.join(opts.workDir, `t${i}-${resultName(input)}`);
      const base = segmented / imageCount;
      opts.onProgress?.(base, `segmenting ${input}`);
      await segmentToFolder(
        input,
        dir,
        { model: opts.model! },
        (p) => {
          if (p.total > 0) opts.onProgress?.(base + (p.done / p.total) / imageCount, `segmenting ${input}: ${p.stage}`);
        },
        opts.signal,
      );
      segmented++;
      const tp = await fromResultFolder(input, dir, warnings);
      resolved.push({ ...tp, imagePath: path.resolve(input) });
    }
  }
  const dates: Array<string | null> = given ?? (await Promise.all(resolved.map(async (tp) => (tp.imagePath ? await imageDate(tp.imagePath) : null) ?? dateFromName(tp.input))));
  let timepoints: TimePoint[] = resolved.map((tp, i) => ({ ...tp, date: dates[i] ?? null }));
  const missing = timepoints.filter((tp) => tp.date === null).map((tp) => tp.input);
  if (missing.length > 0) {
    warnings.push(`no date found for ${missing.join(', ')} (give --dates YYYY-MM-DD,...): time points are taken in command-line order`);
  } else {
    // Stable: equal dates keep their command-line order. YYYY-MM sorts before the days of its month.
    timepoints = timepoints.map((tp, i) => ({ tp, i })).sort((a, b) => (a.tp.date! < b.tp.date! ? -1 : a.tp.date! > b.tp.date! ? 1 : a.i - b.i)).map((x) => x.tp);
  }
  return { timepoints, warnings };
}
