// TIFF/GeoTIFF writer: tiled, DEFLATE, GeoKeys for EPSG CRSs, GDAL nodata tag, optional colour table.
// A small baseline encoder of our own: little-endian classic TIFF, 256x256 tiles, pixel-interleaved (PlanarConfiguration 1),
// DEFLATE (zlib) without predictor. Files over 4 GiB would need BigTIFF, which is not written yet: they are refused.
import { deflateSync } from 'node:zlib';
import type { DType, GeoTransform } from '../../../preload/formats';
import { BYTES_PER_SAMPLE, dtypeOf } from '../image';
import type { VolumeData } from './volume';
import { writeFileAtomic } from './atomic';

export interface TiffWriteOptions {
  /** Palette for single-band uint8/uint16 label rasters: index -> [r, g, b] 0-255. */
  colormap?: Array<[number, number, number]>;
  /** Band names / class names stored as GDAL metadata. */
  description?: string;
}

const TILE = 256;
const MAX_CLASSIC_TIFF_BYTES = 0xffffffff;

// TIFF field types.
const SHORT = 3;
const LONG = 4;
const ASCII = 2;
const DOUBLE = 12;

interface Entry {
  tag: number;
  type: number;
  values: number[] | string;
}

const SAMPLE_FORMAT: Record<DType, number> = {
  uint8: 1,
  uint16: 1,
  uint32: 1,
  int8: 2,
  int16: 2,
  int32: 2,
  float32: 3,
  float64: 3,
};

/** EPSG code from "EPSG:n" or from a WKT whose outermost authority is EPSG; null otherwise. */
export function epsgCode(crs: string | null | undefined): number | null {
  if (!crs) return null;
  const m = /^EPSG:(\d+)$/i.exec(crs.trim());
  if (m) return Number(m[1]);
  // The outermost AUTHORITY/ID closes the WKT: it is the last one before the final bracket.
  const tail = /(?:AUTHORITY\["EPSG",\s*"?(\d+)"?\]|ID\["EPSG",\s*(\d+)\])\s*\]\s*$/i.exec(crs.trim());
  if (tail) return Number(tail[1] ?? tail[2]);
  return null;
}

/** Geographic (lat/lon) EPSG codes: the 4000-4999 block holds the geographic 2D CRSs GeoTIFF uses. */
export function isGeographicEpsg(code: number): boolean {
  return code >= 4000 && code < 5000 && code !== 4978;
}

