// Land-cover (and building) change between dates of georeferenced results. The earliest date's grid is the common
// grid; every later date's label map is resampled onto it nearest-neighbour (grid.ts), strip by strip. Only pixels
// valid on both dates of a pair count; pixel counts are exact on that grid, areas are the ellipsoidal area of each
// common-grid pixel (measure/geo.ts, as in the measurements). Writes into outDir (the caller makes it a temporary
// folder and renames it, so a failed comparison leaves nothing):
//   change.json  kind, timepoints, classes with net/gross/swap, transitions, netHa, overlapHa (+ objects, steps)
//   change.csv   one row per transition of the earliest and the latest date
//   change.tif   uint16 code from x 100 + to on the common grid, 65535 outside, with a colour table
//   change.gpkg  polygons of the changed areas (from, to, areaHa), slivers below --min-area dropped
// Memory: the comparison itself is O(strip); the polygons need the change map whole below the streaming threshold
// (postprocess/streaming.ts), and above it read change.tif back strip by strip (slower, bounded memory).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { GeoGeometry, GeoTransform, InstancesDocument, InstanceRecord } from '../../../../preload/formats';
import { InputError, type PixelArray } from '../../image';
import { openImage } from '../../io/index';
import { TiffWriter } from '../../io/tiff-writer';
import { writeFileAtomic } from '../../io/atomic';
import { geoMeasurer } from '../../measure/geo';
import { connectedComponents, type ComponentStats } from '../../postprocess/components';
import { STRIP_ROWS, streamComponents, streamingThresholdPx, type RowSource } from '../../postprocess/streaming';
import { buildVectorLayer, writeGeoPackage, type FieldDef, type VectorFeature, type VectorLayer } from '../../export/vector';
import { csvField } from '../../export/results';
import { hexToRgb } from '../../export/overlay';
import type { TimePoint } from '../timepoints';
import { className, matchClasses, type ChangeClass } from './classes';
import { gridOf, NO_VALUE, pixelCentreMapper, resampleStrip, type GridRaster } from './grid';
import { isInstanceResult, ObjectOverlay, type ObjectSummary } from './objects';
import { roundHa, summarize, Tally, type PairSummary } from './tally';

export interface CompareGeoOptions {
  outDir: string;
  /** Minimum mapping unit (m²): change polygons smaller than this are left out of change.gpkg. */
  minAreaM2?: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
  /** Warnings so far (time points); the comparison's own are appended. */
  warnings: string[];
  /** Rows per strip (tests use small strips to cross strip borders); default 256, the output's tile size. */
  stripRows?: number;
}

export interface GeoChangeDocument extends PairSummary {
  kind: 'geo';
  timepoints: Array<{ input: string; date: string | null }>;
  /** The common grid: the earliest date's label raster. */
  grid: { input: string; width: number; height: number; geotransform: GeoGeometry['geotransform']; crs: string };
  /** How pixel areas were computed: ellipsoidal (WGS84) or planar (CRS unknown offline). */
  areaMethod: 'ellipsoidal' | 'planar';
  minAreaM2: number;
  polygons: number;
  /** Instance models only: new, demolished, changed and unchanged objects between the earliest and latest date. */
  objects?: Omit<ObjectSummary, 'objects'> & { list: ObjectSummary['objects'] };
  /** Three or more dates: the change between each date and the next (the top level is earliest -> latest). */
  steps?: Array<{ from: number; to: number } & PairSummary>;
  warnings: string[];
}

/** Largest class id that fits the change code from x 100 + to. */
const MAX_CODE_CLASS = 99;

function colourTable(classes: Map<number, ChangeClass>): Array<[number, number, number]> {
  const table: Array<[number, number, number]> = Array.from({ length: 65536 }, (): [number, number, number] => [0, 0, 0]);
  const rgb = (id: number): [number, number, number] => hexToRgb(classes.get(id)?.color ?? '#808080');
  for (let f = 0; f <= MAX_CODE_CLASS; f++) {
    for (let t = 0; t <= MAX_CODE_CLASS; t++) {
      // Changed pixels take the new class's colour; unchanged ones a pale version of it, so change stands out.
      const [r, g, b] = rgb(t);
      table[f * 100 + t] = f === t ? [Math.round(r * 0.25 + 191), Math.round(g * 0.25 + 191), Math.round(b * 0.25 + 191)] : [r, g, b];
    }
  }
  return table;
}

