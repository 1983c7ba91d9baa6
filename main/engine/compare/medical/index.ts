// Medical follow-up comparison: registers every later date onto the baseline (elastix, rigid by default), tracks
// lesions across dates by overlap on the baseline grid, measures them per date, decides the response (volumetric,
// RECIST 1.1, RANO) and writes change.json, change.csv and change.nii.gz (with its colour tables change.label.txt for
// ITK-SNAP and change.ctbl for 3D Slicer) into outDir.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { InstanceRecord, InstancesDocument, MedicalGeometry } from '../../../../preload/formats';
import { InputError } from '../../image';
import { openImage } from '../../io/index';
import { writeFileAtomic } from '../../io/atomic';
import { writeNifti } from '../../io/nifti';
import { newUid } from '../../export/dicom-seg';
import { itkSnapLabels, slicerColorTable, type LabelEntry } from '../../export/label-tables';
import { hexToRgb } from '../../export/overlay';
import { connectedComponents } from '../../postprocess/components';
import { measureInstances } from '../../measure/index';
import type { TimePoint } from '../timepoints';
import { invert4, type Mat4 } from './affine';
import { loadVolume, medicalGeometry, registerVolumes, resampleNearest, type RegisterMethod, type Volume3 } from './register';
import { assessResponse, sequenceFromHints, withTargets, type Response, type Totals } from './response';
import { trackLesions, type InstanceMeasure, type Track } from './track';

export interface CompareMedicalOptions {
  register: RegisterMethod;
  outDir: string;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
  /** Appended to; the caller prints them. */
  warnings: string[];
  /** Volumes above this many voxels are block-averaged for registration (default 500k). */
  maxRegistrationVoxels?: number;
  /** User-chosen RECIST target lesions (track ids); without them compare picks the largest measurable ones. */
  targets?: number[];
}

export interface RegistrationEntry {
  from: number;
  to: number;
  method: RegisterMethod;
  followupToBaseline: Mat4;
  /** Mutual information (nats) of the baseline and the registered follow-up; metricBefore: without registration. */
  metric: number;
  metricBefore: number;
  seconds: number;
}

export interface ChangeLesion {
  track: number;
  status: Track['status'];
  instances: Track['instances'];
  volumeMl: Track['volumeMl'];
  longAxisMm: Track['longAxisMm'];
  shortAxisMm: Track['shortAxisMm'];
  changePct: number | null;
  states: Track['states'];
  className: string;
  mergedInto?: number;
  newAt?: number;
  /** DICOM TrackingUID (0062,0021) of this lesion: the same in the SEG of every date. */
  trackingUid: string;
  /** RECIST target chosen by the user (withTargets); absent when compare chose the targets (response.recistTargets). */
  target?: boolean;
}

export interface MedicalChange {
  kind: 'medical';
  timepoints: Array<{ input: string; date: string | null }>;
  registration: RegistrationEntry[];
  lesions: ChangeLesion[];
  totals: Totals;
  response: Response;
  warnings: string[];
}

/** Labels and instances of one date on its own grid. */
interface DateMaps {
  width: number;
  height: number;
  depth: number;
  geometry: MedicalGeometry;
  labels: Uint32Array;
  instances: Uint32Array;
  measures: InstanceMeasure[];
  voxelVolumeMl: number;
  hints: string[];
}

