// Ellipsoidal areas against pyproj's Geod(ellps='WGS84') (Debian python3-pyproj): pixel sets and polygons in
// EPSG:4326 near 60°N and in UTM, within 0.1%; plus CRS resolution and pixel <-> map <-> lon/lat round trips.
import { skipNote } from './helpers';
import { describe, expect, it } from 'vitest';
import type { GeoTransform } from '../../preload/formats';
import { epsgCode, lonLatBounds, lonLatTransform, mapToPixel, pixelToMap, resolveCrs, type XY } from '../../main/engine/geo/crs';
import { crsFromGeoKeys } from '../../main/engine/geo/geokeys';
import { areaOfPixelsM2, centroidLonLat, gsdM, maskAreaM2, pixelAreaModel, polygonAreaM2 } from '../../main/engine/measure/geodesy';
import { hasPyproj, python } from './geo-oracle';

/** pyproj: the ring (map coordinates, densified along straight map edges) -> lon/lat -> geodesic area, m². */
function pyprojArea(ring: XY[], epsg: number): number {
  return python<number>(
    `import sys, json
from pyproj import Geod, Transformer
ring = json.loads(sys.argv[1]); t = Transformer.from_crs(int(sys.argv[2]), 4326, always_xy=True)
dense = []
for i, a in enumerate(ring):
    b = ring[(i + 1) % len(ring)]
    for k in range(64):
        dense.append(t.transform(a[0] + (b[0] - a[0]) * k / 64, a[1] + (b[1] - a[1]) * k / 64))
lons, lats = zip(*dense)
area, _ = Geod(ellps='WGS84').polygon_area_perimeter(lons, lats)
print(json.dumps(abs(area)))`,
    JSON.stringify(ring),
    String(epsg),
  );
}

/** A block of pixels [c0, c1) x [r0, r1): its outline in map coordinates and its pixel coordinates. */
function block(gt: GeoTransform, c0: number, c1: number, r0: number, r1: number): { ring: XY[]; cols: number[]; rows: number[] } {
  const ring: XY[] = [pixelToMap(gt, c0, r0), pixelToMap(gt, c1, r0), pixelToMap(gt, c1, r1), pixelToMap(gt, c0, r1)];
  const cols: number[] = [];
  const rows: number[] = [];
  for (let r = r0; r < r1; r++) {
    for (let c = c0; c < c1; c++) {
      cols.push(c);
      rows.push(r);
    }
  }
  return { ring, cols, rows };
}

const CASES: Array<[string, number, GeoTransform, [number, number, number, number], [number, number]]> = [
  // name, EPSG, geotransform, pixel block, raster size
  ['EPSG:4326 near 60N, 0.01 degree pixels', 4326, [10, 0.01, 0, 61, 0, -0.01], [20, 220, 50, 250], [400, 300]],
  ['EPSG:4326 one big 1x1 degree pixel at 60N', 4326, [10, 1, 0, 61, 0, -1], [0, 1, 0, 1], [1, 1]],
  ['UTM 33N (EPSG:32633) at 60N, 10 m pixels, off the central meridian', 32633, [650000, 10, 0, 6660000, 0, -10], [100, 900, 200, 700], [1000, 1000]],
  ['UTM 18N (EPSG:32618), 300 m pixels over 200 km', 32618, [100000, 300, 0, 2900000, 0, -300], [0, 700, 0, 600], [700, 600]],
  ['Web Mercator (EPSG:3857) at 60N, 50 m pixels', 3857, [1113194, 50, 0, 8399737, 0, -50], [0, 400, 0, 400], [400, 400]],
  ['ETRS89 LAEA (EPSG:3035)', 3035, [4321000, 100, 0, 3210000, 0, -100], [0, 500, 0, 300], [500, 300]],
];