function geoEntries(gt: GeoTransform, crs: string | null): Entry[] {
  const entries: Entry[] = [];
  const northUp = gt[2] === 0 && gt[4] === 0 && gt[5] < 0;
  if (northUp) {
    entries.push({ tag: 33550, type: DOUBLE, values: [gt[1], -gt[5], 0] });
    entries.push({ tag: 33922, type: DOUBLE, values: [0, 0, 0, gt[0], gt[3], 0] });
  } else {
    // Rotated, sheared or south-up: the full affine.
    entries.push({ tag: 34264, type: DOUBLE, values: [gt[1], gt[2], 0, gt[0], gt[4], gt[5], 0, gt[3], 0, 0, 0, 0, 0, 0, 0, 1] });
  }
  const code = epsgCode(crs);
  const keys: Array<[number, number]> = [];
  const geographic = code !== null ? isGeographicEpsg(code) : /^\s*GEOG(CS|CRS)\[/i.test(crs ?? '');
  if (code !== null || crs) keys.push([1024, geographic ? 2 : 1]); // GTModelTypeGeoKey
  keys.push([1025, 1]); // GTRasterTypeGeoKey: PixelIsArea
  if (code !== null) keys.push([geographic ? 2048 : 3072, code]);
  const dir = [1, 1, 0, keys.length];
  for (const [id, value] of keys) dir.push(id, 0, 1, value);
  entries.push({ tag: 34735, type: SHORT, values: dir });
  return entries;
}

/** Encodes a 2D raster (depth 1) as TIFF bytes. */
export function encodeTiff(raster: VolumeData, options: TiffWriteOptions = {}): Buffer {
  const { width, height, channels, data } = raster;
  if (raster.depth !== 1) throw new RangeError(`writeTiff: a TIFF holds one 2D raster, got depth ${raster.depth}`);
  if (data.length !== width * height * channels) throw new RangeError(`writeTiff: ${data.length} samples for ${width}x${height}x${channels}`);
  const dtype = dtypeOf(data);
  const bytesPer = BYTES_PER_SAMPLE[dtype];
  const palette = options.colormap && channels === 1 && (dtype === 'uint8' || dtype === 'uint16') ? options.colormap : undefined;

  // Tiles: pixel-interleaved, edge tiles padded to full size as TIFF requires.
  const tilesAcross = Math.ceil(width / TILE);
  const tilesDown = Math.ceil(height / TILE);
  const plane = width * height;
  const tileSamples = TILE * TILE * channels;
  const tileBuf = Buffer.alloc(tileSamples * bytesPer);
  const ctor = data.constructor as new (b: ArrayBuffer, o: number, n: number) => typeof data;
  const tileView = new ctor(tileBuf.buffer as ArrayBuffer, tileBuf.byteOffset, tileSamples);
  const chunks: Buffer[] = [];
  for (let ty = 0; ty < tilesDown; ty++) {
    for (let tx = 0; tx < tilesAcross; tx++) {
      tileView.fill(0);
      const x0 = tx * TILE;
      const y0 = ty * TILE;
      const w = Math.min(TILE, width - x0);
      const h = Math.min(TILE, height - y0);
      for (let y = 0; y < h; y++) {
        const srcRow = (y0 + y) * width + x0;
        const dstRow = y * TILE * channels;
        if (channels === 1) {
          tileView.set(data.subarray(srcRow, srcRow + w), dstRow);
        } else {
          for (let c = 0; c < channels; c++) {
            const src = c * plane + srcRow;
            for (let x = 0; x < w; x++) tileView[dstRow + x * channels + c] = data[src + x]!;
          }
        }
      }
      chunks.push(deflateSync(tileBuf, { level: 6 }));
    }
  }

  const photometric = palette ? 3 : (channels === 3 || channels === 4) && (dtype === 'uint8' || dtype === 'uint16') ? 2 : 1;
  const extraSamples = photometric === 2 ? channels - 3 : channels - 1;
  const entries: Entry[] = [
    { tag: 256, type: LONG, values: [width] },
    { tag: 257, type: LONG, values: [height] },
    { tag: 258, type: SHORT, values: Array(channels).fill(bytesPer * 8) },
    { tag: 259, type: SHORT, values: [8] }, // Adobe DEFLATE
    { tag: 262, type: SHORT, values: [photometric] },
    { tag: 277, type: SHORT, values: [channels] },
    { tag: 284, type: SHORT, values: [1] },
    { tag: 305, type: ASCII, values: 'Delineate' },
    { tag: 322, type: SHORT, values: [TILE] },
    { tag: 323, type: SHORT, values: [TILE] },
    { tag: 324, type: LONG, values: [] }, // TileOffsets, filled below
    { tag: 325, type: LONG, values: chunks.map((c) => c.length) },
    { tag: 339, type: SHORT, values: Array(channels).fill(SAMPLE_FORMAT[dtype]) },
  ];
  if (extraSamples > 0) {
    // RGBA: the fourth sample is unassociated alpha (2); other extra bands are unspecified data (0).
    entries.push({ tag: 338, type: SHORT, values: Array.from({ length: extraSamples }, (_, i) => (photometric === 2 && i === 0 ? 2 : 0)) });
  }
  if (palette) {
    const n = 1 << (bytesPer * 8);
    const map = new Array<number>(3 * n).fill(0);
    palette.slice(0, n).forEach(([r, g, b], i) => {
      // TIFF colour maps are 16-bit; 257 * v maps 255 to 65535 exactly.
      map[i] = r * 257;
      map[n + i] = g * 257;
      map[2 * n + i] = b * 257;
    });
    entries.push({ tag: 320, type: SHORT, values: map });
  }
  const g = raster.geometry;
  if (g.type === 'geo') entries.push(...geoEntries(g.geotransform, g.crs));
  if (options.description) {
    const xml = `<GDALMetadata>\n  <Item name="DESCRIPTION">${escapeXml(options.description)}</Item>\n</GDALMetadata>`;
    entries.push({ tag: 42112, type: ASCII, values: xml });
  }
  if (raster.nodata !== undefined) entries.push({ tag: 42113, type: ASCII, values: raster.nodata === 'nan' ? 'nan' : String(raster.nodata) });
  entries.sort((a, b) => a.tag - b.tag);

  // Layout: 8-byte header, tile data, IFD, then the IFD's out-of-line values.
  let offset = 8;
  const tileOffsets: number[] = [];
  for (const c of chunks) {
    tileOffsets.push(offset);
    offset += c.length;
  }
  entries.find((e) => e.tag === 324)!.values = tileOffsets;
  if (offset % 2) offset++;
  const ifdOffset = offset;
  const ifdSize = 2 + entries.length * 12 + 4;
  let valuesOffset = ifdOffset + ifdSize;
  const encoded = entries.map((e) => {
    const bytes = encodeValues(e);
    const count = typeof e.values === 'string' ? bytes.length : e.values.length;
    let at = -1;
    if (bytes.length > 4) {
      at = valuesOffset;
      valuesOffset += bytes.length + (bytes.length % 2);
    }
    return { e, bytes, count, at };
  });
  const total = valuesOffset;
  if (total > MAX_CLASSIC_TIFF_BYTES) throw new RangeError('writeTiff: the raster needs more than 4 GiB; BigTIFF output is not supported yet');
  const out = Buffer.alloc(total);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(ifdOffset, 4);
  chunks.forEach((c, i) => c.copy(out, tileOffsets[i]!));
  out.writeUInt16LE(entries.length, ifdOffset);
  encoded.forEach(({ e, bytes, count, at }, i) => {
    const p = ifdOffset + 2 + i * 12;
    out.writeUInt16LE(e.tag, p);
    out.writeUInt16LE(e.type, p + 2);
    out.writeUInt32LE(count, p + 4);
    if (at < 0) bytes.copy(out, p + 8);
    else {
      out.writeUInt32LE(at, p + 8);
      bytes.copy(out, at);
    }
  });
  out.writeUInt32LE(0, ifdOffset + 2 + entries.length * 12); // no next IFD
  return out;
}

function encodeValues(e: Entry): Buffer {
  if (typeof e.values === 'string') return Buffer.from(e.values + '\0', 'latin1');
  const size = e.type === DOUBLE ? 8 : e.type === LONG ? 4 : 2;
  const buf = Buffer.alloc(e.values.length * size);
  e.values.forEach((v, i) => {
    if (e.type === DOUBLE) buf.writeDoubleLE(v, i * 8);
    else if (e.type === LONG) buf.writeUInt32LE(v, i * 4);
    else buf.writeUInt16LE(v, i * 2);
  });
  return buf;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Writes a 2D raster (depth 1) atomically. */
export async function writeTiff(path: string, raster: VolumeData, options: TiffWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodeTiff(raster, options));
}