async function readMap(file: string): Promise<{ data: Uint32Array; width: number; height: number; depth: number; geometry: MedicalGeometry; meta: Record<string, unknown> }> {
  const src = await openImage(file);
  try {
    const b = await src.read({ channels: [0] });
    const data = b.data instanceof Uint32Array ? b.data : Uint32Array.from(b.data, (v) => (v > 0 ? Math.round(v) : 0));
    return { data, width: src.width, height: src.height, depth: src.depth, geometry: medicalGeometry(src.geometry as { type: string }), meta: src.meta };
  } finally {
    await src.close();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

function range(rec: InstanceRecord): [number, number] | undefined {
  const r = rec.volumeMlRange;
  if (Array.isArray(r) && r.length === 2 && r.every((v) => typeof v === 'number')) return [r[0] as number, r[1] as number];
  return undefined;
}

function measureOf(rec: InstanceRecord, voxelVolumeMl: number): InstanceMeasure {
  const bbox = rec.bbox as { min?: number[]; max?: number[] } | undefined;
  const slices = bbox?.min && bbox.max && bbox.min.length >= 3 ? bbox.max[2]! - bbox.min[2]! + 1 : 1;
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const r = range(rec);
  return {
    id: rec.id,
    classId: rec.classId,
    className: rec.className,
    volumeMl: num(rec.volumeMl) ?? rec.pixelCount * voxelVolumeMl,
    longAxisMm: num(rec.longAxisMm),
    shortAxisMm: num(rec.shortAxisMm),
    slices,
    ...(r ? { volumeMlRange: r } : {}),
  };
}

/** A date's maps: labels, the result's instance map (or 26-connected components of the labels) and measurements. */
async function loadDate(tp: TimePoint): Promise<DateMaps> {
  const doc = tp.instances as InstancesDocument;
  const labels = await readMap(tp.labelsPath);
  const g = labels.geometry;
  const voxelVolumeMl = (g.spacingMm[0] * g.spacingMm[1] * g.spacingMm[2]) / 1000;
  const instancesFile = ['instances.nii.gz', 'instances.nii'].map((n) => path.join(tp.resultDir, n));
  let instances: Uint32Array | null = null;
  for (const f of instancesFile) {
    if (!(await exists(f))) continue;
    const m = await readMap(f);
    if (m.width !== labels.width || m.height !== labels.height || m.depth !== labels.depth) throw new InputError(f, `instance map is ${m.width}x${m.height}x${m.depth}, the labels ${labels.width}x${labels.height}x${labels.depth}`);
    instances = m.data;
    break;
  }
  let measures: InstanceMeasure[];
  if (instances && Array.isArray(doc.instances)) {
    measures = doc.instances.map((r) => measureOf(r, voxelVolumeMl));
  } else {
    // No instance map saved: the lesions as segment/measure define them (3D, 26-connected), measured here.
    const lab = labels.data.length < 2 ** 31 ? Uint16Array.from(labels.data, (v) => Math.min(v, 65535)) : new Uint16Array(0);
    const cc = connectedComponents({ labels: lab, width: labels.width, height: labels.height, depth: labels.depth, nodataLabel: 255, connectivity: 26 });
    instances = cc.instances;
    const classes = (doc.classes ?? []).map((c) => ({ name: c.name, color: c.color }));
    const counts = new Array<number>(classes.length + 1).fill(0);
    const measured = measureInstances(cc.stats, {
      geometry: g,
      depth: labels.depth,
      classes,
      validPixelCount: labels.data.length,
      classPixelCounts: counts,
      hasProbability: false,
      hasIntensity: false,
      instanceMap: cc.instances,
      width: labels.width,
      height: labels.height,
      connectivity: 26,
    });
    measures = measured.instances.map((r) => measureOf(r, voxelVolumeMl));
  }
  const meta = tp.imagePath ? await imageMeta(tp.imagePath) : {};
  const hints = [tp.input, tp.imagePath, doc.model?.id ?? '', doc.model?.name ?? '', String(meta.seriesDescription ?? ''), String(doc.source?.seriesDescription ?? '')];
  return { width: labels.width, height: labels.height, depth: labels.depth, geometry: g, labels: labels.data, instances, measures, voxelVolumeMl, hints };
}

async function imageMeta(file: string): Promise<Record<string, unknown>> {
  try {
    const src = await openImage(file);
    const meta = src.meta;
    await src.close();
    return meta;
  } catch {
    return {};
  }
}

/** Every foreground voxel (not 0, not the nodata label 255) times the voxel volume, on the date's own grid. */
function totalVolumeMl(d: DateMaps): number {
  let n = 0;
  for (let i = 0; i < d.labels.length; i++) {
    const v = d.labels[i]!;
    if (v !== 0 && v !== 255) n++;
  }
  return n * d.voxelVolumeMl;
}

function spacingDiffers(a: MedicalGeometry, b: MedicalGeometry): boolean {
  return a.spacingMm.some((s, i) => Math.abs(s - b.spacingMm[i]!) > 0.05 * Math.max(s, b.spacingMm[i]!));
}

const round = (v: number, digits = 6): number => Math.round(v * 10 ** digits) / 10 ** digits;
const roundOrNull = (v: number | null): number | null => (v === null ? null : round(v));

/** Runs the comparison and returns the change document (without writing anything). */
export async function analyseMedical(tps: TimePoint[], opts: Omit<CompareMedicalOptions, 'outDir'>): Promise<{ change: MedicalChange; dates: DateMaps[]; followupToBaseline: Mat4[] }> {
  if (tps.length < 2) throw new InputError(tps[0]?.input ?? 'compare', 'a comparison needs at least two time points');
  for (const tp of tps) if (tp.kind === 'geo') throw new InputError(tp.input, 'is a map (geo result); a medical comparison needs medical volumes on every date');
  const progress = opts.onProgress ?? ((): void => undefined);
  const dates: DateMaps[] = [];
  for (const tp of tps) {
    opts.signal?.throwIfAborted();
    dates.push(await loadDate(tp));
  }
  const base = dates[0]!;
  progress(0.05, 'loaded results');
  let baseImage: Volume3 | null = null;
  const registration: RegistrationEntry[] = [];
  const f2b: Mat4[] = [[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]];
  for (let i = 1; i < tps.length; i++) {
    opts.signal?.throwIfAborted();
    const tp = tps[i]!;
    let method: RegisterMethod = opts.register;
    if (method === 'rigid' && spacingDiffers(base.geometry, dates[i]!.geometry)) {
      method = 'affine';
      opts.warnings.push(`${tp.input}: voxel spacing differs from the baseline's, registered affine instead of rigid`);
    }
    if (method !== 'none' && (!tps[0]!.imagePath || !tp.imagePath)) {
      opts.warnings.push(`${tp.input}: no image to register (only the saved labels), compared without registration`);
      method = 'none';
    }
    progress(0.1 + (0.6 * (i - 1)) / (tps.length - 1), `registering ${tp.input} (${method})`);
    if (method === 'none') {
      registration.push({ from: i, to: 0, method, followupToBaseline: f2b[0]!.slice(), metric: 0, metricBefore: 0, seconds: 0 });
      f2b.push(f2b[0]!.slice());
      continue;
    }
    baseImage ??= await loadVolume(tps[0]!.imagePath);
    const moving = await loadVolume(tp.imagePath);
    const r = await registerVolumes(baseImage, moving, method, { ...(opts.maxRegistrationVoxels ? { maxVoxels: opts.maxRegistrationVoxels } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    if (r.metric < r.metricBefore) opts.warnings.push(`${tp.input}: mutual information fell with registration (${r.metricBefore.toFixed(3)} -> ${r.metric.toFixed(3)}); check the alignment`);
    registration.push({ from: i, to: 0, method, followupToBaseline: r.followupToBaseline.map((v) => round(v, 9)), metric: round(r.metric), metricBefore: round(r.metricBefore), seconds: round(r.seconds, 2) });
    f2b.push(r.followupToBaseline);
  }
  progress(0.75, 'tracking lesions');
  const tracking = dates.map((d, i) => ({
    instancesOnBaseline: i === 0 ? d.instances : resampleNearest({ data: d.instances, width: d.width, height: d.height, depth: d.depth, geometry: d.geometry }, base, invert4(f2b[i]!)).data,
    measures: d.measures,
  }));
  const tracks = trackLesions(tracking);
  const volumeMl = dates.map(totalVolumeMl);
  const ranges = dates.map((d) => (d.measures.length > 0 && d.measures.every((m) => m.volumeMlRange) ? ([d.measures.reduce((s, m) => s + m.volumeMlRange![0], 0), d.measures.reduce((s, m) => s + m.volumeMlRange![1], 0)] as [number, number]) : null));
  const sequence = sequenceFromHints(dates.flatMap((d) => d.hints));
  const { response, totals } = assessResponse(tracks, volumeMl, sequence, ranges);
  const change: MedicalChange = {
    kind: 'medical',
    timepoints: tps.map((tp) => ({ input: tp.input, date: tp.date })),
    registration,
    lesions: tracks.map((t) => ({
      track: t.track,
      status: t.status,
      instances: t.instances,
      volumeMl: t.volumeMl.map(roundOrNull),
      longAxisMm: t.longAxisMm.map(roundOrNull),
      shortAxisMm: t.shortAxisMm.map(roundOrNull),
      changePct: t.changePct === null ? null : round(t.changePct, 3),
      states: t.states,
      className: t.className,
      ...(t.mergedInto !== undefined ? { mergedInto: t.mergedInto } : {}),
      ...(t.newAt !== undefined ? { newAt: t.newAt } : {}),
      trackingUid: newUid(),
    })),
    totals: {
      volumeMl: totals.volumeMl.map((v) => round(v)),
      sumLongAxisMm: totals.sumLongAxisMm.map((v) => round(v)),
      sumProductsMm2: totals.sumProductsMm2.map((v) => round(v)),
      nadirIndex: totals.nadirIndex,
    },
    response,
    warnings: opts.warnings,
  };
  return { change, dates, followupToBaseline: f2b };
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = Array.isArray(v) ? v.join(' ') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per lesion and date. */
export function changeCsv(change: MedicalChange): string {
  const rows = [['track', 'status', 'class', 'timepoint', 'date', 'state', 'instance', 'volumeMl', 'longAxisMm', 'shortAxisMm', 'changePct'].join(',')];
  for (const l of change.lesions) {
    const v0 = l.volumeMl[0];
    change.timepoints.forEach((tp, i) => {
      const v = l.volumeMl[i];
      const pct = v0 && v0 > 0 && v !== null && v !== undefined ? round(((v - v0) / v0) * 100, 3) : null;
      rows.push([l.track, l.status, l.className, i, tp.date, l.states[i], l.instances[i], v, l.longAxisMm[i], l.shortAxisMm[i], pct].map(csvCell).join(','));
    });
  }
  return rows.join('\n') + '\n';
}

/** change.nii.gz: baseline class x 100 + last date's class (registered, nearest) on the baseline grid; 65535 outside. */
function changeMap(dates: DateMaps[], f2b: Mat4[]): Uint16Array {
  const base = dates[0]!;
  const lastIndex = dates.length - 1;
  const last = dates[lastIndex]!;
  const resampled = resampleNearest({ data: last.labels, width: last.width, height: last.height, depth: last.depth, geometry: last.geometry }, base, invert4(f2b[lastIndex]!));
  const out = new Uint16Array(base.labels.length);
  for (let i = 0; i < out.length; i++) {
    const from = base.labels[i]!;
    const to = resampled.data[i]!;
    out[i] = !resampled.inside[i] || from === 255 || to === 255 || from > 99 || to > 99 ? 65535 : from * 100 + to;
  }
  return out;
}

/** Slices each track spans at baseline (track -> bbox depth of its baseline instance), for the target rules. */
export function baselineSlices(change: Pick<MedicalChange, 'lesions'>, baselineMeasures: Array<Pick<InstanceMeasure, 'id' | 'slices'>>): Map<number, number> {
  const byId = new Map(baselineMeasures.map((m) => [m.id, m.slices]));
  const out = new Map<number, number>();
  for (const l of change.lesions) {
    const ids = l.instances[0];
    if (ids === null || ids === undefined) continue;
    const k = (Array.isArray(ids) ? ids : [ids]).reduce((s, id) => Math.max(s, byId.get(id) ?? 0), 0);
    if (k > 0) out.set(l.track, k);
  }
  return out;
}

/** Class names and colours of the dates' results (id -> class; the first date that names an id wins). */
function classesOf(tps: TimePoint[]): Map<number, { name: string; color: string }> {
  const out = new Map<number, { name: string; color: string }>();
  for (const tp of tps) {
    const classes = (tp.instances as Partial<InstancesDocument> | null)?.classes ?? [];
    for (const c of classes) if (typeof c.id === 'number' && !out.has(c.id)) out.set(c.id, { name: c.name, color: c.color });
  }
  return out;
}

/**
 * One entry per code present in the change map: `from -> to` by class name. A lesion that stays is a pale version of
 * its class colour, new lesion tissue the full colour, tissue that is gone a dark one; none -> none and the outside
 * (65535) are transparent.
 */
export function changeLabelEntries(map: Uint16Array, classes: ReadonlyMap<number, { name: string; color: string }>): LabelEntry[] {
  const present = new Set<number>();
  for (let i = 0; i < map.length; i++) present.add(map[i]!);
  const name = (id: number): string => (id === 0 ? 'none' : (classes.get(id)?.name ?? `class ${id}`));
  const rgb = (id: number): [number, number, number] => hexToRgb(classes.get(id)?.color ?? '#808080');
  return [...present].sort((a, b) => a - b).map((code): LabelEntry => {
    if (code === 65535) return { value: code, name: 'outside (not on both dates)', rgb: [0, 0, 0], alpha: 0 };
    const from = Math.floor(code / 100);
    const to = code % 100;
    const label = `${name(from)} -> ${name(to)}`;
    if (from === 0 && to === 0) return { value: code, name: label, rgb: [0, 0, 0], alpha: 0 };
    if (to === 0) return { value: code, name: label, rgb: rgb(from).map((v) => v * 0.45) as [number, number, number], alpha: 1 };
    if (from === to) return { value: code, name: label, rgb: rgb(to).map((v) => v * 0.25 + 191) as [number, number, number], alpha: 1 };
    return { value: code, name: label, rgb: rgb(to), alpha: 1 };
  });
}

/** The medical comparison: writes change.json, change.csv, change.nii.gz, change.label.txt and change.ctbl into opts.outDir. */
export async function compareMedical(tps: TimePoint[], opts: CompareMedicalOptions): Promise<MedicalChange> {
  const analysed = await analyseMedical(tps, opts);
  const { dates, followupToBaseline } = analysed;
  const change = opts.targets ? withTargets(analysed.change, opts.targets, { baselineSlices: baselineSlices(analysed.change, dates[0]!.measures) }) : analysed.change;
  opts.signal?.throwIfAborted();
  opts.onProgress?.(0.9, 'writing change.json, change.csv, change.nii.gz and its colour tables');
  await fs.mkdir(opts.outDir, { recursive: true });
  await writeFileAtomic(path.join(opts.outDir, 'change.json'), JSON.stringify(change, null, 2) + '\n');
  await writeFileAtomic(path.join(opts.outDir, 'change.csv'), changeCsv(change));
  const base = dates[0]!;
  const map = changeMap(dates, followupToBaseline);
  await writeNifti(path.join(opts.outDir, 'change.nii.gz'), { data: map, width: base.width, height: base.height, depth: base.depth, channels: 1, geometry: base.geometry });
  // NIfTI has no palette: ITK-SNAP and 3D Slicer read the codes' names and colours from these sidecars.
  const entries = changeLabelEntries(map, classesOf(tps));
  await writeFileAtomic(path.join(opts.outDir, 'change.label.txt'), itkSnapLabels(entries));
  await writeFileAtomic(path.join(opts.outDir, 'change.ctbl'), slicerColorTable(entries, 'change.ctbl (Delineate change: from x 100 + to)'));
  opts.onProgress?.(1, 'done');
  return change;
}
