// `--labels-are instances` on 2D label rasters too large for memory: the raster already holds instance ids (each
// distinct non-zero value is one instance, touching or not, as components.ts instancesFromValues), read strip by
// strip from disk. Same ids, statistics and maps as the in-memory path, in bounded memory:
//
// Pass 1 (scan): per label value (<= 65535, as the in-memory path requires), the raster order of its first pixel,
//   pixel count, bbox and index sums; ids 1..n go to values in that order, values below minPixels are dropped and
//   the rest renumbered, as instancesFromValues does.
// Pass 2 (write): each strip is mapped value -> id and value -> class; the instance map and the class map go to disk
//   through the streaming TiffWriter; intensity sums are gathered here in raster order per id, so floating-point
//   sums equal the in-memory ones bit for bit.
// Shape fields then come from streaming.ts streamShapes on the instance map written here (ids grow with first row).
// Memory: O(strip) + O(65536) per-value tables + the records.
import type { Geometry } from '../../../preload/formats';
import type { PixelArray } from '../image';
import { TiffWriter, type TiffWriteOptions } from '../io/tiff-writer';
import { throwIfAborted } from '../inference/tiling';
import { addIntensity, newComponentStats, type ComponentStats } from './components';
import { STRIP_ROWS, type StreamingComponents } from './streaming';
import { checkLabels, instanceMapPath, openInstanceWriter, readRows, StatsTable, writeInstanceRows, type RowSource } from './streaming-common';

/** Label value of the class map's nodata, as the in-memory path uses for given instances. */
export const GIVEN_NODATA_LABEL = 255;

