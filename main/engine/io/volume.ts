// In-memory raster/volume handed to writers: channel-planar pixels plus geometry.
import type { Geometry } from '../../../preload/formats';
import type { PixelArray } from '../image';

export interface VolumeData {
  data: PixelArray;
  width: number;
  height: number;
  depth: number;
  channels: number;
  geometry: Geometry;
  nodata?: number | 'nan';
}
