// WKT1 of a CRS for vector exports, offline: GeoPackage's gpkg_spatial_ref_sys wants OGC WKT, a Shapefile's .prj
// wants ESRI WKT. EPSG codes are rebuilt from the bundled proj4 definitions (geo/epsg-table.ts) for the projections
// that table uses most; a CRS given as WKT is passed through. Anything else is a CrsError naming the projection.
import { CrsError, epsgCode, resolveCrs } from '../geo/crs';

type Dialect = 'ogc' | 'esri';

interface Ellipsoid {
  name: string;
  esriName: string;
  a: number;
  /** Inverse flattening; 0 for a sphere. */
  rf: number;
}

const ELLIPSOIDS: Record<string, Ellipsoid> = {
  WGS84: { name: 'WGS 84', esriName: 'WGS_1984', a: 6378137, rf: 298.257223563 },
  GRS80: { name: 'GRS 1980', esriName: 'GRS_1980', a: 6378137, rf: 298.257222101 },
  WGS72: { name: 'WGS 72', esriName: 'WGS_1972', a: 6378135, rf: 298.26 },
  intl: { name: 'International 1924', esriName: 'International_1924', a: 6378388, rf: 297 },
  bessel: { name: 'Bessel 1841', esriName: 'Bessel_1841', a: 6377397.155, rf: 299.1528128 },
  airy: { name: 'Airy 1830', esriName: 'Airy_1830', a: 6377563.396, rf: 299.3249646 },
  krass: { name: 'Krassowsky 1940', esriName: 'Krasovsky_1940', a: 6378245, rf: 298.3 },
  clrk66: { name: 'Clarke 1866', esriName: 'Clarke_1866', a: 6378206.4, rf: 294.978698213898 },
  GRS67: { name: 'GRS 1967', esriName: 'GRS_1967', a: 6378160, rf: 298.247167427 },
  sphere: { name: 'Sphere', esriName: 'Sphere', a: 6370997, rf: 0 },
};

/** +datum=X -> [OGC datum name, ESRI datum name, ellipsoid key]. */
const DATUMS: Record<string, [string, string, string]> = {
  WGS84: ['WGS_1984', 'D_WGS_1984', 'WGS84'],
  NAD83: ['North_American_Datum_1983', 'D_North_American_1983', 'GRS80'],
  NAD27: ['North_American_Datum_1927', 'D_North_American_1927', 'clrk66'],
};

/** Datum names of the geographic CRS names the table uses (the part before " / "). */
const DATUM_OF_GEOGCS: Record<string, [string, string]> = {
  'WGS 84': ['WGS_1984', 'D_WGS_1984'],
  NAD83: ['North_American_Datum_1983', 'D_North_American_1983'],
  NAD27: ['North_American_Datum_1927', 'D_North_American_1927'],
  ETRS89: ['European_Terrestrial_Reference_System_1989', 'D_ETRS_1989'],
  'ETRS89-extended': ['European_Terrestrial_Reference_System_1989', 'D_ETRS_1989'],
  GDA94: ['Geocentric_Datum_of_Australia_1994', 'D_GDA_1994'],
  GDA2020: ['Geocentric_Datum_of_Australia_2020', 'D_GDA2020'],
  ED50: ['European_Datum_1950', 'D_European_1950'],
  'WGS 72': ['WGS_1972', 'D_WGS_1972'],
  OSGB36: ['OSGB_1936', 'D_OSGB_1936'],
  DHDN: ['Deutsches_Hauptdreiecksnetz', 'D_Deutsches_Hauptdreiecksnetz'],
  Amersfoort: ['Amersfoort', 'D_Amersfoort'],
  'RGF93 v1': ['Reseau_Geodesique_Francais_1993', 'D_RGF_1993'],
  NZGD2000: ['New_Zealand_Geodetic_Datum_2000', 'D_NZGD_2000'],
  'SIRGAS 2000': ['Sistema_de_Referencia_Geocentrico_para_las_AmericaS_2000', 'D_SIRGAS_2000'],
  JGD2011: ['Japanese_Geodetic_Datum_2011', 'D_JGD_2011'],
};

const q = (s: string): string => `"${s.replace(/"/g, '')}"`;
const num = (v: number): string => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(15))));
const underscore = (s: string): string => s.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '');

function parseProj4(def: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of def.trim().split(/\s+/)) {
    if (!part.startsWith('+')) continue;
    const eq = part.indexOf('=');
    if (eq < 0) m.set(part.slice(1), '');
    else m.set(part.slice(1, eq), part.slice(eq + 1));
  }
  return m;
}