async function openGrid(tp: TimePoint, file: string): Promise<GridRaster> {
  const src = await openImage(file);
  try {
    return gridOf(tp.input, src, src.dtype === 'uint16' ? 65535 : src.dtype === 'uint8' ? 255 : null);
  } catch (err) {
    await src.close();
    throw err;
  }
}

async function instancesFile(tp: TimePoint): Promise<string | null> {
  const p = path.join(tp.resultDir, 'instances.tif');
  try {
    await fs.access(p);
    return p;
  } catch {
    return null;
  }
}

const CHANGE_FIELDS: FieldDef[] = [
  { name: 'from', type: 'integer' },
  { name: 'fromName', type: 'text' },
  { name: 'to', type: 'integer' },
  { name: 'toName', type: 'text' },
  { name: 'pixels', type: 'integer' },
  { name: 'areaHa', type: 'real' },
];

/**
 * The polygons of one change piece (an 8-connected run of one from-to code, `s.id` in `instances`, a map of
 * width x height whose pixel (0, 0) is the common grid's (x0, y0)), with its attributes.
 */
function pieceFeatures(s: ComponentStats, areaM2: number, instances: Uint32Array, width: number, height: number, x0: number, y0: number, grid: GridRaster, classes: Map<number, ChangeClass>): VectorFeature[] {
  const from = Math.floor(s.classId / 100);
  const to = s.classId % 100;
  const record: InstanceRecord = {
    id: s.id,
    classId: s.classId,
    className: `${className(classes, from)} -> ${className(classes, to)}`,
    pixelCount: s.pixelCount,
    bbox: { min: [s.min[0] - x0, s.min[1] - y0], max: [s.max[0] - x0, s.max[1] - y0] },
    centroidPx: [s.sum[0] / s.pixelCount - x0, s.sum[1] / s.pixelCount - y0],
  };
  const g = grid.geotransform;
  const geotransform: GeoTransform = [g[0] + x0 * g[1] + y0 * g[2], g[1], g[2], g[3] + x0 * g[4] + y0 * g[5], g[4], g[5]];
  const geometry: GeoGeometry = { type: 'geo', geotransform, crs: grid.crs };
  const document: InstancesDocument = { source: { file: grid.src.file, kind: 'geo', width, height, depth: 1 }, classes: [], instances: [record] };
  // Pixel-exact outlines (no simplification), so each polygon's area is the area counted in the tables.
  const layer = buildVectorLayer({ width, height, geometry, instances, document }, { toleranceMapUnits: 0, layerName: 'change' });
  return layer.features.map((f) => ({ ...f, properties: { from, fromName: className(classes, from), to, toName: className(classes, to), pixels: s.pixelCount, areaHa: roundHa(areaM2) } }));
}

/** Change polygons from the whole code map in memory: 8-connected pieces of one from-to code, below minAreaM2 dropped. */
function changeLayer(codes: Uint16Array, grid: GridRaster, pixelAreaM2: (x: number, y: number) => number, classes: Map<number, ChangeClass>, minAreaM2: number): VectorLayer {
  const { width: W, height: H } = grid;
  const cc = connectedComponents({ labels: codes, width: W, height: H, depth: 1, nodataLabel: NO_VALUE, connectivity: 8 });
  const areaM2 = new Float64Array(cc.stats.length + 1);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const id = cc.instances[y * W + x]!;
      if (id !== 0) areaM2[id]! += pixelAreaM2(x, y);
    }
  }
  const features: VectorFeature[] = [];
  for (const s of cc.stats) if (areaM2[s.id]! >= minAreaM2) features.push(...pieceFeatures(s, areaM2[s.id]!, cc.instances, W, H, 0, 0, grid, classes));
  return { name: 'change', crs: grid.crs, fields: CHANGE_FIELDS, features };
}

