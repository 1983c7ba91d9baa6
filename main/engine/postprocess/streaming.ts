// Instances and measurements of 2D label rasters too large for memory, read strip by strip from disk (an
// ImageSource, e.g. a label GeoTIFF). Same results as components.ts + measure/index.ts, in bounded memory:
//
// Pass 1 (label): each strip of `stripRows` rows is labelled on its own with union-find (connectivity as in
//   components.ts); its components get global provisional ids base+1..base+k in raster order of their first pixel,
//   so provisional ids grow with first-pixel order over the whole raster. Only the previous strip's last row (classes
//   and global ids) is kept to join components across the border, in a global equivalence table (union by smaller
//   root, so a root is its component's first piece). Per provisional id: pixel count, bbox, index sums, class.
// Resolve: pieces are folded into their roots; final ids 1..n go to roots in id order = raster order of the first
//   pixel, the rule of components.ts; objects below minPixels get 0 and the rest are renumbered, as there.
// Pass 2 (write): the strips are labelled again (deterministic, so the same provisional ids) and mapped through the
//   resolved table; the instance map (uint16, or uint32 from 65536 instances) and, on request, the cleaned label
//   map go to disk through the streaming TiffWriter; intensity and probability sums are gathered here, in raster
//   order per final id, so floating-point sums equal the in-memory ones bit for bit.
// Pass 3 (shape): instance ids are read back in a rolling window of two strips; every instance whose first row is
//   in the window's top strip and whose bbox fits the window is measured from it (measure/index.ts
//   planeShapeFields on its bbox crop); taller ones get a crop read of their own.
// Records: measured RECORD_CHUNK at a time in id order by measure/index.ts InstanceMeasurer (class totals summed
//   on the side, in the same order as measureInstances does) and handed to a sink (measureStreamingTo): the windowed
//   run writes them straight to disk (io/record-spill.ts), so no list of all records ever exists.
// Memory per instance: 48 bytes per provisional id in pass 1 (PieceTable columns, grown by doubling) and 4 in pass
//   2 (provisional -> final id), then 82 bytes per instance (StatsTable columns) through pass 3, plus O(strip) for
//   the rasters and one chunk of records; only a single instance taller than two strips costs its own bbox crop
//   (as in memory). measureStreaming (the array API) adds the records and statistics objects on top.
import type { ClassRecord, Geometry, InstanceRecord, ManifestClass } from '../../../preload/formats';
import type { PixelArray } from '../image';
import { openGeoTiff } from '../io/geotiff';
import { TiffWriter, type TiffWriteOptions } from '../io/tiff-writer';
import { throwIfAborted, yielder } from '../inference/tiling';
import { cropMask, InstanceMeasurer, planeShapeFields, shapeContext } from '../measure/index';
import type { GeoMeasurer } from '../measure/geo';
import { backwardNeighbours, findRoot, type ComponentStats, type Connectivity } from './components';
import { checkLabels, instanceMapPath, openInstanceWriter, PieceTable, readRows, StatsTable, writeInstanceRows, type RowSource } from './streaming-common';

/** Kept here too: callers of streamComponents name their sources with it. */
export type { RowSource } from './streaming-common';

/** Rows per strip: a multiple of the output's 256 px TIFF tiles. */
export const STRIP_ROWS = 512;
/** `delineate measure` (and windowed segmentation) stream label rasters with more pixels than this. */
export const STREAMING_MIN_PX = 8192 * 8192;

/** The streaming threshold in pixels: STREAMING_MIN_PX, or DELINEATE_STREAMING_THRESHOLD_PX (tests lower it). */
export function streamingThresholdPx(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.DELINEATE_STREAMING_THRESHOLD_PX);
  return env.DELINEATE_STREAMING_THRESHOLD_PX !== undefined && Number.isFinite(v) && v >= 0 ? v : STREAMING_MIN_PX;
}

