// Vector exports of a geo result: GeoJSON, GeoPackage and Shapefile open in GDAL's ogrinfo with the expected CRS and
// feature count; every polygon is valid per shapely (Debian's python3-shapely), holes stay holes, GeoJSON outer
// rings are counter-clockwise, simplification never produces crossings, and --crs reprojects.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildVectorLayer, dbfFieldNames, ringsAreSimple, writeGeoJson, writeGeoPackage, writeShapefile, type VRing } from '../../main/engine/export/vector';
import { crsToWkt } from '../../main/engine/export/crs-wkt';
import { commandWorks, skipNote, tempDir } from './helpers';
import { GEO_H, GEO_W, geoFixture } from '../fixtures/geo-result';

const hasOgr = commandWorks('ogrinfo', ['--version']);
const hasShapely = commandWorks('/usr/bin/python3', ['-c', 'import shapely; from osgeo import ogr']);

const W = GEO_W;
const H = GEO_H;

/** GDAL + shapely over a vector file: feature count, EPSG code, invalid polygons, areas and exterior orientation. */
function inspect(file: string): { count: number; epsg: string | null; invalid: string[]; areas: Record<string, number>; holes: Record<string, number>; ccw: boolean[]; fields: string[] } {
  const code = `
import json, sys
from osgeo import ogr, osr
from shapely import wkb
from shapely.validation import explain_validity
ds = ogr.Open(sys.argv[1]); lyr = ds.GetLayer(0)
srs = lyr.GetSpatialRef()
epsg = None
if srs is not None:
    srs.AutoIdentifyEPSG()
    epsg = srs.GetAuthorityCode(None)
out = {"count": lyr.GetFeatureCount(), "epsg": epsg, "invalid": [], "areas": {}, "holes": {}, "ccw": [], "fields": [lyr.GetLayerDefn().GetFieldDefn(i).GetName() for i in range(lyr.GetLayerDefn().GetFieldCount())]}
for f in lyr:
    g = wkb.loads(bytes(f.GetGeometryRef().ExportToWkb()))
    key = str(f.GetField("id"))
    if not g.is_valid: out["invalid"].append(key + ": " + explain_validity(g))
    out["areas"][key] = g.area
    polys = list(g.geoms) if g.geom_type == "MultiPolygon" else [g]
    out["holes"][key] = sum(len(p.interiors) for p in polys)
    out["ccw"] += [p.exterior.is_ccw for p in polys]
print(json.dumps(out))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', code, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof inspect>;
}

function ogrSummary(file: string): string {
  const r = spawnSync('ogrinfo', ['-so', '-al', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ogrinfo failed: ${r.stderr}`);
  return r.stdout;
}

