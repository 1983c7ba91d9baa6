// A generated 3-band uint8 GeoTIFF for benchmarks: square fields of five colours, a grid of roads and a little
// noise, written in bands of tile rows so a 40000² raster is never whole in memory. Benchmarks differ only in the
// ground resolution, the field size and the road grid. writeRgbStrips is the strip-by-strip writer under every
// benchmark's generated RGB raster (photo mosaics and bright squares too).
import type { GeoGeometry } from '../preload/formats';
import { TiffWriter } from '../main/engine/io/tiff-writer';

export interface FieldsRasterOptions {
  /** Ground resolution in metres per pixel (UTM 33N geotransform). */
  gsdM: number;
  /** Fields are 2^fieldShift pixels square. */
  fieldShift: number;
  /** Roads: every periodPx[0] columns and periodPx[1] rows, widthPx wide, adding roadValue to every band. */
  road: { periodPx: [number, number]; widthPx: [number, number]; value: number };
}

/** Georeferencing of the benchmarks' rasters: UTM 33N, origin (500000, 5000000), gsdM metres per pixel. */
export function utmGeometry(gsdM: number): GeoGeometry {
  return { type: 'geo', geotransform: [500000, gsdM, 0, 5000000, 0, -gsdM], crs: 'EPSG:32633' };
}

/**
 * Writes an n x n 3-band uint8 GeoTIFF at gsdM strip by strip, so a 40000² raster is never whole in memory: `fill`
 * draws rows y0..y0+h-1 into a channel-planar strip (band[c * n * h + y * n + x]), called in row order. Strips are
 * `rows` high, by default the writer's tile size. A failed strip leaves no file behind.
 */
export async function writeRgbStrips(file: string, n: number, gsdM: number, fill: (band: Uint8Array, y0: number, h: number) => void, rows?: number): Promise<void> {
  const writer = await TiffWriter.open(file, { width: n, height: n, channels: 3, dtype: 'uint8', geometry: utmGeometry(gsdM) });
  try {
    const strip = rows ?? writer.tileSize;
    for (let y0 = 0; y0 < n; y0 += strip) {
      const h = Math.min(strip, n - y0);
      const band = new Uint8Array(3 * n * h);
      fill(band, y0, h);
      await writer.writeWindow(0, y0, n, h, band);
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** Band c of the fields-and-roads texture at (x, y) when no photos are at hand: 128 px fields, roads every 700 / 900 px. */
export function fieldsFallback(x: number, y: number, c: number): number {
  return Math.min(255, 30 + ((((x >> 7) * 31 + (y >> 7) * 17) % 5) * 40 * (c + 1)) % 200 + (x % 700 < 12 || y % 900 < 10 ? 90 : 0));
}

export async function writeFieldsRaster(file: string, n: number, o: FieldsRasterOptions): Promise<void> {
  const { periodPx, widthPx, value } = o.road;
  let seed = 99;
  await writeRgbStrips(file, n, o.gsdM, (band, y0, h) => {
    for (let y = 0; y < h; y++) {
      const gy = y0 + y;
      for (let x = 0; x < n; x++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const field = (((x >> o.fieldShift) * 31 + (gy >> o.fieldShift) * 17) % 5) * 40;
        const road = x % periodPx[0] < widthPx[0] || gy % periodPx[1] < widthPx[1] ? value : 0;
        const noise = seed >>> 28;
        const i = y * n + x;
        band[i] = Math.min(255, 30 + field + road + noise);
        band[n * h + i] = Math.min(255, 60 + ((field * 3) % 160) + road + noise);
        band[2 * n * h + i] = Math.min(255, 40 + ((field * 7) % 120) + road + noise);
      }
    }
  });
}