export interface StreamingInput {
  /** Label map (channel 0): class ids, 0 = background, nodataLabel = nodata. */
  labels: RowSource;
  nodataLabel: number;
  connectivity: Connectivity;
  /** Channel-0 intensities, same size. */
  intensity?: RowSource;
  /** Probability of the assigned class, stored as uint8 p x 255 (read as Float32 v / 255, as windowed.ts does). */
  probability?: RowSource;
  minPixels?: number;
  /** Rows per strip, a multiple of 16 (default STRIP_ROWS); written tiles are 256 px when it allows, else the strip. */
  stripRows?: number;
  /** Where to write the instance map (GeoTIFF); default a temporary file removed at the end. */
  instancesPath?: string;
  /** Where to write the label map with objects below minPixels cleared (omit: not written). */
  labelsPath?: string;
  /** Options for the label map's writer (colour table, description), given the largest label value found. */
  labelsOptions?: (maxLabel: number) => TiffWriteOptions;
  geometry: Geometry;
  /** Per written strip: its rows, cleaned class labels and final instance ids (previews). */
  onStrip?: (y: number, rows: number, labels: PixelArray, ids: Uint32Array) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface StreamingComponents {
  /** Per final id (index = id - 1), as connectedComponents gives them, in columns. */
  table: StatsTable;
  /** The same as objects, made on first use (callers that need the array; the records path never asks). */
  readonly stats: ComponentStats[];
  /** Labelled pixels per label value (index = value, 0..65535), after objects below minPixels were cleared. */
  perValue: Float64Array;
  /** Pixels that are not nodata. */
  valid: number;
  /** Largest label value other than 0, 255 and 65535 (which pipeline.ts never counts as classes). */
  maxLabel: number;
  /** The instance map written (instancesPath or a temporary file). */
  instancesPath: string;
  /** Removes the temporary instance map, if one was made. */
  cleanup(): Promise<void>;
}

/**
 * Union-find labelling of one strip on its own. After label(): ids[i] = 1..count in raster order of each strip
 * component's first pixel (0 = background or nodata). Deterministic, so pass 2 reproduces pass 1's ids.
 */
class StripLabeller {
  ids: Uint32Array;
  private parent = new Uint32Array(1024);
  private compact = new Uint32Array(1024);
  /** Backward neighbours as flat dx, dy pairs (an array of tuples costs a third of the labelling time). */
  private readonly ndx: Int32Array;
  private readonly ndy: Int32Array;

  constructor(
    private readonly width: number,
    rows: number,
    connectivity: Connectivity,
    private readonly nodataLabel: number,
  ) {
    this.ids = new Uint32Array(width * rows);
    const nb = backwardNeighbours(connectivity, false);
    this.ndx = Int32Array.from(nb, ([dx]) => dx);
    this.ndy = Int32Array.from(nb, ([, dy]) => dy);
  }

  private find(a: number): number {
    return findRoot(this.parent, a);
  }

  /** Labels `rows` rows of class values; returns the number of strip components. */
  label(cls: PixelArray, rows: number): number {
    const W = this.width;
    const nodata = this.nodataLabel;
    const ids = this.ids;
    const { ndx, ndy } = this;
    ids.fill(0, 0, W * rows);
    let next = 1;
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        const c = cls[i]!;
        if (c === 0 || c === nodata) continue;
        let label = 0;
        for (let k = 0; k < ndx.length; k++) {
          const nx = x + ndx[k]!;
          const ny = y + ndy[k]!;
          if (nx < 0 || nx >= W || ny < 0) continue;
          const j = ny * W + nx;
          if (cls[j] !== c) continue;
          const other = ids[j]!;
          if (label === 0) label = this.find(other);
          else {
            const ra = this.find(label);
            const rb = this.find(other);
            if (ra !== rb) {
              if (ra < rb) this.parent[rb] = ra;
              else this.parent[ra] = rb;
              label = Math.min(ra, rb);
            }
          }
        }
        if (label === 0) {
          if (next >= this.parent.length) {
            const grown = new Uint32Array(this.parent.length * 2);
            grown.set(this.parent);
            this.parent = grown;
          }
          this.parent[next] = next;
          label = next++;
        }
        ids[i] = label;
      }
    }
    if (this.compact.length < next) this.compact = new Uint32Array(Math.max(next, this.compact.length * 2));
    const compact = this.compact;
    compact.fill(0, 0, next);
    let count = 0;
    for (let i = 0; i < W * rows; i++) {
      const p = ids[i]!;
      if (p === 0) continue;
      const root = this.find(p);
      let id = compact[root]!;
      if (id === 0) id = compact[root] = ++count;
      ids[i] = id;
    }
    return count;
  }
}