describe.skipIf(!hasPyproj)(`ellipsoidal areas agree with pyproj Geod within 0.1%${skipNote(!hasPyproj, 'python3-pyproj missing')}`, () => {
  for (const [name, epsg, gt, [c0, c1, r0, r1], [w, h]] of CASES) {
    it(name, () => {
      const crs = `EPSG:${epsg}`;
      const { ring, cols, rows } = block(gt, c0, c1, r0, r1);
      const expected = pyprojArea(ring, epsg);
      const model = pixelAreaModel(gt, crs, w, h);
      const pixels = areaOfPixelsM2(model, cols, rows);
      expect(Math.abs(pixels / expected - 1)).toBeLessThan(0.001);
      const poly = polygonAreaM2(ring, crs);
      expect(Math.abs(poly.areaM2 / expected - 1)).toBeLessThan(0.001);
      expect(poly.areaHa).toBeCloseTo(poly.areaM2 / 10000, 6);
      // A mask over the same block gives the same area as the pixel list.
      const mask = new Uint8Array(w * h);
      for (let i = 0; i < cols.length; i++) mask[rows[i]! * w + cols[i]!] = 1;
      expect(maskAreaM2(model, mask, w, h)).toBeCloseTo(pixels, 3);
    });
  }

  it('centroid and bounds match pyproj', () => {
    const gt: GeoTransform = [650000, 10, 0, 6660000, 0, -10];
    const [lon, lat] = centroidLonLat(gt, 'EPSG:32633', [499.5, 499.5]);
    const ref = python<[number, number]>(
      `import json
from pyproj import Transformer
print(json.dumps(Transformer.from_crs(32633, 4326, always_xy=True).transform(655000, 6655000)))`,
    );
    expect(lon).toBeCloseTo(ref[0], 7);
    expect(lat).toBeCloseTo(ref[1], 7);
    const b = lonLatBounds(gt, 'EPSG:32633', 1000, 1000)!;
    expect(b[0]).toBeLessThan(lon);
    expect(b[2]).toBeGreaterThan(lon);
  });
});

describe('CRS resolution and conversions (offline)', () => {
  it('resolves table codes, WKT and user-defined GeoKeys', () => {
    expect(resolveCrs('EPSG:32633').geographic).toBe(false);
    expect(resolveCrs('EPSG:4326').geographic).toBe(true);
    expect(resolveCrs('EPSG:26711').name).toBe('NAD27 / UTM zone 11N');
    expect(() => resolveCrs('EPSG:999999')).toThrow(/offline EPSG table/);
    const wkt = crsFromGeoKeys({ GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32767, ProjectionGeoKey: 16018, GeogEllipsoidGeoKey: 7030, GeographicTypeGeoKey: 32767 });
    expect(wkt).toMatch(/^PROJCS\[.*Transverse_Mercator.*"central_meridian",-75/);
    const [x, y] = lonLatTransform(wkt!).fromLonLat(-75, 40);
    expect(x).toBeCloseTo(500000, 3);
    expect(y).toBeGreaterThan(4e6);
    expect(epsgCode('EPSG:3857')).toBe(3857);
  });

  it('pixel <-> map round trips through a rotated geotransform', () => {
    const gt: GeoTransform = [100, 17.320508075688775, 5, 200, 10, -8.660254037844387];
    const [x, y] = pixelToMap(gt, 12.5, 7.25);
    const [c, r] = mapToPixel(gt, x, y);
    expect(c).toBeCloseTo(12.5, 9);
    expect(r).toBeCloseTo(7.25, 9);
  });

  it('gsdM is metres for projected and geographic CRSs', () => {
    expect(gsdM([500000, 0.5, 0, 4000000, 0, -0.5], 'EPSG:32616', 900, 900)).toBeCloseTo(0.5, 2);
    // 0.001 degree at the equator: ~111 m north-south, ~111 m east-west.
    expect(gsdM([0, 0.001, 0, 0.05, 0, -0.001], 'EPSG:4326', 100, 100)).toBeGreaterThan(110);
  });
});