/**
 * The same polygons for rasters too large to hold whole: change.tif is read back strip by strip into streamed
 * components (postprocess/streaming.ts, same ids and pieces as in memory), their areas summed strip by strip from the
 * instance map on disk, and each kept piece traced from a rolling window of two strips (a taller piece from a read
 * of its own bounding box).
 */
async function changeLayerStreamed(changeTif: string, grid: GridRaster, pixelAreaM2: (x: number, y: number) => number, classes: Map<number, ChangeClass>, minAreaM2: number, signal?: AbortSignal): Promise<VectorLayer> {
  const change = await openImage(changeTif);
  try {
    // Unchanged codes (from = to) are not change: they read as background.
    const rows: RowSource = {
      file: change.file,
      width: change.width,
      height: change.height,
      dtype: 'uint16',
      read: async (region) => {
        const b = await change.read(region);
        const data = new Uint16Array(b.data.length);
        for (let i = 0; i < data.length; i++) {
          const v = b.data[i]!;
          data[i] = v === NO_VALUE ? NO_VALUE : Math.floor(v / 100) === v % 100 ? 0 : v;
        }
        return { ...b, data, dtype: 'uint16' };
      },
    };
    const geometry: GeoGeometry = { type: 'geo', geotransform: grid.geotransform, crs: grid.crs };
    const cc = await streamComponents({ labels: rows, nodataLabel: NO_VALUE, connectivity: 8, geometry, ...(signal ? { signal } : {}) });
    try {
      const inst = await openImage(cc.instancesPath);
      try {
        const { width: W, height: H } = grid;
        const areaM2 = new Float64Array(cc.stats.length + 1);
        for (let y0 = 0; y0 < H; y0 += STRIP_ROWS) {
          signal?.throwIfAborted();
          const h = Math.min(STRIP_ROWS, H - y0);
          const ids = (await inst.read({ x: 0, y: y0, width: W, height: h, channels: [0] })).data;
          for (let j = 0; j < h; j++) {
            for (let x = 0; x < W; x++) {
              const id = ids[j * W + x]!;
              if (id !== 0) areaM2[id]! += pixelAreaM2(x, y0 + j);
            }
          }
        }
        // Pieces come in raster order of their first pixel, so a rolling window of two strips holds nearly all of
        // them; only a piece taller than that is read on its own.
        const features: VectorFeature[] = [];
        let windowY = -1;
        let windowRows = 0;
        let window: PixelArray | null = null;
        for (const s of cc.stats) {
          if (areaM2[s.id]! < minAreaM2) continue;
          signal?.throwIfAborted();
          const w = s.max[0] - s.min[0] + 1;
          const h = s.max[1] - s.min[1] + 1;
          if (!window || s.min[1] >= windowY + STRIP_ROWS) {
            windowY = Math.floor(s.min[1] / STRIP_ROWS) * STRIP_ROWS;
            windowRows = Math.min(2 * STRIP_ROWS, H - windowY);
            window = (await inst.read({ x: 0, y: windowY, width: W, height: windowRows, channels: [0] })).data;
          }
          let crop: Uint32Array;
          if (s.max[1] < windowY + windowRows) {
            crop = new Uint32Array(w * h);
            for (let j = 0; j < h; j++) {
              const from = (s.min[1] - windowY + j) * W + s.min[0];
              for (let i = 0; i < w; i++) crop[j * w + i] = window[from + i]!;
            }
          } else {
            crop = Uint32Array.from((await inst.read({ x: s.min[0], y: s.min[1], width: w, height: h, channels: [0] })).data);
          }
          features.push(...pieceFeatures(s, areaM2[s.id]!, crop, w, h, s.min[0], s.min[1], grid, classes));
        }
        return { name: 'change', crs: grid.crs, fields: CHANGE_FIELDS, features };
      } finally {
        await inst.close();
      }
    } finally {
      await cc.cleanup();
    }
  } finally {
    await change.close();
  }
}