function ellipsoidOf(p: Map<string, string>): Ellipsoid {
  const datum = p.get('datum');
  const key = datum ? DATUMS[datum]?.[2] : p.get('ellps');
  if (key && ELLIPSOIDS[key]) return ELLIPSOIDS[key];
  const R = p.get('R');
  if (R) return { name: 'Sphere', esriName: 'Sphere', a: Number(R), rf: 0 };
  const a = Number(p.get('a'));
  if (Number.isFinite(a) && a > 0) {
    const b = Number(p.get('b'));
    const rfGiven = Number(p.get('rf'));
    const rf = Number.isFinite(rfGiven) && rfGiven > 0 ? rfGiven : Number.isFinite(b) && b > 0 && b !== a ? a / (a - b) : 0;
    return { name: 'unnamed', esriName: 'unnamed', a, rf };
  }
  return ELLIPSOIDS.WGS84!;
}

function geogcs(p: Map<string, string>, geogName: string, dialect: Dialect, geogCode: number | null): string {
  const e = ellipsoidOf(p);
  const known = DATUM_OF_GEOGCS[geogName] ?? (p.get('datum') ? DATUMS[p.get('datum')!]?.slice(0, 2) as [string, string] | undefined : undefined);
  const datumOgc = known?.[0] ?? underscore(geogName);
  const datumEsri = known?.[1] ?? `D_${underscore(geogName)}`;
  const auth = (code: number | null): string => (dialect === 'ogc' && code !== null ? `,AUTHORITY["EPSG","${code}"]` : '');
  if (dialect === 'esri') {
    const gcs = geogName === 'WGS 84' ? 'GCS_WGS_1984' : `GCS_${underscore(geogName)}`;
    return `GEOGCS[${q(gcs)},DATUM[${q(datumEsri)},SPHEROID[${q(e.esriName)},${num(e.a)},${num(e.rf)}]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`;
  }
  return (
    `GEOGCS[${q(geogName)},DATUM[${q(datumOgc)},SPHEROID[${q(e.name)},${num(e.a)},${num(e.rf)}]],` +
    `PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]${auth(geogCode)}]`
  );
}

/** [OGC name, ESRI name] of a projection and its parameters [OGC name, ESRI name, value]. */
function projection(p: Map<string, string>): { names: [string, string]; params: Array<[string, string, number]> } {
  const n = (k: string, fallback = 0): number => {
    const v = p.get(k);
    return v === undefined ? fallback : Number(v);
  };
  const fe: [string, string, number] = ['false_easting', 'False_Easting', n('x_0')];
  const fn: [string, string, number] = ['false_northing', 'False_Northing', n('y_0')];
  const proj = p.get('proj') ?? '';
  switch (proj) {
    case 'utm': {
      const zone = n('zone');
      const south = p.has('south');
      return {
        names: ['Transverse_Mercator', 'Transverse_Mercator'],
        params: [
          ['latitude_of_origin', 'Latitude_Of_Origin', 0],
          ['central_meridian', 'Central_Meridian', zone * 6 - 183],
          ['scale_factor', 'Scale_Factor', 0.9996],
          ['false_easting', 'False_Easting', 500000],
          ['false_northing', 'False_Northing', south ? 10000000 : 0],
        ],
      };
    }
    case 'tmerc':
      return {
        names: ['Transverse_Mercator', 'Transverse_Mercator'],
        params: [['latitude_of_origin', 'Latitude_Of_Origin', n('lat_0')], ['central_meridian', 'Central_Meridian', n('lon_0')], ['scale_factor', 'Scale_Factor', n('k', n('k_0', 1))], fe, fn],
      };
    case 'lcc':
      if (!p.has('lat_2') || p.get('lat_1') === p.get('lat_2')) {
        return {
          names: ['Lambert_Conformal_Conic_1SP', 'Lambert_Conformal_Conic'],
          params: [['latitude_of_origin', 'Latitude_Of_Origin', n('lat_0', n('lat_1'))], ['central_meridian', 'Central_Meridian', n('lon_0')], ['scale_factor', 'Scale_Factor', n('k_0', n('k', 1))], fe, fn],
        };
      }
      return {
        names: ['Lambert_Conformal_Conic_2SP', 'Lambert_Conformal_Conic'],
        params: [['standard_parallel_1', 'Standard_Parallel_1', n('lat_1')], ['standard_parallel_2', 'Standard_Parallel_2', n('lat_2')], ['latitude_of_origin', 'Latitude_Of_Origin', n('lat_0')], ['central_meridian', 'Central_Meridian', n('lon_0')], fe, fn],
      };
    case 'aea':
      return {
        names: ['Albers_Conic_Equal_Area', 'Albers'],
        params: [['standard_parallel_1', 'Standard_Parallel_1', n('lat_1')], ['standard_parallel_2', 'Standard_Parallel_2', n('lat_2')], ['latitude_of_center', 'Latitude_Of_Origin', n('lat_0')], ['longitude_of_center', 'Central_Meridian', n('lon_0')], fe, fn],
      };
    case 'laea':
      return {
        names: ['Lambert_Azimuthal_Equal_Area', 'Lambert_Azimuthal_Equal_Area'],
        params: [['latitude_of_center', 'Latitude_Of_Origin', n('lat_0')], ['longitude_of_center', 'Central_Meridian', n('lon_0')], fe, fn],
      };
    case 'merc':
      if (p.has('lat_ts') && n('lat_ts') !== 0) {
        return { names: ['Mercator_2SP', 'Mercator'], params: [['standard_parallel_1', 'Standard_Parallel_1', n('lat_ts')], ['central_meridian', 'Central_Meridian', n('lon_0')], fe, fn] };
      }
      return { names: ['Mercator_1SP', 'Mercator'], params: [['central_meridian', 'Central_Meridian', n('lon_0')], ['scale_factor', 'Scale_Factor', n('k', 1)], fe, fn] };
    case 'stere':
      if (Math.abs(n('lat_0')) === 90) {
        return p.has('lat_ts')
          ? { names: ['Polar_Stereographic', n('lat_0') > 0 ? 'Stereographic_North_Pole' : 'Stereographic_South_Pole'], params: [['latitude_of_origin', 'Standard_Parallel_1', n('lat_ts')], ['central_meridian', 'Central_Meridian', n('lon_0')], fe, fn] }
          : { names: ['Polar_Stereographic', 'Stereographic'], params: [['latitude_of_origin', 'Latitude_Of_Origin', n('lat_0')], ['central_meridian', 'Central_Meridian', n('lon_0')], ['scale_factor', 'Scale_Factor', n('k', 1)], fe, fn] };
      }
      return { names: ['Stereographic', 'Stereographic'], params: [['latitude_of_origin', 'Latitude_Of_Origin', n('lat_0')], ['central_meridian', 'Central_Meridian', n('lon_0')], ['scale_factor', 'Scale_Factor', n('k', 1)], fe, fn] };
    case 'sterea':
      return { names: ['Oblique_Stereographic', 'Double_Stereographic'], params: [['latitude_of_origin', 'Latitude_Of_Origin', n('lat_0')], ['central_meridian', 'Central_Meridian', n('lon_0')], ['scale_factor', 'Scale_Factor', n('k', 1)], fe, fn] };
    case 'cea':
      return { names: ['Cylindrical_Equal_Area', 'Cylindrical_Equal_Area'], params: [['standard_parallel_1', 'Standard_Parallel_1', n('lat_ts')], ['central_meridian', 'Central_Meridian', n('lon_0')], fe, fn] };
    case 'eqc':
      return { names: ['Equirectangular', 'Equidistant_Cylindrical'], params: [['standard_parallel_1', 'Standard_Parallel_1', n('lat_ts')], ['central_meridian', 'Central_Meridian', n('lon_0')], fe, fn] };
    default:
      throw new CrsError(`cannot write WKT for the "${proj}" projection offline; export with --crs EPSG:4326 or a UTM zone`);
  }
}