/** bytesToUnit of each byte value (index 0..255): the float32 of v / 255. */
const UNIT_OF_BYTE = Float64Array.from(bytesToUnit(Uint8Array.from({ length: 256 }, (_, v) => v)));

/**
 * p x 255 samples as float32 p (the values windowed.ts's whole-map stage gives). A plain loop: TypedArray.from
 * with a map function is some 20x slower in V8, seconds per 8192 x 512 strip.
 */
export function bytesToUnit(data: PixelArray): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! / 255;
  return out;
}

/** Largest label value of a raster read strip by strip (chooses nodata 255 or 65535, as pipeline.ts does). */
export async function scanLabelMax(src: RowSource, stripRows = STRIP_ROWS): Promise<number> {
  let max = 0;
  for (let y = 0; y < src.height; y += stripRows) {
    const data = await readRows(src, y, Math.min(stripRows, src.height - y));
    checkLabels(data, src.file);
    for (let i = 0; i < data.length; i++) if (data[i]! > max) max = data[i]!;
  }
  return max;
}

/** Nodata of a label raster, the rule of pipeline.ts: 255, or 65535 when a value is above 255 (a prescan unless uint8). */
export async function labelNodata(src: RowSource, stripRows = STRIP_ROWS): Promise<number> {
  return src.dtype === 'uint8' ? 255 : (await scanLabelMax(src, stripRows)) > 255 ? 65535 : 255;
}