function changeCsv(s: PairSummary): string {
  const lines = [['from', 'fromName', 'to', 'toName', 'pixels', 'areaHa'].join(',')];
  for (const t of s.transitions) lines.push([t.from, t.fromName, t.to, t.toName, t.pixels, t.areaHa].map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** Compares the label maps of two or more georeferenced time points (ordered, earliest first); writes into outDir. */
export async function compareGeo(tps: TimePoint[], opts: CompareGeoOptions): Promise<GeoChangeDocument> {
  if (tps.length < 2) throw new InputError(tps[0]?.input ?? 'compare', 'a comparison needs at least two time points');
  const warnings: string[] = [];
  const classes = matchClasses(tps);
  for (const id of classes.keys()) if (id > MAX_CODE_CLASS) throw new InputError(tps[0]!.input, `class id ${id} does not fit the change code from x 100 + to (ids up to ${MAX_CODE_CLASS})`);
  const last = tps.length - 1;
  const objectsWanted = isInstanceResult(tps[0]!.instances) && isInstanceResult(tps[last]!.instances);
  const grids: GridRaster[] = [];
  const objectGrids: GridRaster[] = [];
  let writer: TiffWriter | null = null;
  try {
    for (const tp of tps) grids.push(await openGrid(tp, tp.labelsPath));
    if (objectsWanted) {
      for (const tp of [tps[0]!, tps[last]!]) {
        const f = await instancesFile(tp);
        if (!f) throw new InputError(tp.resultDir, 'an instance result needs its instances.tif for object change');
        objectGrids.push(await openGrid(tp, f));
        objectGrids[objectGrids.length - 1]!.nodata = null;
      }
    }
    const common = grids[0]!;
    const { width: W, height: H } = common;
    const geometry: GeoGeometry = { type: 'geo', geotransform: common.geotransform, crs: common.crs };
    const measurer = geoMeasurer(geometry, W, H);
    if (!measurer) throw new InputError(common.src.file, 'cannot compute areas: the CRS is geographic but unknown offline');
    const mappers = grids.map((g) => pixelCentreMapper(common, g));
    const pairs: Array<[number, number]> = [[0, last]];
    if (tps.length > 2) for (let i = 0; i < last; i++) pairs.push([i, i + 1]);
    const tallies = pairs.map(() => new Tally());
    const overlay = objectsWanted ? new ObjectOverlay() : null;
    // The change map is kept whole for the polygons only below the streaming threshold; above it, change.tif is read back.
    const streamed = W * H > streamingThresholdPx();
    const codes = streamed ? null : new Uint16Array(W * H);
    await fs.mkdir(opts.outDir, { recursive: true });
    writer = await TiffWriter.open(
      path.join(opts.outDir, 'change.tif'),
      { width: W, height: H, channels: 1, dtype: 'uint16', geometry, nodata: NO_VALUE },
      { colormap: colourTable(classes), description: `change: code = from x 100 + to; ${[...classes.values()].map((c) => `${c.id}=${c.name}`).join(';')}; 65535 = outside` },
    );
    const strip = opts.stripRows ?? writer.tileSize;
    if (strip % writer.tileSize !== 0 && strip < H) throw new RangeError('stripRows must be a multiple of the tile size');
    const rowArea = new Float64Array(W);
    for (let y0 = 0; y0 < H; y0 += strip) {
      opts.signal?.throwIfAborted();
      opts.onProgress?.(y0 / H, `comparing rows ${y0}-${Math.min(H, y0 + strip)} of ${H}`);
      const h = Math.min(strip, H - y0);
      const values: Uint16Array[] = [];
      const ids: Array<Uint32Array | null> = [];
      for (let k = 0; k < grids.length; k++) {
        const withObjects = objectsWanted && (k === 0 || k === last) ? objectGrids[k === 0 ? 0 : 1] : undefined;
        const r = await resampleStrip(grids[k]!, mappers[k]!, y0, h, W, withObjects);
        for (let i = 0; i < r.values.length; i++) {
          const v = r.values[i]!;
          if (v !== NO_VALUE && v > MAX_CODE_CLASS) throw new InputError(grids[k]!.src.file, `label value ${v} does not fit the change code from x 100 + to (classes up to ${MAX_CODE_CLASS})`);
        }
        values.push(r.values);
        ids.push(r.extra);
      }
      const out = new Uint16Array(W * h);
      for (let j = 0; j < h; j++) {
        const y = y0 + j;
        for (let x = 0; x < W; x++) rowArea[x] = measurer.pixelAreaM2(x, y);
        for (let p = 0; p < pairs.length; p++) {
          const a = values[pairs[p]![0]]!;
          const b = values[pairs[p]![1]]!;
          const t = tallies[p]!;
          for (let x = 0; x < W; x++) {
            const i = j * W + x;
            const va = a[i]!;
            const vb = b[i]!;
            if (va === NO_VALUE || vb === NO_VALUE) continue;
            t.add(va, vb, rowArea[x]!);
          }
        }
        const a = values[0]!;
        const b = values[last]!;
        const ia = ids[0];
        const ib = ids[last];
        for (let x = 0; x < W; x++) {
          const i = j * W + x;
          const va = a[i]!;
          const vb = b[i]!;
          const valid = va !== NO_VALUE && vb !== NO_VALUE;
          out[i] = valid ? va * 100 + vb : NO_VALUE;
          if (codes) codes[y * W + x] = valid && va !== vb ? va * 100 + vb : 0;
          if (valid && overlay && ia && ib) overlay.add(ia[i]!, ib[i]!, rowArea[x]!);
        }
      }
      await writer.writeWindow(0, y0, W, h, out);
    }
    const main = summarize(tallies[0]!, classes);
    if (main.overlapPixels === 0) {
      throw new InputError(tps[last]!.input, `does not overlap ${tps[0]!.input}: no pixel is valid on both dates`);
    }
    await writer.close();
    writer = null;
    opts.onProgress?.(0.95, 'change polygons');
    const minAreaM2 = opts.minAreaM2 ?? 0;
    const pixelAreaM2 = (x: number, y: number): number => measurer.pixelAreaM2(x, y);
    const layer = codes
      ? changeLayer(codes, common, pixelAreaM2, classes, minAreaM2)
      : await changeLayerStreamed(path.join(opts.outDir, 'change.tif'), common, pixelAreaM2, classes, minAreaM2, opts.signal);
    await writeGeoPackage(path.join(opts.outDir, 'change.gpkg'), layer);
    const objectSummary = overlay?.summarize();
    const coverage = main.overlapPixels / (W * H);
    if (coverage < 0.5) warnings.push(`only ${(coverage * 100).toFixed(1)}% of ${tps[0]!.input}'s grid is valid on both dates`);
    const doc: GeoChangeDocument = {
      kind: 'geo',
      timepoints: tps.map((tp) => ({ input: tp.input, date: tp.date })),
      grid: { input: tps[0]!.input, width: W, height: H, geotransform: common.geotransform, crs: common.crs },
      areaMethod: measurer.method,
      ...main,
      minAreaM2,
      polygons: layer.features.length,
      ...(objectSummary ? { objects: { counts: objectSummary.counts, areaHa: objectSummary.areaHa, list: objectSummary.objects } } : {}),
      ...(tps.length > 2 ? { steps: pairs.slice(1).map(([from, to], i) => ({ from, to, ...summarize(tallies[i + 1]!, classes) })) } : {}),
      warnings: [...opts.warnings, ...warnings],
    };
    opts.warnings.push(...warnings);
    await writeFileAtomic(path.join(opts.outDir, 'change.json'), JSON.stringify(doc, null, 2) + '\n');
    await writeFileAtomic(path.join(opts.outDir, 'change.csv'), changeCsv(main));
    opts.onProgress?.(1, 'done');
    return doc;
  } finally {
    if (writer) await writer.abort();
    for (const g of [...grids, ...objectGrids]) await g.src.close();
  }
}

