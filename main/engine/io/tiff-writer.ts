// TIFF/GeoTIFF writer: tiled, DEFLATE, GeoKeys for EPSG CRSs, GDAL nodata tag, optional colour table.
import type { VolumeData } from './volume';

export interface TiffWriteOptions {
  /** Palette for single-band uint8/uint16 label rasters: index -> [r, g, b] 0-255. */
  colormap?: Array<[number, number, number]>;
  /** Band names / class names stored as GDAL metadata. */
  description?: string;
}

/** Writes a 2D raster (depth 1) atomically. */
export async function writeTiff(_path: string, _raster: VolumeData, _options: TiffWriteOptions = {}): Promise<void> {
  throw new Error('writeTiff: not implemented yet');
}