/** Passes 1 and 2: components of every class, their statistics, and the instance map on disk. */
export async function streamComponents(input: StreamingInput): Promise<StreamingComponents> {
  const src = input.labels;
  const { width: W, height: H } = src;
  const S = input.stripRows ?? STRIP_ROWS;
  if (!(Number.isInteger(S) && S >= 16 && S % 16 === 0)) throw new RangeError(`streamComponents: strip rows must be a multiple of 16, got ${S}`);
  // Writer tiles must divide the strip so every strip write is tile-aligned.
  const tileSize = S % 256 === 0 ? 256 : S;
  const nodata = input.nodataLabel;
  const labeller = new StripLabeller(W, Math.min(S, H), input.connectivity, nodata);
  // Global provisional ids (index 0 unused): equivalence table and per-piece statistics.
  // One plane: no z columns.
  const table = new PieceTable(false);
  const up = backwardNeighbours(input.connectivity, false).filter(([, dy]) => dy < 0);
  const prevCls = new Float64Array(W);
  const prevIds = new Uint32Array(W);
  const bases: number[] = [];

  // ---- pass 1
  for (let y0 = 0; y0 < H; y0 += S) {
    throwIfAborted(input.signal);
    const rows = Math.min(S, H - y0);
    const cls = await readRows(src, y0, rows);
    checkLabels(cls, src.file);
    const base = table.add(labeller.label(cls, rows), 0);
    bases.push(base);
    const ids = labeller.ids;
    table.addPixels(cls, ids, base, W, rows, y0, 0, nodata);
    // Join with the previous strip's last row.
    if (y0 > 0) {
      for (let x = 0; x < W; x++) {
        const c = cls[x]!;
        if (c === 0 || c === nodata) continue;
        for (const [dx] of up) {
          const nx = x + dx;
          if (nx < 0 || nx >= W || prevCls[nx] !== c) continue;
          table.union(base + ids[x]!, prevIds[nx]!);
        }
      }
    }
    const last = (rows - 1) * W;
    for (let x = 0; x < W; x++) {
      prevCls[x] = cls[last + x]!;
      const id = ids[last + x]!;
      prevIds[x] = id === 0 ? 0 : base + id;
    }
  }

  // ---- resolve: fold pieces into their roots (a root is the smallest id of its set), final ids in id order.
  const minPixels = input.minPixels ?? 0;
  const resolved = table.resolveTable(minPixels);
  let finalOf: Uint32Array | null = resolved.finalOf;
  const stats = resolved.table;
  const { perValue, valid, maxLabel } = table;

  // ---- pass 2: relabel, write, gather intensity and probability in raster order.
  const { instancesPath, cleanup } = await instanceMapPath(input.instancesPath);
  const wide = stats.length >= 65536;
  const writers: TiffWriter[] = [];
  try {
    const instWriter = await openInstanceWriter(instancesPath, W, H, wide, input.geometry, tileSize);
    writers.push(instWriter);
    const labelWriter = input.labelsPath
      ? await TiffWriter.open(input.labelsPath, { width: W, height: H, channels: 1, dtype: nodata > 255 ? 'uint16' : 'uint8', geometry: input.geometry, nodata }, { ...input.labelsOptions?.(maxLabel), tileSize })
      : null;
    if (labelWriter) writers.push(labelWriter);
    const out = new Uint32Array(W * Math.min(S, H));
    for (let si = 0, y0 = 0; y0 < H; si++, y0 += S) {
      throwIfAborted(input.signal);
      const rows = Math.min(S, H - y0);
      const px = W * rows;
      const cls = await readRows(src, y0, rows);
      labeller.label(cls, rows);
      const base = bases[si]!;
      const ids = labeller.ids;
      const dropped = minPixels > 1;
      const cleaned = labelWriter ? (labelWriter.layout.dtype === 'uint16' ? Uint16Array.from(cls.subarray(0, px)) : Uint8Array.from(cls.subarray(0, px))) : cls;
      for (let i = 0; i < px; i++) {
        const local = ids[i]!;
        const id = local === 0 ? 0 : finalOf![base + local]!;
        out[i] = id;
        if (dropped && local !== 0 && id === 0) cleaned[i] = 0;
      }
      const intensity = input.intensity ? await readRows(input.intensity, y0, rows) : null;
      // p x 255 bytes read as bytesToUnit's float32 values through a table: no float copy of every strip (other
      // sample types, which windowed.ts never writes, through bytesToUnit).
      const probRead = input.probability ? await readRows(input.probability, y0, rows) : null;
      const probability = probRead instanceof Uint8Array || probRead === null ? probRead : null;
      const probUnit = probRead && !probability ? bytesToUnit(probRead) : null;
      if (intensity || probRead) {
        const pSum = stats.probabilitySum;
        for (let i = 0; i < px; i++) {
          const id = out[i]!;
          if (id === 0) continue;
          if (probability) pSum[id - 1]! += UNIT_OF_BYTE[probability[i]!]!;
          else if (probUnit) pSum[id - 1]! += probUnit[i]!;
          if (intensity) stats.addIntensity(id - 1, intensity[i]!);
        }
      }
      const strip = out.subarray(0, px);
      await writeInstanceRows(instWriter, y0, rows, strip, wide);
      if (labelWriter) await labelWriter.writeWindow(0, y0, W, rows, cleaned);
      if (input.onStrip) await input.onStrip(y0, rows, cleaned, strip);
    }
    for (const w of writers.splice(0)) await w.close();
  } catch (err) {
    for (const w of writers) await w.abort().catch(() => undefined);
    await cleanup();
    throw err;
  }
  finalOf = null;
  let objects: ComponentStats[] | null = null;
  return {
    table: stats,
    get stats(): ComponentStats[] {
      return (objects ??= stats.toArray());
    },
    perValue,
    valid,
    maxLabel,
    instancesPath,
    cleanup,
  };
}

export interface StreamingShapeOptions {
  geometry: Geometry;
  connectivity: Connectivity;
  stripRows?: number;
  geo?: GeoMeasurer | null;
  signal?: AbortSignal;
}

/**
 * Pass 3: shape fields of every instance (order of `stats`, ids 1..n in raster order) from an instance map on disk,
 * read in a rolling window of two strips; see the file header.
 */
export async function streamShapes(stats: ComponentStats[] | StatsTable, instances: RowSource, options: StreamingShapeOptions): Promise<Array<Record<string, unknown>>> {
  const n = stats.length;
  const out: Array<Record<string, unknown>> = new Array<Record<string, unknown>>(n);
  let i = 0;
  for await (const [, shape] of shapesInOrder(stats, instances, options)) out[i++] = shape;
  return out;
}

/**
 * Pass 3 as a stream: yields every instance's statistics object and shape fields in id order, one at a time, so
 * neither needs to exist for all instances at once.
 */
