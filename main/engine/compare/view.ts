// Comparisons kept for the app's Compare view: every date on one common grid (the baseline's for medical volumes,
// registered follow-ups resampled trilinear for the image and nearest for the lesions; the earliest date's for maps,
// later dates nearest-neighbour with GDAL's pixel-centre rule), so a pixel (x, y, z) is the same world position on
// every date, plus the change overlay of each slice. The work files (result folders written for kept results, the
// segmented dates, change.tif) live in a temporary folder removed when the comparison is closed or fails.
import { promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CompareGrid, CompareResult, CompareSlice, CompareSliceRequest, ChangeDocument, GeoChangeDocument, MedicalChangeDocument, RegisterMethodName } from '../../../preload/compare';
import type { ImageKind, InstancesDocument, MedicalGeometry } from '../../../preload/formats';
import { InputError } from '../image';
import { openImage } from '../io/index';
import { listDicomSeries } from '../io/dicom/index';
import { writeResultFolder, type ResultMaps } from '../export/results';
import { renderSlice } from '../render/slice';
import { previewSize } from '../render/reformat';
import { hexToRgb } from '../export/overlay';
import { resolveTimePoints, type TimePoint } from './timepoints';
import { analyseMedical, baselineSlices, type MedicalChange } from './medical/index';
import { withTargets } from './medical/response';
import { exportMeasurementReport } from './medical/report';
import { invert4 } from './medical/affine';
import { loadVolume, resampleLinear, resampleNearest, type Volume3 } from './medical/register';
import { compareGeo, type GeoChangeDocument as EngineGeoChange } from './geo/index';
import { NO_VALUE, pixelCentreMapper } from './geo/grid';

// The contract's documents must describe what the engine writes (a field renamed on one side does not compile).
const _medicalMatches: MedicalChangeDocument = {} as MedicalChange;
const _geoMatches: GeoChangeDocument = {} as EngineGeoChange;
void _medicalMatches;
void _geoMatches;

/** One date of a comparison as the caller has it: an image, and the result (as edited) the app keeps for it, if any. */
export interface CompareInput {
  /** The image file or folder. */
  path: string;
  /** The DICOM series the app opened in that folder, when it holds several. */
  seriesUid?: string;
  /** A kept result of that image: written as a result folder, so the comparison uses it instead of running a model. */
  result?: ResultMaps & { document: InstancesDocument };
}

export interface CompareRunOptions {
  model?: string;
  register?: RegisterMethodName;
  dates?: string[];
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
}

interface MedicalDate {
  /** The date's image on the baseline grid (0 where it has no data or no image). */
  image: Float32Array | null;
  window: { center: number; width: number } | null;
  /** Track id of every voxel on the baseline grid (its instance resampled nearest; 0 none), 16 bits to halve memory. */
  tracks: Uint16Array | Uint32Array;
}

interface GeoDate {
  /** The date's image rendered on its own grid (the engine's default stretch) and the map from common-grid pixels. */
  bitmap: { width: number; height: number; scale: number; rgba: Uint8Array } | null;
  mapper: ((y: number, cols: Int32Array, rows: Int32Array) => void) | null;
}

interface KeptMedical {
  kind: 'medical';
  dir: string;
  /** The document as compare made it (its own targets), and each track's slice count at baseline for the target rules. */
  change: MedicalChange;
  baselineSlices: Map<number, number>;
  width: number;
  height: number;
  depth: number;
  dates: MedicalDate[];
}

interface KeptGeo {
  kind: 'geo';
  dir: string;
  width: number;
  height: number;
  dates: GeoDate[];
  /** from x 100 + to on the common grid, 65535 outside (change.tif). */
  codes: Uint16Array;
  /** RGB per class id (the later date's class colours the change). */
  colours: Map<number, [number, number, number]>;
}

type Kept = KeptMedical | KeptGeo;

/** Distinct track colours (the same track keeps its colour on every date). */
const TRACK_COLOURS: Array<[number, number, number]> = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 190],
];

export function trackColour(track: number): [number, number, number] {
  return TRACK_COLOURS[(Math.max(1, track) - 1) % TRACK_COLOURS.length]!;
}

/** 0.5th and 99.5th percentile of the non-zero voxels (MR background is 0 and would pull the window down). */
function percentileWindow(data: Float32Array): { center: number; width: number } | null {
  const step = Math.max(1, Math.floor(data.length / 262144));
  const sample: number[] = [];
  for (let i = 0; i < data.length; i += step) {
    const v = data[i]!;
    if (v !== 0 && Number.isFinite(v)) sample.push(v);
  }
  if (sample.length === 0) return null;
  sample.sort((a, b) => a - b);
  const lo = sample[Math.floor(0.005 * (sample.length - 1))]!;
  const hi = sample[Math.ceil(0.995 * (sample.length - 1))]!;
  return { center: (lo + hi) / 2, width: hi > lo ? hi - lo : 1 };
}

