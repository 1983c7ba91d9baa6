// Resampling of a later date's label raster onto the common grid (the earliest date's), strip by strip, with GDAL's
// nearest-neighbour pixel-centre rule: the centre of each target pixel is taken to the source CRS (proj4, offline
// definitions from geo/crs.ts) and the source pixel that contains it is used (floor(u + 1e-10), as gdalwarp's nearest
// kernel does); centres outside the source, and source nodata, give no value. Only the source window a strip needs is
// read, so memory stays O(strip) whatever the rasters' sizes.
import proj4 from 'proj4';
import type { GeoGeometry, GeoTransform } from '../../../../preload/formats';
import { InputError, type ImageSource, type PixelArray } from '../../image';
import { CrsError, epsgCode, resolveCrs } from '../../geo/crs';

/** "No value" on the common grid: outside the raster's extent, or its nodata. */
export const NO_VALUE = 65535;

/** A label (or instance) raster with its georeferencing and nodata value. */
export interface GridRaster {
  input: string;
  src: ImageSource;
  width: number;
  height: number;
  geotransform: GeoTransform;
  crs: string;
  /** Label value that means nodata (255 for uint8 maps, 65535 for uint16, or the file's own nodata). */
  nodata: number | null;
}

/** Checks that a raster is a 2D, one-band, georeferenced map with a CRS; returns its grid. */
export function gridOf(input: string, src: ImageSource, nodataDefault: number | null): GridRaster {
  const g = src.geometry;
  if (g.type !== 'geo' || !g.crs) throw new InputError(src.file, `${input}: the label map has no georeferencing (a GeoTIFF with a CRS is needed for a map comparison)`);
  if (src.depth !== 1) throw new InputError(src.file, 'a map comparison needs 2D label rasters');
  if (src.channels !== 1) throw new InputError(src.file, `a label map has one band; this has ${src.channels}`);
  try {
    resolveCrs(g.crs);
  } catch (err) {
    if (err instanceof CrsError) throw new InputError(src.file, err.message);
    throw err;
  }
  const nodata = typeof src.nodata === 'number' ? src.nodata : nodataDefault;
  return { input, src, width: src.width, height: src.height, geotransform: (g as GeoGeometry).geotransform, crs: g.crs, nodata };
}

export function sameCrs(a: string, b: string): boolean {
  if (a === b) return true;
  const ca = epsgCode(a);
  return ca !== null && ca === epsgCode(b);
}

/** Pixels between exactly transformed anchors on a row; in between, positions are interpolated (see below). */
const ANCHOR_STEP = 32;
/** Largest interpolation error (source pixels) at a span's midpoint for the span to be interpolated. */
const MAX_INTERPOLATION_ERROR_PX = 1e-4;
/** Interpolated positions this close to a pixel edge are transformed exactly, so the pixel picked never differs. */
const EDGE_MARGIN_PX = 1e-3;

/**
 * For target row y, the source pixel (col, row) holding each target pixel centre, or -1 where the centre falls
 * outside the source. Same CRS: the geotransforms only. Else proj4 from the target CRS to the source CRS, exactly at
 * every ANCHOR_STEP-th pixel and linearly in between where the midpoint shows the row is straight to 1e-4 px (a
 * projection is smooth at this scale); any interpolated position within 1e-3 px of a pixel edge is transformed exactly,
 * so the choice of pixel is the exact transform's. This is the exact counterpart of gdalwarp's approximate transformer.
 */