/**
 * WKT1 of a CRS ("EPSG:n" from the offline table, or WKT passed through). dialect 'ogc' carries EPSG authorities
 * (GeoPackage, GDAL), 'esri' uses ESRI names (.prj files ArcGIS and QGIS read).
 */
export function crsToWkt(crs: string, dialect: Dialect): string {
  const code = /^EPSG:\d+$/i.test(crs.trim()) ? epsgCode(crs) : null;
  if (code === null) return crs.trim(); // already WKT
  const r = resolveCrs(crs);
  const p = parseProj4(r.proj4);
  if (p.has('pm') && p.get('pm') !== 'greenwich' && p.get('pm') !== '0') throw new CrsError(`${crs}: prime meridians other than Greenwich are not written offline`);
  if (r.geographic) return geogcs(p, r.name, dialect, code);
  const geogName = r.name.split(' / ')[0] ?? r.name;
  const { names, params } = projection(p);
  const toMetre = p.get('units') === 'us' ? 0.304800609601219 : p.get('units') === 'ft' ? 0.3048 : 1;
  const unitName = toMetre === 1 ? (dialect === 'esri' ? 'Meter' : 'metre') : dialect === 'esri' ? 'Foot_US' : 'US survey foot';
  const paramText = params.map(([ogc, esri, v]) => `PARAMETER[${q(dialect === 'esri' ? esri : ogc)},${num(v)}]`).join(',');
  const name = dialect === 'esri' ? underscore(r.name) : r.name;
  const geog = geogcs(p, geogName, dialect, null);
  if (dialect === 'esri') return `PROJCS[${q(name)},${geog},PROJECTION[${q(names[1])}],${paramText},UNIT[${q(unitName)},${num(toMetre)}]]`;
  return `PROJCS[${q(name)},${geog},PROJECTION[${q(names[0])}],${paramText},UNIT[${q(unitName)},${num(toMetre)}],AUTHORITY["EPSG","${code}"]]`;
}