function baseName(p: string): string {
  return path.basename(p.replace(/[\\/]+$/, ''));
}

/** Replaces every work-folder path in a message by the name of the image it stands for: no paths reach the window. */
function withoutPaths(text: string, names: Array<[string, string]>): string {
  let out = text;
  for (const [from, to] of names) out = out.split(from).join(to);
  return out;
}

export class CompareStore {
  private readonly kept = new Map<string, Kept>();

  constructor() {
    // A host that ends with comparisons open (the app quits, the window reloads) still removes their work folders.
    process.once('exit', () => {
      for (const k of this.kept.values()) rmSync(k.dir, { recursive: true, force: true });
    });
  }

  /** Runs a comparison of two or more dates and keeps it for `slice`; returns what the Compare view shows. */
  async run(inputs: CompareInput[], opts: CompareRunOptions): Promise<CompareResult> {
    if (inputs.length < 2) throw new InputError(inputs[0]?.path ?? 'compare', 'a comparison needs at least two images');
    // The comparison reads a folder's largest series (registration, display): another series of a folder of several
    // would put one series' lesions on another's pixels, so it is refused until opened from its own folder.
    for (const input of inputs) {
      if (!input.seriesUid) continue;
      const series = await listDicomSeries(input.path);
      if (series.length > 1 && series[0]!.uid !== input.seriesUid) {
        const chosen = series.find((s) => s.uid === input.seriesUid);
        throw new InputError(baseName(input.path), `holds ${series.length} series and the one open (${chosen?.description ?? input.seriesUid}) is not its largest, which a comparison reads: open that series from its own folder to compare it`);
      }
    }
    const dir = await fs.mkdtemp(path.join(tmpdir(), 'delineate-compare-'));
    try {
      const progress = opts.onProgress ?? ((): void => undefined);
      // Kept results become result folders whose instances.json names the image by its absolute path.
      const given: string[] = [];
      const names: Array<[string, string]> = [];
      for (let i = 0; i < inputs.length; i++) {
        const input = inputs[i]!;
        const name = baseName(input.path);
        if (input.result) {
          const r = input.result;
          const folder = path.join(dir, `t${i}`);
          const kind = (r.document.source?.kind ?? 'image') as ImageKind;
          const document: InstancesDocument = { ...r.document, source: { ...r.document.source, file: path.resolve(input.path) } };
          const instanceCount = r.document.instances.reduce((m, rec) => Math.max(m, rec.id), 0);
          await writeResultFolder(folder, document, { kind, width: r.width, height: r.height, depth: r.depth, geometry: r.geometry, classes: r.classes, labels: r.labels, nodataLabel: r.nodataLabel, instances: r.instances, instanceCount });
          given.push(folder);
          names.push([folder, name]);
        } else {
          given.push(path.resolve(input.path));
        }
        names.push([path.resolve(input.path), name]);
      }
      const workDir = path.join(dir, 'timepoints');
      // Paths of the work folder itself go last so the longer ones above are replaced first.
      names.push([dir, 'compare']);
      const { timepoints, warnings } = await resolveTimePoints(given, {
        workDir,
        ...(opts.model ? { model: opts.model } : {}),
        ...(opts.dates ? { dates: opts.dates } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (f, m) => progress(0.4 * f, m),
      });
      const kinds = new Set(timepoints.map((tp) => tp.kind));
      if (kinds.size > 1) throw new InputError(inputs[0]!.path, `the dates are of different kinds (${timepoints.map((tp) => `${baseName(tp.imagePath || tp.input)}: ${tp.kind}`).join(', ')})`);
      const order = timepoints.map((tp) => given.indexOf(tp.input));
      const kind = timepoints[0]!.kind;
      const after = (f: number, m: string): void => progress(0.4 + 0.6 * f, withoutPaths(m, names));
      let change: ChangeDocument;
      let grid: CompareGrid;
      let kept: Kept;
      let trackSlices: Array<{ track: number; z: number; rgb: [number, number, number] }> | undefined;
      if (kind === 'medical') {
        const out = await this.medical(timepoints, dir, opts, warnings, after);
        change = out.change;
        grid = out.grid;
        kept = out.kept;
        trackSlices = out.trackSlices;
      } else if (kind === 'geo') {
        const out = await this.geo(timepoints, dir, opts, warnings, after);
        change = out.change;
        grid = out.grid;
        kept = out.kept;
      } else {
        throw new InputError(inputs[0]!.path, 'plain pictures have no geometry to compare across dates (need medical or georeferenced images)');
      }
      // The report export reads the document as the CLI writes it (with its inputs' paths, to find the dates' results).
      if (change.kind === 'medical') await fs.writeFile(path.join(dir, 'change.json'), JSON.stringify(change, null, 2));
      // The window gets names, never paths.
      change.timepoints = change.timepoints.map((tp, i) => ({ input: inputs[order[i]!] ? baseName(inputs[order[i]!]!.path) : baseName(tp.input), date: tp.date }));
      change.warnings = change.warnings.map((w) => withoutPaths(w, names));
      if (change.kind === 'geo') change.grid = { ...change.grid, input: change.timepoints[0]!.input };
      const compareId = `c_${randomBytes(8).toString('hex')}`;
      this.kept.set(compareId, kept);
      return {
        compareId,
        kind,
        change,
        grid,
        timepoints: timepoints.map((tp, i) => ({ name: baseName(inputs[order[i]!]?.path ?? tp.input), date: tp.date, input: order[i]! })),
        ...(trackSlices ? { trackSlices } : {}),
      };
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private async medical(tps: TimePoint[], dir: string, opts: CompareRunOptions, warnings: string[], progress: (f: number, m: string) => void): Promise<{ change: MedicalChange; grid: CompareGrid; kept: KeptMedical; trackSlices: Array<{ track: number; z: number; rgb: [number, number, number] }> }> {
    const { change, dates, followupToBaseline } = await analyseMedical(tps, {
      register: opts.register ?? 'rigid',
      warnings,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (f, m) => progress(0.9 * f, m),
    });
    const base = dates[0]!;
    const target = { width: base.width, height: base.height, depth: base.depth, geometry: base.geometry };
    const kept: MedicalDate[] = [];
    for (let i = 0; i < tps.length; i++) {
      opts.signal?.throwIfAborted();
      progress(0.9 + (0.1 * i) / tps.length, `resampling date ${i + 1} onto the baseline grid`);
      const d = dates[i]!;
      const toSource = invert4(followupToBaseline[i]!);
      let image: Float32Array | null = null;
      if (tps[i]!.imagePath) {
        try {
          const v: Volume3 = await loadVolume(tps[i]!.imagePath);
          image = i === 0 && v.width === base.width && v.height === base.height && v.depth === base.depth ? v.data : resampleLinear(v, target, toSource).data;
        } catch (err) {
          // The lesions still show without their image.
          warnings.push(`${tps[i]!.input}: its image could not be read for the view (${err instanceof Error ? err.message : String(err)})`);
        }
      }
      const instances = i === 0 ? d.instances : resampleNearest({ data: d.instances, width: d.width, height: d.height, depth: d.depth, geometry: d.geometry }, target, toSource).data;
      const trackOf = new Map<number, number>();
      for (const l of change.lesions) {
        const ids = l.instances[i];
        for (const id of Array.isArray(ids) ? ids : ids === null || ids === undefined ? [] : [ids]) if (!trackOf.has(id)) trackOf.set(id, l.track);
      }
      const maxTrack = change.lesions.reduce((n, l) => Math.max(n, l.track), 0);
      const tracks = maxTrack < 65536 ? new Uint16Array(instances.length) : new Uint32Array(instances.length);
      for (let v = 0; v < instances.length; v++) {
        const id = instances[v]!;
        if (id !== 0) tracks[v] = trackOf.get(id) ?? 0;
      }
      kept.push({ image, window: image ? percentileWindow(image) : null, tracks });
    }
    const g: MedicalGeometry = base.geometry;
    // Where each track is largest: the slice a click on its row goes to.
    const plane = base.width * base.height;
    const counts = new Map<number, Uint32Array>();
    for (const d of kept) {
      for (let i = 0; i < d.tracks.length; i++) {
        const track = d.tracks[i]!;
        if (track === 0) continue;
        let c = counts.get(track);
        if (!c) counts.set(track, (c = new Uint32Array(base.depth)));
        c[Math.floor(i / plane)]!++;
      }
    }
    const trackSlices = [...counts].map(([track, c]) => ({ track, z: c.indexOf(Math.max(...c)), rgb: trackColour(track) })).sort((a, b) => a.track - b.track);
    return {
      trackSlices,
      change,
      grid: { width: base.width, height: base.height, depth: base.depth, spacingMm: g.spacingMm, originMm: g.originMm, direction: g.direction },
      kept: { kind: 'medical', dir, change, baselineSlices: baselineSlices(change, base.measures), width: base.width, height: base.height, depth: base.depth, dates: kept },
    };
  }

  private async geo(tps: TimePoint[], dir: string, opts: CompareRunOptions, warnings: string[], progress: (f: number, m: string) => void): Promise<{ change: EngineGeoChange; grid: CompareGrid; kept: KeptGeo }> {
    const outDir = path.join(dir, 'change');
    const change = await compareGeo(tps, { outDir, warnings, ...(opts.signal ? { signal: opts.signal } : {}), onProgress: (f, m) => progress(0.8 * f, m) });
    const { width: W, height: H, geotransform, crs } = change.grid;
    progress(0.85, 'reading the change map');
    const codeSrc = await openImage(path.join(outDir, 'change.tif'));
    let codes: Uint16Array;
    try {
      const data = (await codeSrc.read({ channels: [0] })).data;
      codes = data instanceof Uint16Array ? data : Uint16Array.from(data);
    } finally {
      await codeSrc.close();
    }
    const colours = new Map<number, [number, number, number]>();
    for (const c of change.classes) colours.set(c.id, hexToRgb(c.color));
    const dates: GeoDate[] = [];
    for (let i = 0; i < tps.length; i++) {
      opts.signal?.throwIfAborted();
      progress(0.9 + (0.1 * i) / tps.length, `rendering date ${i + 1}`);
      const tp = tps[i]!;
      if (!tp.imagePath) {
        dates.push({ bitmap: null, mapper: null });
        continue;
      }
      try {
        const src = await openImage(tp.imagePath);
        try {
          const g = src.geometry;
          if (g.type !== 'geo' || !g.crs) throw new InputError(tp.imagePath, 'has no georeferencing');
          const maxSize = Math.min(4096, Math.max(src.width, src.height));
          const bitmap = await renderSlice(src, { z: 0, maxSize });
          const mapper = pixelCentreMapper({ geotransform, crs, width: W }, { geotransform: g.geotransform, crs: g.crs, width: src.width, height: src.height });
          dates.push({ bitmap: { width: bitmap.width, height: bitmap.height, scale: bitmap.scale, rgba: bitmap.rgba }, mapper });
        } finally {
          await src.close();
        }
      } catch (err) {
        warnings.push(`${tp.input}: its image could not be shown (${err instanceof Error ? err.message : String(err)})`);
        dates.push({ bitmap: null, mapper: null });
      }
    }
    return { change, grid: { width: W, height: H, depth: 1, geotransform, crs }, kept: { kind: 'geo', dir, width: W, height: H, dates, codes, colours } };
  }

  private get(compareId: string): Kept {
    const k = this.kept.get(compareId);
    if (!k) throw new InputError(compareId, 'no such comparison (closed, or the engine restarted): run Compare again');
    return k;
  }

  /** One date's slice on the common grid and its change overlay, at most maxSize on its longest side. */
  slice(request: Omit<CompareSliceRequest, 'compareId'> & { compareId: string }): CompareSlice {
    const k = this.get(request.compareId);
    const t = request.timepoint;
    if (!Number.isInteger(t) || t < 0 || t >= k.dates.length) throw new RangeError(`date ${t} is outside 0..${k.dates.length - 1}`);
    const depth = k.kind === 'medical' ? k.depth : 1;
    if (!Number.isInteger(request.z) || request.z < 0 || request.z >= depth) throw new RangeError(`slice ${request.z} is outside 0..${depth - 1}`);
    const { outW, outH, scale } = previewSize(k.width, k.height, request.maxSize);
    const rgba = new Uint8Array(outW * outH * 4);
    const overlay = new Uint8Array(outW * outH * 4);
    // Nearest sampling of the common grid at the preview's pixel centres (one column and row index per preview pixel).
    const xs = Int32Array.from({ length: outW }, (_, c) => Math.min(k.width - 1, Math.floor((c + 0.5) * (k.width / outW))));
    const ys = Int32Array.from({ length: outH }, (_, r) => Math.min(k.height - 1, Math.floor((r + 0.5) * (k.height / outH))));
    let window: CompareSlice['window'] = null;
    if (k.kind === 'medical') {
      const d = k.dates[t]!;
      window = request.window ?? d.window;
      const plane = k.width * k.height;
      const off = request.z * plane;
      const lo = window ? window.center - window.width / 2 : 0;
      const gain = window && window.width > 0 ? 255 / window.width : 1;
      const ids = new Uint32Array(outW * outH);
      for (let r = 0; r < outH; r++) {
        for (let c = 0; c < outW; c++) {
          const src = off + ys[r]! * k.width + xs[c]!;
          const o = r * outW + c;
          const v = d.image ? Math.max(0, Math.min(255, Math.round((d.image[src]! - lo) * gain))) : 0;
          rgba[o * 4] = v;
          rgba[o * 4 + 1] = v;
          rgba[o * 4 + 2] = v;
          rgba[o * 4 + 3] = 255;
          ids[o] = d.tracks[src]!;
        }
      }
      // Lesion areas translucent, their outlines (a neighbour of another track) opaque, in the track's colour.
      for (let r = 0; r < outH; r++) {
        for (let c = 0; c < outW; c++) {
          const o = r * outW + c;
          const id = ids[o]!;
          if (id === 0) continue;
          const edge = c === 0 || r === 0 || c === outW - 1 || r === outH - 1 || ids[o - 1] !== id || ids[o + 1] !== id || ids[o - outW] !== id || ids[o + outW] !== id;
          const [cr, cg, cb] = trackColour(id);
          overlay[o * 4] = cr;
          overlay[o * 4 + 1] = cg;
          overlay[o * 4 + 2] = cb;
          overlay[o * 4 + 3] = edge ? 255 : 90;
        }
      }
    } else {
      const d = k.dates[t]!;
      const cols = new Int32Array(k.width);
      const rows = new Int32Array(k.width);
      for (let r = 0; r < outH; r++) {
        const y = ys[r]!;
        if (d.mapper && d.bitmap) d.mapper(y, cols, rows);
        for (let c = 0; c < outW; c++) {
          const x = xs[c]!;
          const o = r * outW + c;
          if (d.bitmap && d.mapper && cols[x]! >= 0 && rows[x]! >= 0) {
            const b = d.bitmap;
            const bx = Math.min(b.width - 1, Math.floor(cols[x]! / b.scale));
            const by = Math.min(b.height - 1, Math.floor(rows[x]! / b.scale));
            const s = (by * b.width + bx) * 4;
            rgba[o * 4] = b.rgba[s]!;
            rgba[o * 4 + 1] = b.rgba[s + 1]!;
            rgba[o * 4 + 2] = b.rgba[s + 2]!;
            rgba[o * 4 + 3] = b.rgba[s + 3]!;
          }
          const code = k.codes[y * k.width + x]!;
          if (code === NO_VALUE) continue;
          const from = Math.floor(code / 100);
          const to = code % 100;
          if (from === to) continue;
          const [cr, cg, cb] = k.colours.get(to) ?? [128, 128, 128];
          overlay[o * 4] = cr;
          overlay[o * 4 + 1] = cg;
          overlay[o * 4 + 2] = cb;
          overlay[o * 4 + 3] = 200;
        }
      }
    }
    return { compareId: request.compareId, timepoint: t, z: request.z, width: outW, height: outH, scale, rgba, overlay, window };
  }

  /**
   * The medical document with user-chosen RECIST target lesions (track ids), recomputed from the one compare made;
   * null restores compare's own choice. Refuses (with the reason) tracks that are no possible targets.
   */
  targets(compareId: string, tracks: number[] | null): MedicalChangeDocument {
    const k = this.get(compareId);
    if (k.kind !== 'medical') throw new InputError(compareId, 'target lesions apply to medical comparisons');
    return tracks === null ? k.change : withTargets(k.change, tracks, { baselineSlices: k.baselineSlices });
  }

  /** Writes the DICOM SR measurement report of a medical comparison, as `export --to sr [--targets]` does, to out. */
  async exportReport(compareId: string, tracks: number[] | null, out: string, deidentify: boolean): Promise<void> {
    const k = this.get(compareId);
    if (k.kind !== 'medical') throw new InputError(compareId, 'a measurement report is made of medical comparisons only');
    await exportMeasurementReport(path.join(k.dir, 'change.json'), out, { warnings: [], deidentify, ...(tracks ? { targets: tracks } : {}) });
  }

  /** Forgets a comparison and removes its work files. */
  async close(compareId: string): Promise<void> {
    const k = this.kept.get(compareId);
    if (!k) return;
    this.kept.delete(compareId);
    await fs.rm(k.dir, { recursive: true, force: true });
  }

  /** Removes every comparison's work files (the host is going away). */
  async closeAll(): Promise<void> {
    for (const id of [...this.kept.keys()]) await this.close(id);
  }
}