export async function* shapesInOrder(stats: ComponentStats[] | StatsTable, instances: RowSource, options: StreamingShapeOptions): AsyncGenerator<[ComponentStats, Record<string, unknown>]> {
  const { width: W, height: H } = instances;
  const S = options.stripRows ?? STRIP_ROWS;
  const ctx = shapeContext(options.geometry, W, H, options.connectivity, options.geo);
  const table = stats instanceof StatsTable ? stats : null;
  const n = stats.length;
  const at = (i: number): ComponentStats => (table ? table.get(i) : (stats as ComponentStats[])[i]!);
  const firstRow = (i: number): number => (table ? table.minY[i]! : (stats as ComponentStats[])[i]!.min[1]);
  // Window rows [winY, winY + winRows) of the instance map; slides down one strip at a time.
  let win: PixelArray | null = null;
  let winY = 0;
  let winRows = 0;
  let next = 0; // first instance not yet measured; ids grow with their first row
  const pause = yielder(options.signal);
  for (let y0 = 0; y0 < H && next < n; y0 += S) {
    throwIfAborted(options.signal);
    const end = Math.min(H, y0 + 2 * S);
    if (win && winY + winRows > y0) {
      // Keep the rows already read, read the rest.
      const keep = winY + winRows - y0;
      const more = end - (y0 + keep);
      const fresh = more > 0 ? await instances.read({ x: 0, y: y0 + keep, width: W, height: more, channels: [0] }) : null;
      const buf: PixelArray = win.length >= (end - y0) * W ? win : new (win.constructor as new (n: number) => PixelArray)((end - y0) * W);
      buf.copyWithin(0, (y0 - winY) * W, (y0 - winY + keep) * W);
      if (fresh) buf.set(fresh.data, keep * W);
      win = buf;
    } else {
      win = (await instances.read({ x: 0, y: y0, width: W, height: end - y0, channels: [0] })).data;
    }
    winY = y0;
    winRows = end - y0;
    const bandEnd = Math.min(H, y0 + S);
    for (; next < n && firstRow(next) < bandEnd; next++) {
      // A band of a 40000 px wide raster holds thousands of objects: let a cancel arrive between them.
      await pause();
      const s = at(next);
      const [x0, sy0] = s.min;
      const w = s.max[0] - x0 + 1;
      const h = s.max[1] - sy0 + 1;
      let mask: Uint8Array;
      if (s.max[1] < winY + winRows) mask = cropMask(win, W, winRows, 0, s.id, x0, sy0 - winY, w, h);
      else {
        const crop = (await instances.read({ x: x0, y: sy0, width: w, height: h, channels: [0] })).data;
        mask = cropMask(crop, w, h, 0, s.id, 0, 0, w, h);
      }
      yield [s, planeShapeFields(s, mask, ctx)];
    }
  }
}

export interface StreamingMeasureInput extends Omit<StreamingInput, 'nodataLabel'> {
  /** Default: labelNodata(labels). */
  nodataLabel?: number;
  /** Class names and colours (label value = index + 1); missing ones are named `class N`. */
  classes?: ManifestClass[];
  /** Fills classes the list does not name. */
  defaultClass?: (id: number) => ManifestClass;
  geo?: GeoMeasurer | null;
}

/** Instances measured per call of the shared measurement code (measure/index.ts InstanceMeasurer). */
export const RECORD_CHUNK = 16384;

/** Where records go, one at a time in id order (a spill file, or an array for small results and tests). */
export type RecordSink = (records: InstanceRecord[]) => void | Promise<void>;

/**
 * Pass 3 and the records: shape fields from an instance map on disk, measured RECORD_CHUNK instances at a time in
 * id order and handed to `sink`; returns the class records (totals accumulated on the side, as measureInstances
 * computes them) and the number of records.
 */
