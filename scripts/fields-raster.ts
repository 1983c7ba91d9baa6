// A generated 3-band uint8 GeoTIFF for benchmarks: square fields of five colours, a grid of roads and a little
// noise, written in bands of tile rows so a 40000² raster is never whole in memory. Benchmarks differ only in the
// ground resolution, the field size and the road grid.
import { TiffWriter } from '../main/engine/io/tiff-writer';

export interface FieldsRasterOptions {
  /** Ground resolution in metres per pixel (UTM 33N geotransform). */
  gsdM: number;
  /** Fields are 2^fieldShift pixels square. */
  fieldShift: number;
  /** Roads: every periodPx[0] columns and periodPx[1] rows, widthPx wide, adding roadValue to every band. */
  road: { periodPx: [number, number]; widthPx: [number, number]; value: number };
}

export async function writeFieldsRaster(file: string, n: number, o: FieldsRasterOptions): Promise<void> {
  const writer = await TiffWriter.open(file, { width: n, height: n, channels: 3, dtype: 'uint8', geometry: { type: 'geo', geotransform: [500000, o.gsdM, 0, 5000000, 0, -o.gsdM], crs: 'EPSG:32633' } });
  const { periodPx, widthPx, value } = o.road;
  try {
    const rows = writer.tileSize;
    let seed = 99;
    for (let y0 = 0; y0 < n; y0 += rows) {
      const h = Math.min(rows, n - y0);
      const band = new Uint8Array(3 * n * h);
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
      await writer.writeWindow(0, y0, n, h, band);
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