export interface GivenInstancesInput {
  /** Instance ids (channel 0): 0 = none, every other value one instance. */
  values: RowSource;
  /** Class id of an instance value (default 1). */
  classOf?: (value: number) => number;
  /** Channel-0 intensities, same size. */
  intensity?: RowSource;
  minPixels?: number;
  /** Rows per strip, a multiple of 16 (default STRIP_ROWS). */
  stripRows?: number;
  /** Where to write the instance map (GeoTIFF); default a temporary file removed by cleanup(). */
  instancesPath?: string;
  /** Where to write the class map (omit: not written). */
  labelsPath?: string;
  /** Options for the class map's writer, given the largest class id. */
  labelsOptions?: (maxClass: number) => TiffWriteOptions;
  geometry: Geometry;
  /** Per written strip: its rows, class labels and final instance ids (previews, zones). */
  onStrip?: (y: number, rows: number, labels: PixelArray, ids: Uint32Array) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface GivenInstancesResult extends StreamingComponents {
  /** Original label value of each instance: valueOfId[id - 1]. */
  valueOfId: number[];
  /** Largest class id of any value (at least 1), as the in-memory path computes it. */
  maxClass: number;
}

/** Instances given by their ids in a raster on disk: statistics, instance map and class map, strip by strip. */
export async function streamGivenInstances(input: GivenInstancesInput): Promise<GivenInstancesResult> {
  const src = input.values;
  const { width: W, height: H } = src;
  const S = input.stripRows ?? STRIP_ROWS;
  if (!(Number.isInteger(S) && S >= 16 && S % 16 === 0)) throw new RangeError(`streamGivenInstances: strip rows must be a multiple of 16, got ${S}`);
  const tileSize = S % 256 === 0 ? 256 : S;
  const classOf = input.classOf ?? ((): number => 1);
  // Per value (index = value): order of first appearance (1-based, 0 = not seen) and statistics.
  const order = new Int32Array(65536);
  const valueOfOrder: number[] = [];
  const stats: ComponentStats[] = [];

  // ---- pass 1
  for (let y0 = 0; y0 < H; y0 += S) {
    throwIfAborted(input.signal);
    const rows = Math.min(S, H - y0);
    const v = await readRows(src, y0, rows);
    checkLabels(v, src.file);
    for (let y = 0; y < rows; y++) {
      const gy = y0 + y;
      for (let x = 0; x < W; x++) {
        const value = v[y * W + x]!;
        if (value === 0) continue;
        let k = order[value]!;
        if (k === 0) {
          valueOfOrder.push(value);
          k = order[value] = valueOfOrder.length;
          stats.push(newComponentStats(k, classOf(value), x, gy, 0));
        }
        const s = stats[k - 1]!;
        s.pixelCount++;
        if (x < s.min[0]) s.min[0] = x;
        if (x > s.max[0]) s.max[0] = x;
        s.max[1] = gy;
        s.sum[0] += x;
        s.sum[1] += gy;
      }
    }
  }

  // ---- drop values below minPixels and renumber, keeping first-pixel order.
  const minPixels = input.minPixels ?? 0;
  const idOfValue = new Uint32Array(65536);
  const classOfValue = new Uint16Array(65536);
  let maxClass = 0;
  const kept: ComponentStats[] = [];
  const valueOfId: number[] = [];
  stats.forEach((s, i) => {
    const value = valueOfOrder[i]!;
    if (s.classId > maxClass) maxClass = s.classId;
    if (s.pixelCount < minPixels) return;
    const id = kept.length + 1;
    idOfValue[value] = id;
    classOfValue[value] = s.classId;
    valueOfId.push(value);
    kept.push({ ...s, id });
  });
  // The class map's type follows the largest class of any value, dropped or not (as instancesFromValues).
  const wideLabels = maxClass > 254;
  const perValue = new Float64Array(65536);
  let valid = 0;

  // ---- pass 2
  const { instancesPath, cleanup } = await instanceMapPath(input.instancesPath);
  const wide = kept.length >= 65536;
  const writers: TiffWriter[] = [];
  try {
    const instWriter = await openInstanceWriter(instancesPath, W, H, wide, input.geometry, tileSize);
    writers.push(instWriter);
    const labelWriter = input.labelsPath
      ? await TiffWriter.open(
          input.labelsPath,
          { width: W, height: H, channels: 1, dtype: wideLabels ? 'uint16' : 'uint8', geometry: input.geometry, nodata: GIVEN_NODATA_LABEL },
          { ...input.labelsOptions?.(Math.max(1, maxClass)), tileSize },
        )
      : null;
    if (labelWriter) writers.push(labelWriter);
    const out = new Uint32Array(W * Math.min(S, H));
    const cls: Uint8Array | Uint16Array = wideLabels ? new Uint16Array(out.length) : new Uint8Array(out.length);
    for (let y0 = 0; y0 < H; y0 += S) {
      throwIfAborted(input.signal);
      const rows = Math.min(S, H - y0);
      const px = W * rows;
      const v = await readRows(src, y0, rows);
      const intensity = input.intensity ? await readRows(input.intensity, y0, rows) : null;
      for (let i = 0; i < px; i++) {
        const id = idOfValue[v[i]!]!;
        out[i] = id;
        const c = id === 0 ? 0 : classOfValue[v[i]!]!;
        cls[i] = c;
        // The class map is what the in-memory path counts: nodata is its 255, classes are the kept instances'.
        if (c !== GIVEN_NODATA_LABEL) valid++;
        perValue[c]!++;
        if (intensity && id !== 0) addIntensity(kept[id - 1]!, intensity[i]!);
      }
      const strip = out.subarray(0, px);
      const labels = cls.subarray(0, px);
      await writeInstanceRows(instWriter, y0, rows, strip, wide);
      if (labelWriter) await labelWriter.writeWindow(0, y0, W, rows, labels);
      if (input.onStrip) await input.onStrip(y0, rows, labels, strip);
    }
    for (const w of writers.splice(0)) await w.close();
  } catch (err) {
    for (const w of writers) await w.abort().catch(() => undefined);
    await cleanup();
    throw err;
  }
  perValue[0] = 0;
  // At most 65535 values, so the columns are small.
  return { stats: kept, table: StatsTable.fromArray(kept), perValue, valid, maxLabel: Math.max(1, maxClass), instancesPath, cleanup, valueOfId, maxClass: Math.max(1, maxClass) };
}
