// Results kept on disk: a windowed Run of a raster too large for memory leaves labels.tif, instances.tif and
// probabilities.tif (tiled, with overviews: nearest for ids and labels, average for probabilities) in a folder the host owns; this store answers the viewer from
// them (tiles and previews read from the pyramid level that fits) and keeps only small state in memory: the class
// totals, and per record its sort keys in typed arrays plus its byte range in records.jsonl, read when a page or a
// pick needs it. Edits that change no pixel (delete, merge, class change) are an overlay of id remaps and replaced
// records; pixel edits (brush, eraser, polygon, fill holes, split, region grow, the AI tool) run the in-memory
// operations on a crop of the maps (the window the operation can reach) and keep what they wrote in a sparse
// overlay of 256 x 256 tiles (results/disk-edits.ts) that every read consults before the id remaps; the objects
// they touched are re-measured from their window with the in-memory store's measurement code. Undo/redo replays
// both kinds in order. Memory follows the edited area and the edited objects' boxes, never the raster.
import { promises as fs, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { EditOperation, EditOperationName, EditResult, ResultInstancesPage, ResultInstancesRequest, ResultProbability, ResultProbabilityRequest, ResultProbabilityTile, ResultProbabilityTileRequest, ResultSlice, ResultTile, ResultTileRequest, SliceAxis } from '../../../preload/api';
import type { ClassRecord, Geometry, InstanceRecord, InstancesDocument, ManifestClass } from '../../../preload/formats';
import { InputError, type PixelArray } from '../image';
import { openImage } from '../io';
import { measureInstances, planeShapeFields, shapeContext, type ShapeContext } from '../measure/index';
import type { ComponentStats, Connectivity } from '../postprocess/components';
import { runOperation, type EditTarget, type Patch } from './edit';
import { checkOnRaster, clipWindow, fillMask, isPixelOperation, joinWindows, operationWindow, PixelOverlay, shiftOperation, span, stepped, windowStats, type PixelOperation, type PixelWindow } from './disk-edits';
import { convertToCog } from '../io/cog';
import { openGeoTiff, type GeoTiffSource } from '../io/geotiff';
import { TiffWriter } from '../io/tiff-writer';
import { writeChunksAtomic } from '../export/atomic-stream';
import { labelColormap } from '../export/overlay';
import { measurementsCsv } from '../export/results';
import { exportVectorStream, idReaderOf, type IdWindowReader } from '../export/vector-stream';
import { previewSize } from '../render/reformat';
import { checkPage, resultTileRect, sizeOfRecord, type ResultTileRect } from './tiles';
import type { RecordIndex } from '../io/record-spill';

/** What a windowed run leaves for the store: its folder (which the store then owns) and the run's document. */
export interface DiskResultInput {
  /** Folder holding labels.tif, instances.tif (and probabilities.tif); removed when the result is closed. */
  dir: string;
  /** The image the result belongs to. */
  path: string;
  document: InstancesDocument;
  /**
   * The run's records already in `dir`/records.jsonl with their index (a run that streamed them: io/record-spill.ts);
   * document.instances is then empty and the file is kept as it is.
   */
  records?: RecordIndex;
  classes: ManifestClass[];
  geometry: Geometry;
  width: number;
  height: number;
  nodataLabel: number;
  /** How the run connected pixels into objects (splits and outlines follow it); default 8. */
  connectivity?: Connectivity;
}

/** Reads channel 0 of the image a result belongs to, inside a full-resolution window (intensities of edited objects, region growing). */
export type ReadIntensityWindow = (path: string, win: PixelWindow) => Promise<PixelArray>;

export interface DiskResultStoreOptions {
  readIntensity?: ReadIntensityWindow;
  /**
   * Largest window (pixels) an operation runs on: its reach (a stroke's box plus the radius, an object's box for
   * fill holes and split, ...). Maps, intensities and the operation's own buffers take up to about 16 bytes a pixel
   * there; a larger edit is refused with a message.
   */
  maxEditWindowPx?: number;
  /** Largest sum of the boxes (pixels) of the objects one edit changes: their masks (1 byte a pixel) are measured. */
  maxMaskPx?: number;
  /** Pixels per strip when re-measuring (the window of the changed objects is read this much at a time). */
  editStripPx?: number;
}

/** Default operation window cap: 2^25 pixels (a 5792 x 5792 box), about 500 MB at the widest. */
export const MAX_EDIT_WINDOW_PX = 2 ** 25;
/** Default cap on the changed objects' boxes: 2^28 pixels (256 MB of masks, a 16384 x 16384 object). */
export const MAX_MASK_PX = 2 ** 28;
/** Default strip when re-measuring: 2^22 pixels (about 50 MB of maps, probabilities and intensities). */
export const EDIT_STRIP_PX = 2 ** 22;

/** The part of an instance's state an edit changes: its record (undefined: as the run wrote it), whether it is shown, where its pixels go. */
interface IdState {
  record: InstanceRecord | undefined;
  alive: boolean;
  /** Pixels of this id read as this id instead (0: none); undefined: as they are. */
  remap: number | undefined;
}

interface Change {
  id: number;
  before: IdState;
  after: IdState;
}

interface Step {
  op: EditOperation;
  changes: Change[];
  /** A pixel edit's patch, in the coordinates of the crop it ran on; applied to the overlay before the id changes. */
  pixels?: { patch: Patch; crop: PixelWindow };
  createdInstanceId?: number;
  createdInstanceIds?: number[];
}

/** Size fields a class record sums over its instances (and a merged record sums over its parts). */
const SUM_FIELDS = ['areaM2', 'areaMm2', 'areaPx', 'volumeMl'] as const;

/** Records an edit reply carries at most (a merge of many objects names them all in changedInstanceIds). */
const REPLY_RECORDS = 200;

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/**
 * Full-resolution pixels per pixel of the pyramid level a block came from: overview pixel i holds pixel i * step
 * (io/cog.ts), and a block of w >= step pixels at that level has ceil(w / step) columns, so w / columns is in
 * (step / 2, step].
 */
const levelStep = (scale: number): number => 2 ** Math.max(0, Math.ceil(Math.log2(scale) - 1e-9));

interface Kept {
  id: string;
  dir: string;
  path: string;
  width: number;
  height: number;
  geometry: Geometry;
  classes: ManifestClass[];
  nodataLabel: number;
  /** The document without its records (instances: []), classes kept up to date with the edits. */
  document: InstancesDocument;
  revision: number;
  instances: GeoTiffSource;
  probabilities: GeoTiffSource | null;
  records: FileHandle;
  /** Per record (sorted by id): id, class, sort size, mean probability (NaN: none), alive, byte range in records.jsonl. */
  ids: Uint32Array;
  classIds: Uint16Array;
  sizes: Float64Array;
  meanProbability: Float32Array;
  alive: Uint8Array;
  offsets: Float64Array;
  /** Edited ids' state (absent: as the run wrote it). */
  state: Map<number, IdState>;
  /** Pixels the applied pixel edits wrote (read before the id remaps of state). */
  overlay: PixelOverlay;
  /** labels.tif, opened on the first pixel edit (reads of crops and of the export). */
  labels: GeoTiffSource | null;
  connectivity: Connectivity;
  /** The id the next new object gets (as the in-memory store: never handed out twice, even after an undo). */
  nextInstanceId: number;
  /** Whether the run's records carry a meanProbability (an edited record then says null when it has none). */
  hadProbability: boolean;
  /** Edits of this result, one after the other (each reads what the one before wrote). */
  queue: Promise<unknown>;
  undo: Step[];
  redo: Step[];
  /** The last sorted and filtered order a page was cut from, kept while revision and query stay the same. */
  order: { key: string; revision: number; positions: Uint32Array } | null;
}

/** The folder under which this process keeps its disk results; made on first use, removed at exit. */
let root: string | null = null;

function rootDir(): string {
  if (root) return root;
  const base = tmpdir();
  // Folders of hosts that died without cleaning up (a crash, a kill) are removed here: their pid is gone.
  for (const name of safeList(base)) {
    const m = /^delineate-results-(\d+)-/.exec(name);
    if (m && !pidAlive(Number(m[1]))) rmSync(path.join(base, name), { recursive: true, force: true });
  }
  root = mkdtempSync(path.join(base, `delineate-results-${process.pid}-`));
  const made = root;
  process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  return made;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A new empty folder for one windowed run's files (the run writes into it; the store removes it on close). */
export async function newResultFolder(): Promise<string> {
  return fs.mkdtemp(path.join(rootDir(), 'r-'));
}

export class DiskResultStore {
  private readonly results = new Map<string, Kept>();
  private counter = 0;
  private readonly readIntensity: ReadIntensityWindow;
  private readonly maxEditWindowPx: number;
  private readonly maxMaskPx: number;
  private readonly editStripPx: number;
  private readonly shapeContexts = new WeakMap<Kept, ShapeContext>();

  constructor(options: DiskResultStoreOptions = {}) {
    this.readIntensity = options.readIntensity ?? readImageWindow;
    this.maxEditWindowPx = options.maxEditWindowPx ?? MAX_EDIT_WINDOW_PX;
    this.maxMaskPx = options.maxMaskPx ?? MAX_MASK_PX;
    this.editStripPx = options.editStripPx ?? EDIT_STRIP_PX;
  }

  has(id: string): boolean {
    return this.results.has(id);
  }

  /** Where a result's folder is (tests check that it goes on close). */
  folderOf(id: string): string {
    return this.get(id).dir;
  }

  /**
   * Takes over a windowed run's folder: adds overviews to its rasters, writes the records one JSON line each with
   * their byte ranges, and opens the rasters. On failure the folder is removed.
   */
  async add(input: DiskResultInput, signal?: AbortSignal): Promise<string> {
    const { dir } = input;
    let instances: GeoTiffSource | null = null;
    let probabilities: GeoTiffSource | null = null;
    let records: FileHandle | null = null;
    try {
      const probPath = path.join(dir, 'probabilities.tif');
      const hasProb = await fs.stat(probPath).then(
        () => true,
        () => false,
      );
      // Overviews so any zoom reads about one tile's worth of pixels (nearest: ids and labels stay values that exist).
      for (const f of ['instances.tif', 'labels.tif']) {
        signal?.throwIfAborted();
        await convertToCog(path.join(dir, f));
      }
      // Probabilities zoomed out read as the mean of what they cover, as an image's overview does.
      if (hasProb) await convertToCog(probPath, { resampling: 'average' });
      const streamed = input.records;
      const recs = streamed ? [] : [...input.document.instances].sort((a, b) => a.id - b.id);
      const n = streamed ? streamed.ids.length : recs.length;
      const ids = streamed?.ids ?? new Uint32Array(n);
      const classIds = streamed?.classIds ?? new Uint16Array(n);
      const sizes = streamed?.sizes ?? new Float64Array(n);
      const meanProbability = streamed?.meanProbability ?? new Float32Array(n);
      const offsets = streamed?.offsets ?? new Float64Array(n + 1);
      const file = path.join(dir, 'records.jsonl');
      // Streamed records are in the file already.
      if (!streamed) {
        const out = await fs.open(file, 'w');
        try {
          let at = 0;
          let chunk: string[] = [];
          let chunkBytes = 0;
          for (let i = 0; i < n; i++) {
            const rec = recs[i]!;
            ids[i] = rec.id;
            classIds[i] = rec.classId;
            sizes[i] = sizeOfRecord(rec);
            meanProbability[i] = typeof rec.meanProbability === 'number' ? rec.meanProbability : NaN;
            const line = JSON.stringify(rec) + '\n';
            const bytes = Buffer.byteLength(line);
            offsets[i] = at;
            at += bytes;
            chunk.push(line);
            chunkBytes += bytes;
            if (chunkBytes > 1 << 20) {
              await out.write(chunk.join(''));
              chunk = [];
              chunkBytes = 0;
            }
          }
          offsets[n] = at;
          if (chunk.length) await out.write(chunk.join(''));
        } finally {
          await out.close();
        }
      }
      signal?.throwIfAborted();
      records = await fs.open(file, 'r');
      instances = await openGeoTiff(path.join(dir, 'instances.tif'));
      probabilities = hasProb ? await openGeoTiff(probPath) : null;
      const id = `r_${Date.now().toString(36)}d${(this.counter++).toString(36)}`;
      this.results.set(id, {
        id,
        dir,
        path: input.path,
        width: input.width,
        height: input.height,
        geometry: input.geometry,
        classes: input.classes,
        nodataLabel: input.nodataLabel,
        document: { ...input.document, instances: [] },
        revision: 0,
        instances,
        probabilities,
        records,
        ids,
        classIds,
        sizes,
        meanProbability,
        alive: new Uint8Array(n).fill(1),
        offsets,
        state: new Map(),
        overlay: new PixelOverlay(input.width),
        labels: null,
        connectivity: input.connectivity ?? 8,
        nextInstanceId: (n > 0 ? ids[n - 1]! : 0) + 1,
        hadProbability: streamed ? streamed.hadProbability : recs.some((rec) => 'meanProbability' in rec),
        queue: Promise.resolve(),
        undo: [],
        redo: [],
        order: null,
      });
      return id;
    } catch (err) {
      await instances?.close().catch(() => undefined);
      await probabilities?.close().catch(() => undefined);
      await records?.close().catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Forgets a result and removes its folder; an unknown id is no error. */
  async close(id: string): Promise<void> {
    const r = this.results.get(id);
    if (!r) return;
    this.results.delete(id);
    await r.instances.close().catch(() => undefined);
    await r.probabilities?.close().catch(() => undefined);
    await r.labels?.close().catch(() => undefined);
    await r.records.close().catch(() => undefined);
    await fs.rm(r.dir, { recursive: true, force: true });
  }

  private get(id: string): Kept {
    const r = this.results.get(id);
    if (!r) throw new Error(`result ${id} is no longer kept (run the model again)`);
    return r;
  }

  private checkPlane(r: Kept, z: number): void {
    if (z !== 0) throw new RangeError(`slice ${z} is outside this 2D result (0)`);
  }

  /** The id a stored id reads as now (merges and deletions followed; 0: none). */
  private resolver(r: Kept): ((id: number) => number) | null {
    if (r.state.size === 0) return null;
    const cache = new Map<number, number>();
    return (id) => {
      if (id === 0) return 0;
      const hit = cache.get(id);
      if (hit !== undefined) return hit;
      let cur = id;
      // Chains are short (a merge into an object later deleted); the bound guards against a cycle.
      for (let k = 0; k < 64; k++) {
        const next = r.state.get(cur)?.remap;
        if (next === undefined) break;
        cur = next;
        if (cur === 0) break;
      }
      cache.set(id, cur);
      return cur;
    };
  }

  /**
   * Nearest samples of `src` band `band` at the tile's full-resolution pixels (x0 + tx * step, y0 + ty * step), read
   * from the pyramid level that has them: overview pixel i holds full-resolution pixel i * levelStep (io/cog.ts).
   */
  private async sampleRect(src: GeoTiffSource, band: number, rect: ResultTileRect): Promise<{ data: ArrayLike<number> }> {
    const { x0, y0, w, h, outW, outH, step } = rect;
    const block = await src.readReduced({ x: x0, y: y0, width: w, height: h, channels: [band] }, outW, outH);
    const bw = block.width;
    const bh = block.height;
    const sx = levelStep(w / bw);
    const sy = levelStep(h / bh);
    const out = new Float64Array(outW * outH);
    for (let ty = 0; ty < outH; ty++) {
      const by = Math.min(bh - 1, Math.floor((ty * step) / sy));
      for (let tx = 0; tx < outW; tx++) {
        const bx = Math.min(bw - 1, Math.floor((tx * step) / sx));
        out[ty * outW + tx] = block.data[by * bw + bx]!;
      }
    }
    return { data: out };
  }

  async tile(request: ResultTileRequest): Promise<ResultTile> {
    const r = this.get(request.resultId);
    this.checkPlane(r, request.z);
    const rect = resultTileRect(r.width, r.height, request);
    const { data } = await this.sampleRect(r.instances, 0, rect);
    const instances = Uint32Array.from(data);
    // Pixel edits first (what they wrote is an id as stored), then the id remaps.
    r.overlay.forEachEdited(stepped(rect.x0, rect.outW, rect.step), stepped(rect.y0, rect.outH, rect.step), (ox, oy, iid) => (instances[oy * rect.outW + ox] = iid));
    const resolve = this.resolver(r);
    if (resolve) for (let i = 0; i < instances.length; i++) instances[i] = resolve(instances[i]!);
    return { resultId: r.id, revision: r.revision, level: request.level, x: request.x, y: request.y, width: rect.outW, height: rect.outH, imageRect: [rect.x0, rect.y0, rect.w, rect.h], instances };
  }

  async probabilityTile(request: ResultProbabilityTileRequest): Promise<ResultProbabilityTile> {
    const r = this.get(request.resultId);
    if (!r.probabilities) throw new Error('the probability maps of this result were not kept: run the model again');
    const k = request.classId - 1;
    if (!Number.isInteger(k) || k < 0 || k >= r.probabilities.channels) throw new RangeError(`class ${request.classId} has no probability map`);
    this.checkPlane(r, request.z);
    const rect = resultTileRect(r.width, r.height, request);
    const { data } = await this.sampleRect(r.probabilities, k, rect);
    const probability = Uint8Array.from(data);
    // As the in-memory store: the model's probability does not describe pixels a person painted (0 there).
    r.overlay.forEachEdited(stepped(rect.x0, rect.outW, rect.step), stepped(rect.y0, rect.outH, rect.step), (ox, oy) => (probability[oy * rect.outW + ox] = 0));
    return { resultId: r.id, revision: r.revision, level: request.level, x: request.x, y: request.y, width: rect.outW, height: rect.outH, imageRect: [rect.x0, rect.y0, rect.w, rect.h], classId: request.classId, probability };
  }

  /** A preview-size map, sampled as the in-memory store samples (nearest pixel centre) from the level that has it. */
  async slice(id: string, z: number, maxSize: number, axis: SliceAxis = 'axial'): Promise<ResultSlice> {
    const r = this.get(id);
    if (axis !== 'axial') throw new RangeError(`a 2D result has no ${axis} slices`);
    this.checkPlane(r, z);
    const { width: W, height: H } = r;
    const { outW, outH } = previewSize(W, H, maxSize);
    const block = await r.instances.readReduced({ x: 0, y: 0, width: W, height: H, channels: [0] }, outW, outH);
    const sx = levelStep(W / block.width);
    const sy = levelStep(H / block.height);
    const resolve = this.resolver(r);
    const { cols, rows } = previewGrid(W, H, outW, outH);
    const instances = new Uint32Array(outW * outH);
    for (let oy = 0; oy < outH; oy++) {
      const by = Math.min(block.height - 1, Math.floor(rows[oy]! / sy));
      for (let ox = 0; ox < outW; ox++) {
        const bx = Math.min(block.width - 1, Math.floor(cols[ox]! / sx));
        instances[oy * outW + ox] = block.data[by * block.width + bx]!;
      }
    }
    r.overlay.forEachEdited(cols, rows, (ox, oy, iid) => (instances[oy * outW + ox] = iid));
    if (resolve) for (let i = 0; i < instances.length; i++) instances[i] = resolve(instances[i]!);
    return { resultId: id, z, revision: r.revision, width: outW, height: outH, scaleX: W / outW, scaleY: H / outH, instances };
  }

  /** One class's probability x 255 at preview size, on the same grid as slice(); pixels an applied edit wrote read 0 and are flagged in `edited`. */
  async probability(request: ResultProbabilityRequest): Promise<ResultProbability> {
    const r = this.get(request.resultId);
    if (!r.probabilities) throw new Error('the probability maps of this result were not kept: run the model again');
    const k = request.classId - 1;
    if (!Number.isInteger(k) || k < 0 || k >= r.probabilities.channels) throw new RangeError(`class ${request.classId} has no probability map`);
    const axis = request.axis ?? 'axial';
    if (axis !== 'axial') throw new RangeError(`a 2D result has no ${axis} slices`);
    this.checkPlane(r, request.z);
    const { width: W, height: H } = r;
    const { outW, outH } = previewSize(W, H, request.maxSize);
    const block = await r.probabilities.readReduced({ x: 0, y: 0, width: W, height: H, channels: [k] }, outW, outH);
    const sx = levelStep(W / block.width);
    const sy = levelStep(H / block.height);
    const values = new Uint8Array(outW * outH);
    for (let oy = 0; oy < outH; oy++) {
      const row = Math.min(H - 1, Math.floor(((oy + 0.5) * H) / outH));
      const by = Math.min(block.height - 1, Math.floor(row / sy));
      for (let ox = 0; ox < outW; ox++) {
        const col = Math.min(W - 1, Math.floor(((ox + 0.5) * W) / outW));
        values[oy * outW + ox] = block.data[by * block.width + Math.min(block.width - 1, Math.floor(col / sx))]!;
      }
    }
    const edited = new Uint8Array(outW * outH);
    const grid = previewGrid(W, H, outW, outH);
    r.overlay.forEachEdited(grid.cols, grid.rows, (ox, oy) => {
      values[oy * outW + ox] = 0;
      edited[oy * outW + ox] = 1;
    });
    return { resultId: r.id, classId: request.classId, z: request.z, revision: r.revision, width: outW, height: outH, scaleX: W / outW, scaleY: H / outH, values, edited };
  }

  private indexOf(r: Kept, id: number): number {
    let lo = 0;
    let hi = r.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = r.ids[mid]!;
      if (v === id) return mid;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private async readRecord(r: Kept, index: number): Promise<InstanceRecord> {
    const edited = r.state.get(r.ids[index]!)?.record;
    if (edited) return edited;
    const start = r.offsets[index]!;
    const length = r.offsets[index + 1]! - start;
    const buf = Buffer.alloc(length);
    await r.records.read(buf, 0, length, start);
    return JSON.parse(buf.toString('utf8')) as InstanceRecord;
  }

  /** The record of a live instance, or null. */
  private async recordOf(r: Kept, id: number): Promise<InstanceRecord | null> {
    const index = this.indexOf(r, id);
    if (index < 0 || !r.alive[index]) return null;
    return this.readRecord(r, index);
  }

  async instanceAt(id: string, x: number, y: number, z: number): Promise<InstanceRecord | null> {
    const r = this.get(id);
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= r.width || y >= r.height || z !== 0) throw new RangeError(`pixel ${x},${y},${z} is outside the result (${r.width}x${r.height}x1)`);
    const block = await r.instances.read({ x, y, width: 1, height: 1, channels: [0] });
    let stored = block.data[0]!;
    r.overlay.forEachEdited([x], [y], (_ox, _oy, iid) => (stored = iid));
    const now = this.resolver(r)?.(stored) ?? stored;
    return now === 0 ? null : this.recordOf(r, now);
  }

  async instancePage(request: ResultInstancesRequest): Promise<ResultInstancesPage> {
    const r = this.get(request.resultId);
    checkPage(request);
    const key = request.sort?.key ?? 'id';
    const desc = request.sort?.descending === true;
    const cacheKey = `${key}|${desc}|${request.classId ?? ''}`;
    let positions: Uint32Array;
    if (r.order && r.order.key === cacheKey && r.order.revision === r.revision) positions = r.order.positions;
    else {
      const n = r.ids.length;
      const picked: number[] = [];
      for (let i = 0; i < n; i++) if (r.alive[i] && (request.classId === undefined || r.classIds[i] === request.classId)) picked.push(i);
      const value = key === 'id' ? r.ids : key === 'class' ? r.classIds : key === 'area' ? r.sizes : null;
      const sign = desc ? -1 : 1;
      // Records without a model probability sort below every probability (as pageOf does for in-memory results).
      const prob = (i: number): number => (Number.isNaN(r.meanProbability[i]!) ? -1 : r.meanProbability[i]!);
      picked.sort(value ? (a, b) => sign * (value[a]! - value[b]!) || r.ids[a]! - r.ids[b]! : (a, b) => sign * (prob(a) - prob(b)) || r.ids[a]! - r.ids[b]!);
      positions = Uint32Array.from(picked);
      r.order = { key: cacheKey, revision: r.revision, positions };
    }
    const end = Math.min(positions.length, request.offset + request.limit);
    const instances: InstanceRecord[] = [];
    for (let k = request.offset; k < end; k++) instances.push(await this.readRecord(r, positions[k]!));
    return { resultId: r.id, revision: r.revision, total: positions.length, offset: request.offset, instances };
  }

  /** The document as it stands (records not included: they come by page), for the edit replies. */
  /**
   * What an edit, undo or redo answers. The document of a disk result lists no records, so the records of the ids
   * it touched (those still alive, at most REPLY_RECORDS) come along: the viewer's selected object shows its new
   * measurements instead of the ones from before the edit.
   */
  private async reply(r: Kept, changed: number[], created?: Pick<Step, 'createdInstanceId' | 'createdInstanceIds'>): Promise<EditResult> {
    const ids = [...new Set(changed)].sort((a, b) => a - b);
    const out: EditResult = {
      resultId: r.id,
      revision: r.revision,
      document: r.document,
      changedInstanceIds: ids,
      zRange: changed.length ? [0, 0] : null,
      undoStack: r.undo.map((s): EditOperationName => s.op.op),
      redoStack: r.redo.map((s): EditOperationName => s.op.op),
    };
    if (created?.createdInstanceId !== undefined) out.createdInstanceId = created.createdInstanceId;
    if (created?.createdInstanceIds?.length) out.createdInstanceIds = created.createdInstanceIds;
    const records: InstanceRecord[] = [];
    for (const id of ids.slice(0, REPLY_RECORDS)) {
      const rec = await this.recordOf(r, id);
      if (rec) records.push(rec);
    }
    out.changedRecords = records;
    return out;
  }

  private stateOf(r: Kept, id: number): IdState {
    return r.state.get(id) ?? { record: undefined, alive: true, remap: undefined };
  }

  /** Sets ids' states (typed arrays and class totals follow), given the records before and after. */
  private async apply(r: Kept, changes: Change[], direction: 'forward' | 'undo'): Promise<void> {
    for (const c of changes) {
      const index = this.indexOf(r, c.id);
      if (index < 0) continue;
      const from = direction === 'forward' ? c.before : c.after;
      const to = direction === 'forward' ? c.after : c.before;
      const before = from.alive ? await this.readRecord(r, index) : null;
      if (to.record === undefined && to.alive && to.remap === undefined) r.state.delete(c.id);
      else r.state.set(c.id, to);
      r.alive[index] = to.alive ? 1 : 0;
      const after = to.alive ? await this.readRecord(r, index) : null;
      if (after) {
        r.classIds[index] = after.classId;
        r.sizes[index] = sizeOfRecord(after);
        r.meanProbability[index] = typeof after.meanProbability === 'number' ? after.meanProbability : NaN;
      }
      this.adjustClasses(r, before, -1);
      this.adjustClasses(r, after, 1);
    }
  }

  /** Adds (sign 1) or removes (-1) one record's share of its class totals. */
  private adjustClasses(r: Kept, rec: InstanceRecord | null, sign: 1 | -1): void {
    if (!rec) return;
    const classes = r.document.classes;
    const i = classes.findIndex((c) => c.id === rec.classId);
    if (i < 0) return;
    const c: ClassRecord = { ...classes[i]! };
    // The valid pixel count behind `fraction`, from the run's totals (kept across edits).
    const valid = validPixels(r);
    c.instanceCount += sign;
    c.pixelCount += sign * rec.pixelCount;
    for (const f of SUM_FIELDS) {
      const v = rec[f];
      if (typeof v === 'number' && typeof c[f] === 'number') c[f] = round((c[f] as number) + sign * v);
    }
    if (typeof c.areaM2 === 'number' && 'areaHa' in c) c.areaHa = round(c.areaM2 / 10000);
    if (valid > 0) c.fraction = c.pixelCount / valid;
    // The model's size range no longer describes a class a person edited.
    for (const k of Object.keys(c)) if (k.endsWith('Range')) delete c[k];
    const next = classes.slice();
    next[i] = c;
    r.document = { ...r.document, classes: next };
  }

  /** Runs one edit, undo or redo of a result after the ones already asked for (each reads what the last wrote). */
  private serial<T>(r: Kept, fn: () => Promise<T>): Promise<T> {
    const run = r.queue.then(fn, fn);
    r.queue = run.catch(() => undefined);
    return run;
  }

  async edit(id: string, op: EditOperation): Promise<EditResult> {
    const r = this.get(id);
    return this.serial(r, () => (isPixelOperation(op) ? this.pixelEdit(r, op) : this.idEdit(r, op)));
  }

  private async idEdit(r: Kept, op: EditOperation): Promise<EditResult> {
    const changes: Change[] = [];
    const live = async (iid: number): Promise<InstanceRecord> => {
      const rec = await this.recordOf(r, iid);
      if (!rec) throw new RangeError(`instance ${iid} does not exist in this result`);
      return rec;
    };
    switch (op.op) {
      case 'deleteInstance': {
        await live(op.instanceId);
        const before = this.stateOf(r, op.instanceId);
        changes.push({ id: op.instanceId, before, after: { ...before, alive: false, remap: 0 } });
        break;
      }
      case 'setInstanceClass': {
        const rec = await live(op.instanceId);
        const cls = r.classes[op.classId - 1];
        if (!Number.isInteger(op.classId) || !cls) throw new RangeError(`class ${op.classId} is not a class of this result (1..${r.classes.length})`);
        if (rec.classId === op.classId) throw new Error(`instance ${op.instanceId} is already of class ${cls.name}`);
        const before = this.stateOf(r, op.instanceId);
        const record: InstanceRecord = { ...rec, classId: op.classId, className: cls.name, edited: true };
        // The model's probability of the new class over the object (as the in-memory store re-measures it).
        if ('meanProbability' in rec) record.meanProbability = await this.meanProbabilityAs(r, rec, op.classId);
        changes.push({ id: op.instanceId, before, after: { ...before, record } });
        break;
      }
      case 'mergeInstances': {
        const [target, ...rest] = op.instanceIds;
        if (target === undefined || rest.length === 0) throw new RangeError('merging needs at least two instances');
        if (new Set(op.instanceIds).size !== op.instanceIds.length) throw new RangeError('an instance is named twice in the merge');
        const parts = [];
        for (const iid of op.instanceIds) parts.push(await live(iid));
        const before = this.stateOf(r, target);
        changes.push({ id: target, before, after: { ...before, record: mergedRecord(parts) } });
        for (const iid of rest) {
          const b = this.stateOf(r, iid);
          changes.push({ id: iid, before: b, after: { ...b, alive: false, remap: target } });
        }
        break;
      }
      default:
        throw new Error(`${op.op} is not an edit of ids`);
    }
    await this.apply(r, changes, 'forward');
    r.undo.push({ op, changes });
    r.redo = [];
    r.revision++;
    return await this.reply(r, changes.map((c) => c.id));
  }

  async undo(id: string): Promise<EditResult> {
    const r = this.get(id);
    return this.serial(r, async () => {
      const step = r.undo.pop();
      if (!step) throw new Error('nothing to undo');
      if (step.pixels) r.overlay.apply(step.pixels.patch, step.pixels.crop, 'undo');
      await this.apply(r, [...step.changes].reverse(), 'undo');
      r.redo.push(step);
      r.revision++;
      return await this.reply(r, step.changes.map((c) => c.id));
    });
  }

  async redo(id: string): Promise<EditResult> {
    const r = this.get(id);
    return this.serial(r, async () => {
      const step = r.redo.pop();
      if (!step) throw new Error('nothing to redo');
      if (step.pixels) r.overlay.apply(step.pixels.patch, step.pixels.crop, 'forward');
      await this.apply(r, step.changes, 'forward');
      r.undo.push(step);
      r.revision++;
      return await this.reply(r, step.changes.map((c) => c.id), step);
    });
  }

  /** Mean of class classId's probability over an object's pixels, read from its box; null when the probabilities are not kept. */
  private async meanProbabilityAs(r: Kept, rec: InstanceRecord, classId: number): Promise<number | null> {
    const [x0, y0, x1, y1] = boxOfRecord(rec);
    const win = clipWindow(x0, y0, x1, y1, r.width, r.height);
    if (!r.probabilities || !win || classId > r.probabilities.channels) return null;
    let sum = 0;
    let n = 0;
    // Strip by strip, in the in-memory store's (row-major) order, so the sum is the same number.
    for (const strip of this.strips(win)) {
      const { instances } = await this.readMaps(r, strip);
      const p = (await r.probabilities.read({ x: strip.x0, y: strip.y0, width: strip.width, height: strip.height, channels: [classId - 1] })).data;
      for (let i = 0; i < instances.length; i++) {
        if (instances[i] !== rec.id) continue;
        sum += p[i]! / 255;
        n++;
      }
    }
    return n > 0 ? sum / n : null;
  }

  /** The class of a live object (undefined: no such object now). */
  private classOf(r: Kept, id: number): number | undefined {
    const index = this.indexOf(r, id);
    return index >= 0 && r.alive[index] ? r.classIds[index] : undefined;
  }

  /** A slot in the per-record arrays for an id the store has not seen (new objects get ids above every other). */
  private ensureIndex(r: Kept, id: number): number {
    const found = this.indexOf(r, id);
    if (found >= 0) return found;
    const n = r.ids.length;
    if (n > 0 && r.ids[n - 1]! > id) throw new Error(`internal: new object id ${id} is below an existing one`);
    const grow = <T extends Uint32Array | Uint16Array | Uint8Array | Float32Array | Float64Array>(a: T, make: (len: number) => T, extra: number): T => {
      const b = make(a.length + extra);
      b.set(a);
      return b;
    };
    r.ids = grow(r.ids, (len) => new Uint32Array(len), 1);
    r.ids[n] = id;
    r.classIds = grow(r.classIds, (len) => new Uint16Array(len), 1);
    r.sizes = grow(r.sizes, (len) => new Float64Array(len), 1);
    r.meanProbability = grow(r.meanProbability, (len) => new Float32Array(len), 1);
    r.meanProbability[n] = NaN;
    r.alive = grow(r.alive, (len) => new Uint8Array(len), 1);
    // New objects' records live in state only: a zero-length byte range.
    r.offsets = grow(r.offsets, (len) => new Float64Array(len), 1);
    r.offsets[n + 1] = r.offsets[n]!;
    return n;
  }

  private async labelsOf(r: Kept): Promise<GeoTiffSource> {
    r.labels ??= await openGeoTiff(path.join(r.dir, 'labels.tif'));
    return r.labels;
  }

  private checkWindow(r: Kept, win: PixelWindow, op: EditOperation): void {
    const px = win.width * win.height;
    if (px > this.maxEditWindowPx) {
      throw new InputError('edit', `${op.op} on this result kept on disk would read a ${win.width} x ${win.height} pixel window (the drawn shape and the boxes of the objects it changes), more than the ${this.maxEditWindowPx} pixels one edit may read: edit a smaller area or a smaller object`);
    }
  }

  /**
   * Instance ids (read through the overlay and the id remaps) and labels (the class of each pixel's object; as
   * stored where there is none) of a full-resolution window, as the in-memory maps hold them.
   */
  private async readMaps(r: Kept, win: PixelWindow): Promise<{ instances: Uint32Array; labels: Uint16Array }> {
    const region = { x: win.x0, y: win.y0, width: win.width, height: win.height, channels: [0] };
    const instances = Uint32Array.from((await r.instances.read(region)).data);
    const labels = Uint16Array.from((await (await this.labelsOf(r)).read(region)).data);
    r.overlay.forEachEdited(span(win.x0, win.width), span(win.y0, win.height), (ox, oy, iid, label) => {
      instances[oy * win.width + ox] = iid;
      labels[oy * win.width + ox] = label;
    });
    const resolve = this.resolver(r);
    const classes = new Map<number, number | undefined>();
    for (let i = 0; i < instances.length; i++) {
      const stored = instances[i]!;
      if (stored === 0) continue;
      const now = resolve ? resolve(stored) : stored;
      instances[i] = now;
      if (now === 0) {
        labels[i] = 0;
        continue;
      }
      let c = classes.get(now);
      if (c === undefined && !classes.has(now)) {
        c = this.classOf(r, now);
        classes.set(now, c);
      }
      if (c !== undefined) labels[i] = c;
    }
    return { instances, labels };
  }

  /**
   * A pixel edit: the operation runs on the crop it can reach (operationWindow), its patch goes into the overlay,
   * and the objects it changed are re-measured from their boxes joined with the patch's box.
   */
  private async pixelEdit(r: Kept, op: PixelOperation): Promise<EditResult> {
    checkOnRaster(op, r.width, r.height);
    // fillHoles and splitInstance work inside the object's box: read its record for it (and to refuse unknown ids).
    let own: InstanceRecord | null = null;
    if (op.op === 'fillHoles' || op.op === 'splitInstance') {
      own = await this.recordOf(r, op.instanceId);
      if (!own) throw new InputError('edit', `instance ${op.instanceId} does not exist`);
    }
    const ownBox = own ? boxOfRecord(own) : null;
    const win = operationWindow(op, r.width, r.height, (iid) => (own && iid === own.id && ownBox ? ownBox : undefined)) ?? { x0: 0, y0: 0, width: 1, height: 1 };
    this.checkWindow(r, win, op);
    const maps = await this.readMaps(r, win);
    const target: EditTarget = {
      width: win.width,
      height: win.height,
      depth: 1,
      instances: maps.instances,
      labels: maps.labels,
      nodataLabel: r.nodataLabel,
      classCount: r.classes.length,
      classOf: (iid) => this.classOf(r, iid),
      boxOf: (iid) => (own && ownBox && iid === own.id ? [ownBox[0] - win.x0, ownBox[1] - win.y0, 0, ownBox[2] - win.x0, ownBox[3] - win.y0, 0] : undefined),
      nextInstanceId: r.nextInstanceId,
      connectivity: r.connectivity,
    };
    if (op.op === 'regionGrow') target.intensity = await this.readIntensityOf(r, win);
    const outcome = runOperation(target, shiftOperation(op, win.x0, win.y0));
    for (const created of [outcome.createdInstanceId, ...(outcome.createdInstanceIds ?? [])]) if (created !== undefined) r.nextInstanceId = Math.max(r.nextInstanceId, created + 1);
    const step: Step = { op, changes: [], pixels: { patch: outcome.patch, crop: win } };
    if (outcome.createdInstanceId !== undefined) step.createdInstanceId = outcome.createdInstanceId;
    if (outcome.createdInstanceIds?.length) step.createdInstanceIds = outcome.createdInstanceIds;
    if (outcome.patch.indices.length > 0) {
      // Writes the patch into the overlay (taken out again when measuring fails).
      step.changes = await this.remeasure(r, op, outcome.patch, win);
    }
    try {
      await this.apply(r, step.changes, 'forward');
    } catch (err) {
      // records.jsonl could not be read: the pixels go back so the maps and the undo stack still agree.
      r.overlay.apply(outcome.patch, win, 'undo');
      throw err;
    }
    r.undo.push(step);
    r.redo = [];
    r.revision++;
    return await this.reply(r, step.changes.map((c) => c.id), step);
  }

  private async readIntensityOf(r: Kept, win: PixelWindow): Promise<PixelArray> {
    try {
      return await this.readIntensity(r.path, win);
    } catch (err) {
      throw new Error(`the image ${r.path} could not be read for the edited objects' intensities: ${(err as Error).message}`);
    }
  }

  /** Full-width strips of a window, at most editStripPx pixels each (at least one row). */
  private *strips(win: PixelWindow): Generator<PixelWindow> {
    const rows = Math.max(1, Math.floor(this.editStripPx / win.width));
    for (let y = win.y0; y < win.y0 + win.height; y += rows) yield { x0: win.x0, y0: y, width: win.width, height: Math.min(rows, win.y0 + win.height - y) };
  }

  /**
   * Applies a pixel patch to the overlay and measures the objects it changed from the window holding their old
   * boxes and the patch, as the in-memory store does (statsInBox + measureInstances): the id changes to apply.
   * The window is read in strips (statistics add up row by row, in the in-memory order); the shape fields need each
   * object's mask over its box (1 byte a pixel, as the run's own measurement), filled in a second pass.
   */
  private async remeasure(r: Kept, op: EditOperation, patch: Patch, crop: PixelWindow): Promise<Change[]> {
    const changed = new Set<number>();
    for (let k = 0; k < patch.indices.length; k++) {
      if (patch.beforeInstance[k]) changed.add(patch.beforeInstance[k]!);
      if (patch.afterInstance[k]) changed.add(patch.afterInstance[k]!);
    }
    const b = patch.box!;
    let win: PixelWindow | null = { x0: crop.x0 + b[0], y0: crop.y0 + b[1], width: b[3] - b[0] + 1, height: b[4] - b[1] + 1 };
    for (const iid of changed) {
      const rec = await this.recordOf(r, iid);
      if (rec) {
        const [x0, y0, x1, y1] = boxOfRecord(rec);
        win = joinWindows(win, clipWindow(x0, y0, x1, y1, r.width, r.height));
      }
    }
    const box = win!;
    r.overlay.apply(patch, crop, 'forward');
    try {
      const byId = new Map<number, ComponentStats>();
      // A window of one strip is read once: its ids fill the masks below too.
      let single: { strip: PixelWindow; instances: Uint32Array } | null = null;
      // An image that can no longer be read (moved, deleted) leaves the intensity fields out, not the edit undone.
      let hasIntensity = true;
      for (const strip of this.strips(box)) {
        const maps = await this.readMaps(r, strip);
        let intensity: PixelArray | null = null;
        if (hasIntensity && strip.y0 === box.y0) intensity = await this.readIntensity(r.path, strip).catch(() => null);
        else if (hasIntensity) intensity = await this.readIntensityOf(r, strip);
        hasIntensity = intensity !== null;
        let probability: Map<number, ArrayLike<number>> | null = null;
        if (r.probabilities) {
          const needed = new Set<number>();
          for (let i = 0; i < maps.instances.length; i++) if (changed.has(maps.instances[i]!)) needed.add(maps.labels[i]!);
          probability = new Map();
          for (const classId of needed) {
            if (classId < 1 || classId > r.probabilities.channels) continue;
            const block = await r.probabilities.read({ x: strip.x0, y: strip.y0, width: strip.width, height: strip.height, channels: [classId - 1] });
            probability.set(classId, block.data);
          }
        }
        windowStats(strip, maps.instances, maps.labels, changed, probability, intensity, byId);
        single = strip.height === box.height ? { strip, instances: maps.instances } : null;
      }
      const stats = [...byId.values()].sort((p, q) => p.id - q.id);
      const maskPx = stats.reduce((t, st) => t + (st.max[0] - st.min[0] + 1) * (st.max[1] - st.min[1] + 1), 0);
      if (maskPx > this.maxMaskPx) throw new InputError('edit', `${op.op} on this result kept on disk changes objects whose boxes add up to ${maskPx} pixels, more than the ${this.maxMaskPx} one edit may measure (outlines are measured from masks of the boxes): edit smaller objects`);
      const masks = stats.map((st) => new Uint8Array((st.max[0] - st.min[0] + 1) * (st.max[1] - st.min[1] + 1)));
      if (single) {
        const { strip, instances } = single;
        stats.forEach((st, k) => fillMask(strip, instances, st, masks[k]!));
      } else if (stats.length > 0) {
        const top = Math.min(...stats.map((st) => st.min[1]));
        const bottom = Math.max(...stats.map((st) => st.max[1]));
        for (const strip of this.strips({ x0: box.x0, y0: top, width: box.width, height: bottom - top + 1 })) {
          const { instances } = await this.readMaps(r, strip);
          stats.forEach((st, k) => fillMask(strip, instances, st, masks[k]!));
        }
      }
      let ctx = this.shapeContexts.get(r);
      if (!ctx) {
        // Built once per result: the ellipsoidal pixel-area model of a large raster takes a while to set up.
        ctx = shapeContext(r.geometry, r.width, r.height, r.connectivity);
        this.shapeContexts.set(r, ctx);
      }
      const shapes = stats.map((st, k) => planeShapeFields(st, masks[k]!, ctx));
      const measured = measureInstances(stats, { geometry: r.geometry, depth: 1, classes: r.classes, validPixelCount: validPixels(r), classPixelCounts: [], hasProbability: r.probabilities !== null, hasIntensity, shapes, width: r.width, height: r.height, connectivity: r.connectivity });
      const fresh = new Map(measured.instances.map((rec) => [rec.id, rec]));
      const changes: Change[] = [];
      for (const iid of [...changed].sort((p, q) => p - q)) {
        const index = this.indexOf(r, iid);
        const before: IdState = index >= 0 ? this.stateOf(r, iid) : { record: undefined, alive: false, remap: undefined };
        this.ensureIndex(r, iid);
        const rec = fresh.get(iid);
        const after: IdState = rec ? { record: { ...rec, ...(r.hadProbability && !('meanProbability' in rec) ? { meanProbability: null } : {}), edited: true }, alive: true, remap: undefined } : { record: undefined, alive: false, remap: undefined };
        changes.push({ id: iid, before, after });
      }
      return changes;
    } catch (err) {
      r.overlay.apply(patch, crop, 'undo');
      throw err;
    }
  }

  /** The live records in id order, a chunk at a time (exports stream them). */
  private async *liveRecords(r: Kept): AsyncGenerator<InstanceRecord> {
    for (let i = 0; i < r.ids.length; i++) if (r.alive[i]) yield await this.readRecord(r, i);
  }

  /**
   * Writes the result as it stands: 'json' (the document with every live record), 'csv' (the records' table),
   * 'geotiff' (labels.tif with the edits applied strip by strip), 'geojson' | 'gpkg' | 'shp' (outlines traced block
   * by block, vector-stream.ts). Other formats need the whole map in memory.
   */
  async export(id: string, format: string, out: string, options: { deidentify?: boolean } = {}): Promise<string[]> {
    const r = this.get(id);
    const records: InstanceRecord[] = [];
    switch (format) {
      case 'json':
      case 'csv': {
        for await (const rec of this.liveRecords(r)) records.push(rec);
        if (format === 'csv') {
          await writeChunksAtomic(out, [measurementsCsv(records)]);
          return [out];
        }
        const doc: InstancesDocument = { ...r.document, instances: records };
        if (options.deidentify) doc.source = { ...doc.source, file: path.basename(doc.source.file) };
        await writeChunksAtomic(out, [JSON.stringify(doc, null, 2) + '\n']);
        return [out];
      }
      case 'geotiff':
        await this.exportLabels(r, out);
        return [out];
      case 'geojson':
      case 'gpkg':
      case 'shp': {
        // Traced block by block from the map as the edits leave it (readMaps: pixel edits, merged parts as their target, deleted as none).
        const ids: IdWindowReader = { ...idReaderOf(r.instances), bytesPerId: 4, read: async (x, y, width, height) => (await this.readMaps(r, { x0: x, y0: y, width, height })).instances };
        return (await exportVectorStream({ file: r.path, geometry: r.geometry, ids, records: () => this.liveRecords(r) }, format, out)).written;
      }
      default:
        throw new Error(`${format} export of a result kept on disk (a windowed run of a large raster) is not available: export GeoTIFF, GeoJSON, GeoPackage, Shapefile, JSON or CSV`);
    }
  }

  /** labels.tif with pixel edits, deletions (label 0) and class changes applied, written strip by strip to a temporary file renamed over `out`. */
  private async exportLabels(r: Kept, out: string): Promise<void> {
    const labelsPath = path.join(r.dir, 'labels.tif');
    if (r.state.size === 0 && r.overlay.empty) {
      const tmp = `${out}.${process.pid}.tmp`;
      await fs.copyFile(labelsPath, tmp);
      await fs.rename(tmp, out);
      return;
    }
    const resolve = this.resolver(r) ?? ((v: number): number => v);
    const classOf = new Map<number, number>();
    for (const [iid, s] of r.state) if (s.record) classOf.set(iid, s.record.classId);
    const labels = await openGeoTiff(labelsPath);
    const dtype = labels.dtype === 'uint16' ? 'uint16' : 'uint8';
    const names = r.classes.map((c, i) => `${i + 1}=${c.name}`).join(';');
    const writer = await TiffWriter.open(out, { width: r.width, height: r.height, channels: 1, dtype, geometry: r.geometry, nodata: r.nodataLabel }, { colormap: labelColormap(r.classes, dtype === 'uint8' ? 256 : 65536), description: `labels: 0=none;${names};${r.nodataLabel}=nodata`, tileSize: 256 });
    try {
      for (let y = 0; y < r.height; y += 256) {
        const h = Math.min(256, r.height - y);
        const region = { x: 0, y, width: r.width, height: h, channels: [0] };
        const lab = (await labels.read(region)).data;
        const ins = (await r.instances.read(region)).data;
        const labelOf = (stored: number, label: number): number => {
          if (stored === 0) return label;
          const now = resolve(stored);
          return now === 0 ? 0 : (classOf.get(now) ?? label);
        };
        const strip = dtype === 'uint16' ? new Uint16Array(lab.length) : new Uint8Array(lab.length);
        for (let i = 0; i < lab.length; i++) strip[i] = labelOf(ins[i]!, lab[i]!);
        // What pixel edits wrote replaces the stored pixels (strips are whole rows of overlay tiles).
        r.overlay.forEachEdited(span(0, r.width), span(y, h), (ox, oy, iid, label) => (strip[oy * r.width + ox] = labelOf(iid, label)));
        await writer.writeWindow(0, y, r.width, h, strip);
      }
      await writer.close();
    } catch (err) {
      await writer.abort().catch(() => undefined);
      throw err;
    } finally {
      await labels.close();
    }
  }

  /** What a result is, for the service (source path and size). */
  info(id: string): { path: string; width: number; height: number; instanceCount: number } {
    const r = this.get(id);
    let live = 0;
    for (let i = 0; i < r.alive.length; i++) live += r.alive[i]!;
    return { path: r.path, width: r.width, height: r.height, instanceCount: live };
  }

  /** Closes every result (the host is going away). */
  async closeAll(): Promise<void> {
    for (const id of [...this.results.keys()]) await this.close(id);
  }
}

/** Inclusive [x0, y0, x1, y1] of a record's box. */
function boxOfRecord(rec: InstanceRecord): [number, number, number, number] {
  const { min, max } = rec.bbox;
  return [min[0] ?? 0, min[1] ?? 0, max[0] ?? 0, max[1] ?? 0];
}

/** Full-resolution column and row of each preview pixel (nearest pixel centre), as slice() samples. */
function previewGrid(W: number, H: number, outW: number, outH: number): { cols: Float64Array; rows: Float64Array } {
  const cols = new Float64Array(outW);
  const rows = new Float64Array(outH);
  for (let ox = 0; ox < outW; ox++) cols[ox] = Math.min(W - 1, Math.floor(((ox + 0.5) * W) / outW));
  for (let oy = 0; oy < outH; oy++) rows[oy] = Math.min(H - 1, Math.floor(((oy + 0.5) * H) / outH));
  return { cols, rows };
}

/** Channel 0 of an image inside a window, read through the engine's image reader. */
async function readImageWindow(file: string, win: PixelWindow): Promise<PixelArray> {
  const src = await openImage(file);
  try {
    return (await src.read({ x: win.x0, y: win.y0, width: win.width, height: win.height, channels: [0] })).data;
  } finally {
    await src.close();
  }
}

/** Valid (non-nodata) pixels of the run, from its class totals (fraction = pixelCount / valid). */
function validPixels(r: Kept): number {
  for (const c of r.document.classes) if (c.fraction > 0) return c.pixelCount / c.fraction;
  return 0;
}

/** The record of merged objects: sizes summed, box joined, centroid and probability weighted by pixel count. */
function mergedRecord(parts: InstanceRecord[]): InstanceRecord {
  const first = parts[0]!;
  const pixelCount = parts.reduce((n, p) => n + p.pixelCount, 0);
  const dims = first.bbox.min.length;
  const min = first.bbox.min.slice();
  const max = first.bbox.max.slice();
  const centroid = new Array<number>(first.centroidPx.length).fill(0);
  let probSum = 0;
  let probPixels = 0;
  for (const p of parts) {
    for (let d = 0; d < dims; d++) {
      min[d] = Math.min(min[d]!, p.bbox.min[d]!);
      max[d] = Math.max(max[d]!, p.bbox.max[d]!);
    }
    p.centroidPx.forEach((v, d) => (centroid[d]! += (v * p.pixelCount) / pixelCount));
    if (typeof p.meanProbability === 'number') {
      probSum += p.meanProbability * p.pixelCount;
      probPixels += p.pixelCount;
    }
  }
  // Shape measurements (perimeter, axes) of the joined object would need its pixels: left out rather than stale.
  const rec: InstanceRecord = { id: first.id, classId: first.classId, className: first.className, pixelCount, bbox: { min, max }, centroidPx: centroid.map(round), edited: true };
  for (const f of SUM_FIELDS) {
    if (parts.every((p) => typeof p[f] === 'number')) rec[f] = round(parts.reduce((t, p) => t + (p[f] as number), 0));
  }
  if (typeof first.areaM2 === 'number' && 'areaHa' in first) rec.areaHa = round((rec.areaM2 as number) / 10000);
  if ('meanProbability' in first) rec.meanProbability = probPixels === pixelCount ? round(probSum / pixelCount) : null;
  return rec;
}

/** For tests and the exit path: the folder this process keeps disk results under (null before the first). */
export function resultsRoot(): string | null {
  return root;
}