export function pixelCentreMapper(target: Pick<GridRaster, 'geotransform' | 'crs' | 'width'>, source: Pick<GridRaster, 'geotransform' | 'crs' | 'width' | 'height'>): (y: number, cols: Int32Array, rows: Int32Array) => void {
  const tg = target.geotransform;
  const sg = source.geotransform;
  const conv = sameCrs(target.crs, source.crs) ? null : proj4(resolveCrs(target.crs).proj4, resolveCrs(source.crs).proj4);
  const W = target.width;
  const sw = source.width;
  const sh = source.height;
  const det = sg[1] * sg[5] - sg[2] * sg[4];
  if (det === 0) throw new RangeError('geotransform is not invertible');
  const us = new Float64Array(W);
  const vs = new Float64Array(W);
  /** Fractional source pixel of target pixel centre (x + 0.5, y + 0.5), into us/vs[x]; NaN when it cannot be mapped. */
  const exact = (x: number, py: number): void => {
    const px = x + 0.5;
    let mx = tg[0] + px * tg[1] + py * tg[2];
    let my = tg[3] + px * tg[4] + py * tg[5];
    if (conv) {
      const p = conv.forward([mx, my]);
      mx = p[0]!;
      my = p[1]!;
    }
    const dx = mx - sg[0];
    const dy = my - sg[3];
    us[x] = (dx * sg[5] - dy * sg[2]) / det;
    vs[x] = (dy * sg[1] - dx * sg[4]) / det;
  };
  const nearEdge = (u: number): boolean => {
    const f = u + 1e-10 - Math.floor(u + 1e-10);
    return f < EDGE_MARGIN_PX || f > 1 - EDGE_MARGIN_PX;
  };
  return (y, cols, rows) => {
    const py = y + 0.5;
    if (!conv) {
      for (let x = 0; x < W; x++) exact(x, py);
    } else {
      for (let x0 = 0; x0 < W; x0 += ANCHOR_STEP) {
        const x1 = Math.min(W - 1, x0 + ANCHOR_STEP);
        exact(x0, py);
        exact(x1, py);
        if (x1 - x0 < 2) continue;
        const xm = (x0 + x1) >> 1;
        exact(xm, py);
        const t = (xm - x0) / (x1 - x0);
        const straight =
          Math.abs(us[x0]! + (us[x1]! - us[x0]!) * t - us[xm]!) < MAX_INTERPOLATION_ERROR_PX && Math.abs(vs[x0]! + (vs[x1]! - vs[x0]!) * t - vs[xm]!) < MAX_INTERPOLATION_ERROR_PX;
        for (let x = x0 + 1; x < x1; x++) {
          if (x === xm) continue;
          if (!straight) {
            exact(x, py);
            continue;
          }
          const f = (x - x0) / (x1 - x0);
          const u = us[x0]! + (us[x1]! - us[x0]!) * f;
          const v = vs[x0]! + (vs[x1]! - vs[x0]!) * f;
          if (nearEdge(u) || nearEdge(v)) exact(x, py);
          else {
            us[x] = u;
            vs[x] = v;
          }
        }
      }
    }
    for (let x = 0; x < W; x++) {
      const u = us[x]!;
      const v = vs[x]!;
      // gdalwarp's nearest kernel: centres left of or above the source are outside; else floor with a 1e-10 nudge.
      const c = u >= 0 && v >= 0 ? Math.floor(u + 1e-10) : -1;
      const r = c >= 0 ? Math.floor(v + 1e-10) : -1;
      if (c < 0 || c >= sw || r >= sh) {
        cols[x] = -1;
        rows[x] = -1;
      } else {
        cols[x] = c;
        rows[x] = r;
      }
    }
  };
}

/** Reads band 0 of a raster's rows [y, y + h) whole (the common grid's own date). */
export async function readRows(r: GridRaster, y: number, h: number): Promise<PixelArray> {
  return (await r.src.read({ x: 0, y, width: r.width, height: h, channels: [0] })).data;
}

/**
 * Values of `source` on the target strip at rows [y0, y0 + h) (width W), with NO_VALUE where the centre falls outside
 * or on source nodata. `extra` rasters on the source's grid (its instance map) are sampled at the same pixels.
 */
export async function resampleStrip(
  source: GridRaster,
  map: (y: number, cols: Int32Array, rows: Int32Array) => void,
  y0: number,
  h: number,
  W: number,
  extra?: GridRaster,
): Promise<{ values: Uint16Array; extra: Uint32Array | null }> {
  const n = W * h;
  const cols = new Int32Array(n);
  const rows = new Int32Array(n);
  let minC = Infinity;
  let minR = Infinity;
  let maxC = -1;
  let maxR = -1;
  for (let j = 0; j < h; j++) {
    const c = cols.subarray(j * W, (j + 1) * W);
    const r = rows.subarray(j * W, (j + 1) * W);
    map(y0 + j, c, r);
    for (let x = 0; x < W; x++) {
      const cx = c[x]!;
      if (cx < 0) continue;
      const rx = r[x]!;
      if (cx < minC) minC = cx;
      if (cx > maxC) maxC = cx;
      if (rx < minR) minR = rx;
      if (rx > maxR) maxR = rx;
    }
  }
  const values = new Uint16Array(n).fill(NO_VALUE);
  const ids = extra ? new Uint32Array(n) : null;
  if (maxC < 0) return { values, extra: ids };
  const win = { x: minC, y: minR, width: maxC - minC + 1, height: maxR - minR + 1, channels: [0] };
  const data = (await source.src.read(win)).data;
  const extraData = extra ? (await extra.src.read(win)).data : null;
  const nodata = source.nodata;
  for (let i = 0; i < n; i++) {
    const c = cols[i]!;
    if (c < 0) continue;
    const k = (rows[i]! - minR) * win.width + (c - minC);
    const v = data[k]!;
    if (v === nodata || v >= NO_VALUE) continue;
    values[i] = v;
    if (ids && extraData) ids[i] = extraData[k]!;
  }
  return { values, extra: ids };
}
