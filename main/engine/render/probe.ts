// The cursor read-out: stored values of one pixel (every channel; HU for CT) and where it is in the world
// (patient LPS mm, map coordinates, WGS84 lon/lat when the CRS can be transformed offline).
import type { PixelProbe } from '../../../preload/api';
import type { ImageSource } from '../image';
import { pixelToWorld } from '../postprocess/contours';
import { mapToLonLat } from '../geo/crs';

const round = (v: number, digits = 6): number => Number(v.toFixed(digits));

export async function probePixel(src: ImageSource, x: number, y: number, z: number): Promise<PixelProbe> {
  if (x < 0 || y < 0 || z < 0 || x >= src.width || y >= src.height || z >= src.depth) {
    throw new RangeError(`pixel (${x}, ${y}, ${z}) is outside the image`);
  }
  const block = await src.read({ x, y, z, width: 1, height: 1, depth: 1 });
  const nodata = src.nodata === 'nan' ? NaN : src.nodata;
  const values: Array<number | null> = [];
  for (let c = 0; c < block.channels; c++) {
    const v = block.data[c]!;
    values.push(Number.isNaN(v) || (nodata !== undefined && (v === nodata || (src.dtype === 'float32' && v === Math.fround(nodata)))) ? null : v);
  }
  const probe: PixelProbe = { x, y, z, values };
  const g = src.geometry;
  if (g.type === 'medical') {
    const w = pixelToWorld(g, z)(x, y);
    probe.worldMm = [round(w[0]!, 3), round(w[1]!, 3), round(w[2]!, 3)];
    if (src.meta.modality === 'CT') probe.valueUnit = 'HU';
  } else if (g.type === 'geo') {
    const w = pixelToWorld(g, z)(x, y);
    probe.mapXY = [round(w[0]!), round(w[1]!)];
    let ll: [number, number] | null = null;
    try {
      // Transforms are cached per CRS in geo/crs.ts, so a read-out per mouse move stays cheap.
      if (g.crs) ll = mapToLonLat(g.crs)(w[0]!, w[1]!) as [number, number];
    } catch {
      ll = null; // a CRS that cannot be transformed offline: map coordinates only
    }
    probe.lonLat = ll && Number.isFinite(ll[0]) && Number.isFinite(ll[1]) ? [round(ll[0], 7), round(ll[1], 7)] : null;
  } else if (g.spacingMm) {
    const s = g.spacingMm;
    probe.worldMm = src.depth > 1 ? [round(x * s[0]), round(y * s[1]), round(z * s[2])] : [round(x * s[0]), round(y * s[1])];
  }
  return probe;
}
