// Coordinate reference systems, offline: "EPSG:n" resolved from the bundled table (epsg-table.ts), anything else
// parsed as WKT (or a proj4 string) by proj4js. Pixel <-> map <-> lon/lat conversions for a geotransform + CRS.
// Datum shifts that need grids (NAD27 -> WGS84) are not applied: positions may be off by ~100 m, areas are unaffected.
import proj4 from 'proj4';
import type { GeoTransform } from '../../../preload/formats';
import { EPSG_TABLE } from './epsg-table';

export type XY = [number, number];

/** A CRS the engine can transform: its proj4 definition and whether coordinates are degrees. */
export interface ResolvedCrs {
  /** As given: "EPSG:n" or WKT. */
  crs: string;
  /** Human name when known (table name or the WKT's first quoted name). */
  name: string;
  proj4: string;
  geographic: boolean;
}

/** Error for a CRS the engine cannot resolve offline (unknown EPSG code, unparseable WKT). */
export class CrsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrsError';
  }
}

const TABLE = new Map<number, { name: string; proj4: string; geographic: boolean }>(
  EPSG_TABLE.map(([code, name, def, geographic]) => [code, { name, proj4: def, geographic: geographic === 1 }]),
);

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

/** Whether an EPSG code is in the offline table. */
export function isKnownEpsg(code: number): boolean {
  return TABLE.has(code);
}

/** Geographic (lat/lon) EPSG codes: the table knows; else the 4000-4999 block holds the geographic 2D CRSs GeoTIFF uses. */
export function isGeographicEpsg(code: number): boolean {
  const known = TABLE.get(code);
  if (known) return known.geographic;
  return code >= 4000 && code < 5000 && code !== 4978;
}

const cache = new Map<string, ResolvedCrs>();

/** Resolves "EPSG:n", WKT (1 or 2, OGC or ESRI) or a "+proj=" string; throws CrsError when it cannot, offline. */
export function resolveCrs(crs: string): ResolvedCrs {
  const hit = cache.get(crs);
  if (hit) return hit;
  let resolved: ResolvedCrs;
  const code = /^EPSG:(\d+)$/i.exec(crs.trim());
  if (code) {
    const entry = TABLE.get(Number(code[1]));
    if (!entry) throw new CrsError(`${crs} is not in the offline EPSG table; give the CRS as WKT`);
    resolved = { crs, name: entry.name, proj4: entry.proj4, geographic: entry.geographic };
  } else {
    // A WKT with an EPSG authority we know is resolved by code: proj4js's WKT reading loses some datum details.
    const outer = epsgCode(crs);
    const entry = outer !== null ? TABLE.get(outer) : undefined;
    if (entry) {
      resolved = { crs, name: entry.name, proj4: entry.proj4, geographic: entry.geographic };
    } else {
      let def: string;
      try {
        // proj4js parses WKT itself; the converter it builds tells whether the CRS is usable.
        const conv = proj4(crs, WGS84);
        conv.forward([0, 0]);
        def = crs;
      } catch (err) {
        throw new CrsError(`cannot interpret CRS (${err instanceof Error ? err.message : String(err)}): ${crs.slice(0, 80)}`);
      }
      const geographic = /^\s*(GEOGCS|GEOGCRS|GEODCRS|GEOGRAPHICCRS)\[/i.test(crs) || /\+proj=(longlat|latlong|lonlat|latlon)\b/.test(crs);
      const name = /^\s*\w+\["([^"]*)"/.exec(crs)?.[1] ?? 'unnamed';
      resolved = { crs, name, proj4: def, geographic };
    }
  }
  cache.set(crs, resolved);
  return resolved;
}

const WGS84 = '+proj=longlat +datum=WGS84 +no_defs';

/** Converts map coordinates of a CRS to and from WGS84 lon/lat (degrees). */
export interface LonLatTransform {
  toLonLat(x: number, y: number): XY;
  fromLonLat(lon: number, lat: number): XY;
}

const transforms = new Map<string, LonLatTransform>();

/** Map <-> WGS84 lon/lat for a CRS; cached per CRS string. Throws CrsError when the CRS is unknown. */
export function lonLatTransform(crs: string): LonLatTransform {
  const hit = transforms.get(crs);
  if (hit) return hit;
  const r = resolveCrs(crs);
  const conv = proj4(r.proj4, WGS84);
  const t: LonLatTransform = {
    toLonLat: (x, y) => conv.forward([x, y]) as XY,
    fromLonLat: (lon, lat) => conv.inverse([lon, lat]) as XY,
  };
  transforms.set(crs, t);
  return t;
}

/** map -> lon/lat function for a CRS (what measurements call for centroids). */
export function mapToLonLat(crs: string): (x: number, y: number) => XY {
  return lonLatTransform(crs).toLonLat;
}

export function lonLatToMap(crs: string): (lon: number, lat: number) => XY {
  return lonLatTransform(crs).fromLonLat;
}

/** Pixel (col, row; 0,0 = top-left corner of the first pixel) -> map coordinates, GDAL convention. */
export function pixelToMap(gt: GeoTransform, col: number, row: number): XY {
  return [gt[0] + col * gt[1] + row * gt[2], gt[3] + col * gt[4] + row * gt[5]];
}

/** Map coordinates -> fractional pixel (col, row); throws on a degenerate geotransform. */
export function mapToPixel(gt: GeoTransform, x: number, y: number): XY {
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  if (det === 0) throw new RangeError('geotransform is not invertible');
  const dx = x - gt[0];
  const dy = y - gt[3];
  return [(dx * gt[5] - dy * gt[2]) / det, (dy * gt[1] - dx * gt[4]) / det];
}

/** Pixel -> WGS84 lon/lat for a georeferenced raster. */
export function pixelToLonLat(gt: GeoTransform, crs: string): (col: number, row: number) => XY {
  const t = lonLatTransform(crs);
  return (col, row) => {
    const [x, y] = pixelToMap(gt, col, row);
    return t.toLonLat(x, y);
  };
}

/**
 * Lon/lat bounds [west, south, east, north] of a raster, from points along its edges (not just the corners: a projected
 * rectangle's extremes can lie mid-edge). Points outside the projection's domain are skipped; null if none is valid.
 */
export function lonLatBounds(gt: GeoTransform, crs: string, width: number, height: number, stepsPerEdge = 32): [number, number, number, number] | null {
  const toLonLat = pixelToLonLat(gt, crs);
  let west = Infinity;
  let south = Infinity;
  let east = -Infinity;
  let north = -Infinity;
  const visit = (c: number, r: number): void => {
    let p: XY;
    try {
      p = toLonLat(c, r);
    } catch {
      return;
    }
    const [lon, lat] = p;
    if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lat) > 90) return;
    west = Math.min(west, lon);
    east = Math.max(east, lon);
    south = Math.min(south, lat);
    north = Math.max(north, lat);
  };
  for (let i = 0; i <= stepsPerEdge; i++) {
    const f = i / stepsPerEdge;
    visit(f * width, 0);
    visit(f * width, height);
    visit(0, f * height);
    visit(width, f * height);
  }
  return Number.isFinite(west) ? [west, south, east, north] : null;
}
