// TIFF and GeoTIFF reading with geotiff.js: every sample type, windowed reads via readRasters({ window }),
// geotransform from ModelTiepoint+ModelPixelScale or ModelTransformation, CRS from GeoKeys, GDAL nodata.
import { fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import type { DType, GeoTransform, Geometry } from '../../../preload/formats';
import { InputError, allocPixels, type ImageSource, type PixelBlock, type Region } from '../image';
import { pixelGeometry } from './raster-sharp';
import { firstLine, resolveRegion } from './region';

const USER_DEFINED = 32767;

function dtypeFor(format: number, bits: number): DType | null {
  if (format === 3) return bits === 64 ? 'float64' : bits === 32 || bits === 16 ? 'float32' : null;
  const signed = format === 2;
  if (bits === 8) return signed ? 'int8' : 'uint8';
  if (bits === 16) return signed ? 'int16' : 'uint16';
  if (bits === 32) return signed ? 'int32' : 'uint32';
  return null;
}

function numbers(v: unknown): number[] | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<number>, Number);
  return null;
}

/** GDAL geotransform from the GeoTIFF tags, or null when the file is not georeferenced. */
export function readGeotransform(image: GeoTIFFImage): GeoTransform | null {
  const fd = image.getFileDirectory();
  const transformation = numbers(fd.getValue('ModelTransformation'));
  const tiepoint = numbers(fd.getValue('ModelTiepoint'));
  const scale = numbers(fd.getValue('ModelPixelScale'));
  let gt: GeoTransform | null = null;
  if (transformation && transformation.length >= 16) {
    const m = transformation;
    gt = [m[3]!, m[0]!, m[1]!, m[7]!, m[4]!, m[5]!];
  } else if (tiepoint && tiepoint.length >= 6 && scale && scale.length >= 2) {
    const [i, j, , x, y] = tiepoint as [number, number, number, number, number];
    const sx = scale[0]!;
    const sy = scale[1]!;
    gt = [x - i * sx, sx, 0, y + j * sy, 0, -sy];
  }
  if (!gt) return null;
  let keys: Record<string, unknown> | null = null;
  try {
    keys = image.getGeoKeys() as Record<string, unknown> | null;
  } catch {
    keys = null;
  }
  if (keys?.GTRasterTypeGeoKey === 2) {
    // PixelIsPoint: tags give the centre of pixel (0,0); GDAL's geotransform (and ours) is its corner.
    gt = [gt[0] - 0.5 * gt[1] - 0.5 * gt[2], gt[1], gt[2], gt[3] - 0.5 * gt[4] - 0.5 * gt[5], gt[4], gt[5]];
  }
  return gt;
}

