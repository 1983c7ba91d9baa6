// Renders one slice of an image to an 8-bit RGBA preview (window/level, band selection, downsampling).
// Downsampling is an area average (box filter over the source pixels each preview pixel covers), done in
// modality values before windowing, skipping NaN and nodata; preview pixels with no valid source are transparent.
// Volumes also give coronal and sagittal slices (reformat.ts lays them out, superior at the top).
import type { SliceBitmap, SliceRequest } from '../../../preload/api';
import type { ImageSource, PixelBlock } from '../image';
import { checkIndex, planeLayout, previewSize, type PlaneLayout } from './reformat';
import { bandStretch } from './band-stretch';

interface Window {
  center: number;
  width: number;
}

/** Value at the given fraction (0..1) of a sample of the finite values; sorts at most ~256k values. */
function percentiles(planes: Float32Array[], fractions: number[]): number[] | null {
  const total = planes.reduce((n, p) => n + p.length, 0);
  const step = Math.max(1, Math.floor(total / 262144));
  const sample: number[] = [];
  let k = 0;
  for (const p of planes) {
    for (let i = 0; i < p.length; i++, k++) {
      if (k % step !== 0) continue;
      const v = p[i]!;
      if (!Number.isNaN(v)) sample.push(v);
    }
  }
  if (sample.length === 0) return null;
  const sorted = Float64Array.from(sample).sort();
  return fractions.map((f) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(f * (sorted.length - 1))))]!);
}

function numberOf(v: unknown): number | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  const n = typeof first === 'string' ? Number(first) : first;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** Area-average downsampling of one plane; NaN marks invalid pixels on input and output. */
export function downsample(src: Float32Array, w: number, h: number, outW: number, outH: number): Float32Array {
  if (outW === w && outH === h) return src;
  const xs = Array.from({ length: outW + 1 }, (_, i) => Math.floor((i * w) / outW));
  const ys = Array.from({ length: outH + 1 }, (_, i) => Math.floor((i * h) / outH));
  const out = new Float32Array(outW * outH);
  const sum = new Float64Array(outW);
  const cnt = new Uint32Array(outW);
  for (let oy = 0; oy < outH; oy++) {
    sum.fill(0);
    cnt.fill(0);
    for (let y = ys[oy]!; y < Math.max(ys[oy + 1]!, ys[oy]! + 1); y++) {
      const row = y * w;
      for (let ox = 0; ox < outW; ox++) {
        const x1 = Math.max(xs[ox + 1]!, xs[ox]! + 1);
        for (let x = xs[ox]!; x < x1; x++) {
          const v = src[row + x]!;
          if (!Number.isNaN(v)) {
            sum[ox] = sum[ox]! + v;
            cnt[ox] = cnt[ox]! + 1;
          }
        }
      }
    }
    for (let ox = 0; ox < outW; ox++) out[oy * outW + ox] = cnt[ox]! > 0 ? sum[ox]! / cnt[ox]! : NaN;
  }
  return out;
}

/**
 * A coronal (fixed y) or sagittal (fixed x) slice read from the source, laid out as the plane shows it:
 * channel-planar, rows as layout says (flipped so the highest z is row 0 when z runs superior).
 */
async function readReformatted(src: ImageSource, layout: PlaneLayout, index: number, channels: number[]): Promise<PixelBlock> {
  const { width: pw, height: ph } = layout;
  const D = src.depth;
  const block = await src.read(layout.axis === 'coronal' ? { y: index, height: 1, channels } : { x: index, width: 1, channels });
  // The block is (channel, z, 1 row, x) for coronal and (channel, z, y, 1 column) for sagittal: pw values per z.
  const out = new Float32Array(channels.length * pw * ph);
  for (let c = 0; c < channels.length; c++) {
    for (let row = 0; row < ph; row++) {
      const z = layout.flipRows ? D - 1 - row : row;
      const from = (c * D + z) * pw;
      const to = (c * ph + row) * pw;
      for (let col = 0; col < pw; col++) out[to + col] = block.data[from + col]!;
    }
  }
  return { data: out, width: pw, height: ph, depth: 1, channels: channels.length, dtype: 'float32' };
}

/** Value -> 0..255 for the R, G and B channels: one window for all, or one per shown band (grey: the first). */
export function byteMaps(window: Window, bandWindows: Window[] | null | undefined, shownCount: number): [(v: number) => number, (v: number) => number, (v: number) => number] {
  const map = (w: Window): ((v: number) => number) => {
    const lo = w.center - w.width / 2;
    const k = 255 / (w.width > 0 ? w.width : 1);
    return (v) => Math.max(0, Math.min(255, Math.round((v - lo) * k)));
  };
  const all = map(window);
  if (!bandWindows || bandWindows.length === 0) return [all, all, all];
  const ws = shownCount === 3 && bandWindows.length === 3 ? bandWindows.map(map) : [map(bandWindows[0]!)];
  return [ws[0]!, ws[1] ?? ws[0]!, ws[2] ?? ws[0]!];
}