describe('vector exports', () => {
  const tmp = tempDir('delineate-vector-');
  afterAll(() => tmp.cleanup());
  const fx = geoFixture();
  const src = { width: W, height: H, geometry: fx.geometry, instances: fx.instances, document: fx.document };

  it('finds crossings, touches and spikes, and passes simple rings', () => {
    const square: VRing = [[0, 0], [1, 0], [1, 1], [0, 1]];
    const bowtie: VRing = [[0, 0], [1, 1], [1, 0], [0, 1]];
    const spike: VRing = [[0, 0], [2, 0], [1, 0], [1, 1]];
    const touchingHole: VRing = [[0.5, 0], [0.75, 0.5], [0.25, 0.5]];
    expect(ringsAreSimple([square])).toBe(true);
    expect(ringsAreSimple([bowtie])).toBe(false);
    expect(ringsAreSimple([spike])).toBe(false);
    expect(ringsAreSimple([square, touchingHole])).toBe(false);
    expect(ringsAreSimple([square, [[0.25, 0.25], [0.75, 0.25], [0.5, 0.75]]])).toBe(true);
  });

  it('keeps dBase field names unique within 10 characters', () => {
    expect(dbfFieldNames(['centroidLonLatX', 'centroidLonLatY', 'id', 'centroidLonLatZ'])).toEqual(['centroidLo', 'centroid_1', 'id', 'centroid_2']);
  });

  it('builds one feature per instance with holes, orientation and attributes', () => {
    const layer = buildVectorLayer(src);
    expect(layer.features.map((f) => f.id)).toEqual([1, 2, 3, 4, 5]);
    const ring = layer.features[0]!;
    expect(ring.polygons).toHaveLength(1);
    expect(ring.polygons[0]).toHaveLength(2); // outer + hole
    expect(ring.properties.areaM2).toBe(fx.document.instances[0]!.pixelCount * 100);
    expect(layer.fields.find((f) => f.name === 'bboxMinX')?.type).toBe('integer');
    expect(layer.fields.find((f) => f.name === 'edited')?.type).toBe('boolean');
    expect(layer.features.find((f) => f.id === 5)!.simplified).toBe(true);
    // Simplification with a big tolerance still gives valid rings (or falls back to the traced ones).
    const coarse = buildVectorLayer(src, { toleranceMapUnits: 40 });
    for (const f of coarse.features) expect(ringsAreSimple(f.polygons.flat())).toBe(true);
  });

  it.skipIf(!hasOgr || !hasShapely)(`GeoJSON, GeoPackage and Shapefile open in ogrinfo with the right CRS and count; shapely finds them valid${skipNote(!hasOgr || !hasShapely, 'needs gdal-bin, python3-gdal and python3-shapely')}`, async () => {
    const files = { geojson: path.join(tmp.dir, 'out.geojson'), gpkg: path.join(tmp.dir, 'out.gpkg'), shp: path.join(tmp.dir, 'out.shp'), gpkg3857: path.join(tmp.dir, 'merc.gpkg') };
    await writeGeoJson(files.geojson, buildVectorLayer(src, { crs: 'EPSG:4326' }));
    await writeGeoPackage(files.gpkg, buildVectorLayer(src));
    await writeShapefile(files.shp, buildVectorLayer(src));
    await writeGeoPackage(files.gpkg3857, buildVectorLayer(src, { crs: 'EPSG:3857' }));
    const expected: Record<keyof typeof files, string> = { geojson: '4326', gpkg: '32633', shp: '32633', gpkg3857: '3857' };
    for (const [k, file] of Object.entries(files) as Array<[keyof typeof files, string]>) {
      const summary = ogrSummary(file);
      expect(summary, k).toMatch(/Feature Count: 5\b/);
      const info = inspect(file);
      expect(info.count, k).toBe(5);
      expect(info.epsg, k).toBe(expected[k]);
      expect(info.invalid, k).toEqual([]);
      expect(info.holes['1'], k).toBe(1);
      expect(info.holes['2'], k).toBe(0);
      if (k === 'geojson') expect(info.ccw.every(Boolean)).toBe(true);
      if (k === 'gpkg' || k === 'shp') {
        // Marching-squares areas: the 16x16 ring minus its 8x8 hole, in m² (UTM metres).
        // Outline areas in m² (UTM metres): the pixel area of the ring (16x16 minus its 8x8 hole), give or take the
        // corner cuts and the one-pixel simplification.
        expect(Math.abs(info.areas['1']! - 192 * 100)).toBeLessThan(0.06 * 192 * 100);
        expect(info.fields).toContain('className');
      }
    }
    expect(ogrSummary(files.gpkg)).toMatch(/UTM zone 33N/);
    expect(readFileSync(files.shp.replace(/\.shp$/, '.prj'), 'utf8')).toMatch(/^PROJCS\["WGS_84_UTM_zone_33N",GEOGCS\["GCS_WGS_1984"/);
  });

  it.skipIf(!hasShapely)(`writes .prj and GeoPackage WKT that GDAL identifies for common projections${skipNote(!hasShapely, 'needs python3-gdal')}`, () => {
    const codes = [4326, 32633, 32755, 3857, 3035, 2154, 27700, 5070, 3031, 28992];
    const wkts = codes.flatMap((c) => [crsToWkt(`EPSG:${c}`, 'ogc'), crsToWkt(`EPSG:${c}`, 'esri')]);
    // Same coordinates from the CRS's own geographic base (datum shifts are not what is compared), and the EPSG code
    // GDAL reads from the OGC WKT.
    const code = `
import json, sys
from osgeo import osr
codes = json.loads(sys.argv[1]); wkts = json.loads(sys.argv[2]); out = []
pts = {4326: (10, 50), 32633: (15, 47), 32755: (147, -30), 3857: (10, 50), 3035: (10, 52), 2154: (3, 46), 27700: (-2, 53), 5070: (-96, 40), 3031: (30, -75), 28992: (5, 52)}
for i, c in enumerate(codes):
    ref = osr.SpatialReference(); ref.ImportFromEPSG(c); ref.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    geog = ref.CloneGeogCS(); geog.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat = pts[c]
    want = osr.CoordinateTransformation(geog, ref).TransformPoint(lon, lat)
    for k, w in enumerate(wkts[2*i:2*i+2]):
        s = osr.SpatialReference(); s.SetFromUserInput(w); s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        got = osr.CoordinateTransformation(geog, s).TransformPoint(lon, lat)
        ok = abs(got[0] - want[0]) < 1e-3 * (1 if s.IsProjected() else 1e-5) and abs(got[1] - want[1]) < 1e-3 * (1 if s.IsProjected() else 1e-5)
        if k == 0: ok = ok and s.GetAuthorityCode(None) == str(c)
        out.append(bool(ok))
print(json.dumps(out))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', code, JSON.stringify(codes), JSON.stringify(wkts)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const same = JSON.parse(r.stdout) as boolean[];
    const wrong = codes.flatMap((c, i) => [same[2 * i] ? [] : [`${c} ogc`], same[2 * i + 1] ? [] : [`${c} esri`]].flat());
    expect(wrong).toEqual([]);
  });
});