/** "EPSG:n" from the GeoKeys, else a WKT found in a citation key, else null. */
export function readCrs(image: GeoTIFFImage): string | null {
  let keys: Record<string, unknown> | null;
  try {
    keys = image.getGeoKeys() as Record<string, unknown> | null;
  } catch {
    return null;
  }
  if (!keys) return null;
  for (const k of ['ProjectedCSTypeGeoKey', 'GeographicTypeGeoKey']) {
    const code = keys[k];
    if (typeof code === 'number' && code > 0 && code !== USER_DEFINED) return `EPSG:${code}`;
  }
  for (const k of ['PCSCitationGeoKey', 'GTCitationGeoKey', 'GeogCitationGeoKey']) {
    const text = keys[k];
    if (typeof text !== 'string') continue;
    // ESRI/GDAL store a user-defined CRS as "ESRI PE String = PROJCS[...]" in a citation.
    const at = text.search(/(PROJCS|GEOGCS|PROJCRS|GEOGCRS|COMPD_CS)\[/);
    if (at >= 0) return text.slice(at).replace(/\|+$/, '').trim();
  }
  return null;
}

/** GDAL_NODATA (an ASCII tag) as a number, or "nan". */
export function readNodata(image: GeoTIFFImage): number | 'nan' | undefined {
  const fd = image.getFileDirectory();
  if (!fd.hasTag('GDAL_NODATA')) return undefined;
  const raw = String(fd.getValue('GDAL_NODATA') ?? '').replace(/\0/g, '').trim();
  if (raw === '') return undefined;
  if (/^[+-]?nan$/i.test(raw)) return 'nan';
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

export interface TiffOpenOptions {
  spacingMm?: number[];
}

export async function openGeoTiff(file: string, options: TiffOpenOptions = {}): Promise<ImageSource> {
  let tiff: GeoTIFF;
  let image: GeoTIFFImage;
  try {
    tiff = await fromFile(file);
    image = await tiff.getImage(0);
  } catch (err) {
    throw new InputError(file, `corrupt or unreadable TIFF (${firstLine(err)})`);
  }
  const width = image.getWidth();
  const height = image.getHeight();
  const fd = image.getFileDirectory();
  if (!width || !height) throw new InputError(file, 'TIFF has no pixels');
  const photometric = Number(fd.getValue('PhotometricInterpretation') ?? 1);
  const compression = Number(fd.getValue('Compression') ?? 1);
  // JPEG-in-TIFF with YCbCr: readRasters returns raw YCbCr, so those files are read as RGB through readRGB.
  const ycbcr = photometric === 6;
  const storedSamples = image.getSamplesPerPixel();
  const bits = image.getBitsPerSample(0);
  const sampleFormat = image.getSampleFormat(0) || 1;
  for (let s = 1; s < storedSamples; s++) {
    if (image.getBitsPerSample(s) !== bits || (image.getSampleFormat(s) || 1) !== sampleFormat) {
      throw new InputError(file, 'TIFF bands with different sample types are not supported');
    }
  }
  const dtype = ycbcr ? 'uint8' : dtypeFor(sampleFormat, bits);
  if (!dtype) throw new InputError(file, `TIFF samples of ${bits} bits (format ${sampleFormat}) are not supported`);
  const channels = ycbcr ? 3 : storedSamples;
  const geotransform = readGeotransform(image);
  const crs = geotransform ? readCrs(image) : null;
  const nodata = readNodata(image);
  const geometry: Geometry = geotransform ? { type: 'geo', geotransform, crs } : pixelGeometry(options.spacingMm);

  async function read(region: Region = {}): Promise<PixelBlock> {
    const r = resolveRegion(region, width, height, 1, channels, file);
    const window = [r.x, r.y, r.x + r.width, r.y + r.height];
    const plane = r.width * r.height;
    const out = allocPixels(dtype!, plane * r.channels.length);
    try {
      if (ycbcr) {
        const rgb = await image.readRGB({ window, interleave: true, enableAlpha: false });
        r.channels.forEach((c, ci) => {
          for (let i = 0; i < plane; i++) out[ci * plane + i] = rgb[i * 3 + c]!;
        });
      } else {
        const bands = await image.readRasters({ window, samples: r.channels, interleave: false });
        r.channels.forEach((_, ci) => out.set(bands[ci]!, ci * plane));
      }
    } catch (err) {
      throw new InputError(file, `corrupt or undecodable TIFF data (${firstLine(err)})`);
    }
    return { data: out, width: r.width, height: r.height, depth: 1, channels: r.channels.length, dtype: dtype! };
  }

  let overviews = 0;
  try {
    overviews = Math.max(0, (await tiff.getImageCount()) - 1);
  } catch {
    overviews = 0;
  }
  return {
    file,
    format: geotransform ? 'geotiff' : 'tiff',
    kind: geotransform ? 'geo' : 'image',
    width,
    height,
    depth: 1,
    channels,
    dtype,
    geometry,
    ...(nodata !== undefined ? { nodata } : {}),
    meta: {
      compression,
      photometric,
      tiled: image.isTiled,
      blockWidth: image.getTileWidth(),
      blockHeight: image.getTileHeight(),
      // Further IFDs: overviews or masks; read() uses the full-resolution image only.
      subImages: overviews,
    },
    read,
    close: async () => {
      await tiff.close();
    },
  };
}