export async function renderSlice(src: ImageSource, request: Omit<SliceRequest, 'handle'>): Promise<SliceBitmap> {
  const z = request.z;
  const axis = request.axis ?? 'axial';
  const layout = planeLayout(src, src.geometry, axis);
  checkIndex(layout, z);
  const maxSize = Math.max(1, Math.floor(request.maxSize));
  let bands = request.bands && request.bands.length > 0 ? request.bands : src.channels >= 3 ? [0, 1, 2] : [0];
  if (bands.some((b) => !Number.isInteger(b) || b < 0 || b >= src.channels)) {
    throw new RangeError(`bands ${JSON.stringify(request.bands)} are outside 0..${src.channels - 1}`);
  }
  if (bands.length !== 1 && bands.length !== 3) bands = [bands[0]!];
  const unique = [...new Set(bands)];
  const { outW, outH } = previewSize(layout.width, layout.height, maxSize);
  // Pyramidal sources (GeoTIFF overviews) give the slice from the coarsest level that still covers the preview size.
  const reduced = src.readReduced && src.depth === 1 && axis === 'axial' ? await src.readReduced({ channels: unique }, outW, outH) : null;
  const block = reduced ?? (axis === 'axial' ? await src.read({ z, depth: 1, channels: unique }) : await readReformatted(src, layout, z, unique));
  const mask = reduced?.mask;
  const w = block.width;
  const h = block.height;
  const plane = w * h;
  // GDAL writes nodata as decimal text: compare in the sample type, or float32 rasters never match (-3.4e38).
  const nodataRaw = src.nodata === 'nan' ? NaN : src.nodata;
  const nodata = nodataRaw !== undefined && src.dtype === 'float32' ? Math.fround(nodataRaw) : nodataRaw;
  const planes = unique.map((_, i) => {
    const p = new Float32Array(plane);
    const data = block.data;
    for (let j = 0; j < plane; j++) {
      const v = data[i * plane + j]!;
      p[j] = v === nodata || (mask !== undefined && mask[j] === 0) ? NaN : v;
    }
    return downsample(p, w, h, outW, outH);
  });
  const shown = bands.map((b) => planes[unique.indexOf(b)]!);

  let window: Window | undefined = request.window;
  if (!window) {
    const c = numberOf(src.meta.windowCenter);
    const ww = numberOf(src.meta.windowWidth);
    if (c !== undefined && ww !== undefined && ww > 0) window = { center: c, width: ww };
  }
  if (!window && src.dtype === 'uint8') window = { center: 127.5, width: 255 }; // shown as stored
  // 16-bit and float rasters: each band between its own 2nd and 98th percentile (overview statistics).
  const bandWindows = window || axis !== 'axial' ? null : await bandStretch(src, bands);
  if (bandWindows) window = bandWindows[0];
  if (!window) {
    const p = percentiles(planes, [0.005, 0.995]);
    const lo = p?.[0] ?? 0;
    const hi = p?.[1] ?? 1;
    window = { center: (lo + hi) / 2, width: hi > lo ? hi - lo : 1 };
  }
  const n = outW * outH;
  const rgba = new Uint8Array(n * 4);
  const [toR, toG, toB] = byteMaps(window, bandWindows, shown.length);
  for (let i = 0; i < n; i++) {
    const r = shown[0]![i]!;
    const g = shown.length === 3 ? shown[1]![i]! : r;
    const b = shown.length === 3 ? shown[2]![i]! : r;
    const valid = !Number.isNaN(r) && !Number.isNaN(g) && !Number.isNaN(b);
    rgba[i * 4] = valid ? toR(r) : 0;
    rgba[i * 4 + 1] = valid ? toG(g) : 0;
    rgba[i * 4 + 2] = valid ? toB(b) : 0;
    rgba[i * 4 + 3] = valid ? 255 : 0;
  }
  const bitmap: SliceBitmap = { width: outW, height: outH, scale: Math.max(layout.width / outW, layout.height / outH), rgba, window: { center: window.center, width: window.width } };
  if (bandWindows) bitmap.bandWindows = bandWindows.map((w) => ({ center: w.center, width: w.width }));
  if (axis !== 'axial') {
    bitmap.axis = axis;
    bitmap.flipRows = layout.flipRows;
  }
  if (src.depth > 1) bitmap.planeSize = [layout.width, layout.height];
  if (layout.spacingMm) bitmap.spacingMm = layout.spacingMm;
  return bitmap;
}