export async function writeInstanceRecords(
  stats: ComponentStats[] | StatsTable,
  instancesPath: string,
  classes: ManifestClass[],
  counts: { perValue: Float64Array; valid: number },
  input: Pick<StreamingInput, 'labels' | 'geometry' | 'connectivity' | 'stripRows' | 'probability' | 'intensity' | 'signal'> & { geo?: GeoMeasurer | null },
  sink: RecordSink,
): Promise<{ classes: ClassRecord[]; count: number }> {
  const classPixelCounts = Array.from(counts.perValue.subarray(0, classes.length + 1));
  const measurer = new InstanceMeasurer({
    geometry: input.geometry,
    depth: 1,
    classes,
    validPixelCount: counts.valid,
    classPixelCounts,
    hasProbability: input.probability !== undefined,
    hasIntensity: input.intensity !== undefined,
    width: input.labels.width,
    height: input.labels.height,
    connectivity: input.connectivity,
    ...(input.geo !== undefined ? { geo: input.geo } : {}),
  });
  const instanceSrc = await openGeoTiff(instancesPath);
  let count = 0;
  let chunkStats: ComponentStats[] = [];
  let chunkShapes: Array<Record<string, unknown>> = [];
  const flush = async (): Promise<void> => {
    if (chunkStats.length === 0) return;
    const records = measurer.measure(chunkStats, chunkShapes);
    chunkStats = [];
    chunkShapes = [];
    count += records.length;
    await sink(records);
  };
  try {
    const shapes = shapesInOrder(stats, instanceSrc, {
      geometry: input.geometry,
      connectivity: input.connectivity,
      ...(input.stripRows ? { stripRows: input.stripRows } : {}),
      ...(input.geo !== undefined ? { geo: input.geo } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
    });
    for await (const [s, shape] of shapes) {
      chunkStats.push(s);
      chunkShapes.push(shape);
      if (chunkStats.length >= RECORD_CHUNK) await flush();
    }
    await flush();
  } finally {
    await instanceSrc.close();
  }
  return { classes: measurer.classes(), count };
}

/** Pass 3 and the records as arrays (small results, tests): writeInstanceRecords collected. */
export async function measureInstanceMap(
  stats: ComponentStats[] | StatsTable,
  instancesPath: string,
  classes: ManifestClass[],
  counts: { perValue: Float64Array; valid: number },
  input: Pick<StreamingInput, 'labels' | 'geometry' | 'connectivity' | 'stripRows' | 'probability' | 'intensity' | 'signal'> & { geo?: GeoMeasurer | null },
): Promise<{ instances: InstanceRecord[]; classes: ClassRecord[] }> {
  const instances: InstanceRecord[] = [];
  const done = await writeInstanceRecords(stats, instancesPath, classes, counts, input, (records) => {
    for (const r of records) instances.push(r);
  });
  return { instances, classes: done.classes };
}

/** The class list of a streamed result: the model's classes, then `class N` (or defaultClass) up to the largest label. */
function classListOf(input: StreamingMeasureInput, maxLabel: number): ManifestClass[] {
  const classCount = Math.max(input.classes?.length ?? 0, maxLabel);
  const fallback = input.defaultClass ?? ((id: number): ManifestClass => ({ name: `class ${id}`, color: '#ff0000' }));
  return Array.from({ length: classCount }, (_, i) => input.classes?.[i] ?? fallback(i + 1));
}

/**
 * Streaming components + measurements with the records handed to `sink` a chunk at a time (id order): memory holds
 * the statistics columns (StatsTable, 98 bytes per instance) and one chunk of records, never the whole list.
 */
export async function measureStreamingTo(input: StreamingMeasureInput, sink: RecordSink): Promise<{ classes: ClassRecord[]; classList: ManifestClass[]; count: number; nodataLabel: number }> {
  const src = input.labels;
  const nodataLabel = input.nodataLabel ?? (await labelNodata(src, input.stripRows));
  const cc = await streamComponents({ ...input, nodataLabel });
  try {
    const classList = classListOf(input, cc.maxLabel);
    const done = await writeInstanceRecords(cc.table, cc.instancesPath, classList, cc, input, sink);
    return { classes: done.classes, classList, count: done.count, nodataLabel };
  } finally {
    await cc.cleanup();
  }
}

/** Streaming components + measurements: the in-memory postprocess's instances and classes, from rasters on disk. */
export async function measureStreaming(input: StreamingMeasureInput): Promise<{ instances: InstanceRecord[]; classes: ClassRecord[]; classList: ManifestClass[]; stats: ComponentStats[]; nodataLabel: number }> {
  const src = input.labels;
  const nodataLabel = input.nodataLabel ?? (await labelNodata(src, input.stripRows));
  const cc = await streamComponents({ ...input, nodataLabel });
  try {
    const classList = classListOf(input, cc.maxLabel);
    const measured = await measureInstanceMap(cc.table, cc.instancesPath, classList, cc, input);
    return { ...measured, classList, stats: cc.stats, nodataLabel };
  } finally {
    await cc.cleanup();
  }
}
