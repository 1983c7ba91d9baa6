// GeoTIFF GeoKeys -> CRS string: "EPSG:n" when the file names a code, else the WKT a citation carries (ESRI/GDAL
// "PE String"), else an OGC WKT1 built from the user-defined parameters (datum, ellipsoid, projection method and its
// parameters), the way GDAL reads such files. (Writing GeoKeys is tiff-writer.ts's.)

const USER_DEFINED = 32767;

export type GeoKeys = Record<string, unknown>;

function num(keys: GeoKeys, name: string): number | undefined {
  const v = keys[name];
  const n = Array.isArray(v) || ArrayBuffer.isView(v) ? Number((v as ArrayLike<number>)[0]) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function code(keys: GeoKeys, name: string): number | undefined {
  const n = num(keys, name);
  return n !== undefined && n > 0 && n !== USER_DEFINED ? n : undefined;
}

/** Ellipsoids by EPSG code: [name, semi-major m, inverse flattening]. */
const ELLIPSOIDS: Record<number, [string, number, number]> = {
  7030: ['WGS 84', 6378137, 298.257223563],
  7019: ['GRS 1980', 6378137, 298.257222101],
  7008: ['Clarke 1866', 6378206.4, 294.978698213898],
  7004: ['Bessel 1841', 6377397.155, 299.1528128],
  7001: ['Airy 1830', 6377563.396, 299.3249646],
  7022: ['International 1924', 6378388, 297],
  7043: ['WGS 72', 6378135, 298.26],
  7024: ['Krassowsky 1940', 6378245, 298.3],
  7012: ['Clarke 1880 (RGS)', 6378249.145, 293.465],
  7011: ['Clarke 1880 (IGN)', 6378249.2, 293.466021293627],
  7018: ['GRS 1967', 6378160, 298.247167427],
  7003: ['Australian National Spheroid', 6378160, 298.25],
};

/** Geodetic datums by EPSG code: [name, ellipsoid code, WKT TOWGS84 (omitted: none known or zero)]. */
const DATUMS: Record<number, [string, number, string?]> = {
  6326: ['WGS_1984', 7030, '0,0,0,0,0,0,0'],
  6269: ['North_American_Datum_1983', 7019, '0,0,0,0,0,0,0'],
  6267: ['North_American_Datum_1927', 7008],
  6258: ['European_Terrestrial_Reference_System_1989', 7019, '0,0,0,0,0,0,0'],
  6283: ['Geocentric_Datum_of_Australia_1994', 7019, '0,0,0,0,0,0,0'],
  6230: ['European_Datum_1950', 7022],
  6322: ['WGS_1972', 7043],
  6277: ['OSGB_1936', 7001],
  6314: ['Deutsches_Hauptdreiecksnetz', 7004],
};

/** Geographic CRS codes (GeographicTypeGeoKey) -> datum codes, for the common ones. */
const GCS_DATUM: Record<number, number> = { 4326: 6326, 4269: 6269, 4267: 6267, 4258: 6258, 4283: 6283, 4230: 6230, 4322: 6322, 4277: 6277, 4314: 6314 };

const LINEAR_UNITS: Record<number, [string, number]> = {
  9001: ['metre', 1],
  9002: ['foot', 0.3048],
  9003: ['US survey foot', 0.304800609601219],
  9036: ['kilometre', 1000],
};

function wktNum(v: number): string {
  return String(Number(v.toPrecision(15)));
}

function quote(s: string): string {
  return s.replace(/"/g, "'");
}

function citationName(keys: GeoKeys, name: string, field: string): string | undefined {
  const text = keys[name];
  if (typeof text !== 'string') return undefined;
  // GDAL writes "GCS Name = x|Datum = y|Ellipsoid = z|Primem = w|".
  const m = new RegExp(`${field} = ([^|]*)`).exec(text);
  if (m) return m[1]!.trim();
  return field === 'GCS Name' && !text.includes('=') ? text.trim() : undefined;
}

/** GEOGCS[...] from the geographic keys, or null when there is nothing to build from. */
function geogcsWkt(keys: GeoKeys): string {
  const gcs = code(keys, 'GeographicTypeGeoKey');
  const datumCode = code(keys, 'GeogGeodeticDatumGeoKey') ?? (gcs !== undefined ? GCS_DATUM[gcs] : undefined);
  const datum = datumCode !== undefined ? DATUMS[datumCode] : undefined;
  const ellCode = code(keys, 'GeogEllipsoidGeoKey') ?? datum?.[1] ?? 7030;
  const ell = ELLIPSOIDS[ellCode] ?? ELLIPSOIDS[7030]!;
  const a = num(keys, 'GeogSemiMajorAxisGeoKey') ?? ell[1];
  let rf = num(keys, 'GeogInvFlatteningGeoKey');
  const b = num(keys, 'GeogSemiMinorAxisGeoKey');
  if (rf === undefined) rf = b !== undefined && b !== a ? a / (a - b) : b === a ? 0 : ell[2];
  const ellName = citationName(keys, 'GeogCitationGeoKey', 'Ellipsoid') ?? ell[0];
  const datumName = datum?.[0] ?? citationName(keys, 'GeogCitationGeoKey', 'Datum') ?? `Unknown based on ${ellName} ellipsoid`;
  const gcsName = citationName(keys, 'GeogCitationGeoKey', 'GCS Name') ?? (datum ? datum[0] : 'unknown');
  const towgs = datum?.[2] ? `,TOWGS84[${datum[2]}]` : '';
  const pm = num(keys, 'GeogPrimeMeridianLongGeoKey') ?? 0;
  return (
    `GEOGCS["${quote(gcsName)}",DATUM["${quote(datumName)}",SPHEROID["${quote(ellName)}",${wktNum(a)},${wktNum(rf)}]${towgs}],` +
    `PRIMEM["Greenwich",${wktNum(pm)}],UNIT["degree",0.0174532925199433]]`
  );
}

type Param = [string, number | undefined];

/** PROJECTION name and PARAMETERs for a GeoTIFF coordinate transformation code (CT_*), or null if unsupported. */
function projection(keys: GeoKeys): { method: string; params: Param[] } | null {
  const p = (name: string): number | undefined => num(keys, name);
  const fe = p('ProjFalseEastingGeoKey') ?? p('ProjFalseOriginEastingGeoKey') ?? p('ProjCenterEastingGeoKey') ?? 0;
  const fn = p('ProjFalseNorthingGeoKey') ?? p('ProjFalseOriginNorthingGeoKey') ?? p('ProjCenterNorthingGeoKey') ?? 0;
  const natLat = p('ProjNatOriginLatGeoKey') ?? p('ProjFalseOriginLatGeoKey') ?? p('ProjCenterLatGeoKey') ?? 0;
  const natLon = p('ProjNatOriginLongGeoKey') ?? p('ProjFalseOriginLongGeoKey') ?? p('ProjCenterLongGeoKey') ?? 0;
  const scale = p('ProjScaleAtNatOriginGeoKey') ?? p('ProjScaleAtCenterGeoKey') ?? 1;
  const ctr: Param[] = [
    ['latitude_of_center', p('ProjCenterLatGeoKey') ?? natLat],
    ['longitude_of_center', p('ProjCenterLongGeoKey') ?? natLon],
  ];
  const falses: Param[] = [
    ['false_easting', fe],
    ['false_northing', fn],
  ];
  const proj = code(keys, 'ProjectionGeoKey');
  if (proj !== undefined && ((proj > 16000 && proj <= 16060) || (proj > 16100 && proj <= 16160))) {
    // Proj_UTM_zone_nN / nS.
    const zone = proj % 100;
    const south = proj > 16100;
    return {
      method: 'Transverse_Mercator',
      params: [['latitude_of_origin', 0], ['central_meridian', zone * 6 - 183], ['scale_factor', 0.9996], ['false_easting', 500000], ['false_northing', south ? 10000000 : 0]],
    };
  }
  switch (num(keys, 'ProjCoordTransGeoKey')) {
    case 1:
      return { method: 'Transverse_Mercator', params: [['latitude_of_origin', natLat], ['central_meridian', natLon], ['scale_factor', scale], ...falses] };
    case 7: {
      const sp1 = p('ProjStdParallel1GeoKey');
      if (sp1 !== undefined) return { method: 'Mercator_2SP', params: [['standard_parallel_1', sp1], ['central_meridian', natLon], ...falses] };
      return { method: 'Mercator_1SP', params: [['central_meridian', natLon], ['scale_factor', scale], ...falses] };
    }
    case 8:
      return {
        method: 'Lambert_Conformal_Conic_2SP',
        params: [['standard_parallel_1', p('ProjStdParallel1GeoKey')], ['standard_parallel_2', p('ProjStdParallel2GeoKey')], ['latitude_of_origin', natLat], ['central_meridian', natLon], ...falses],
      };
    case 9:
      return { method: 'Lambert_Conformal_Conic_1SP', params: [['latitude_of_origin', natLat], ['central_meridian', natLon], ['scale_factor', scale], ...falses] };
    case 10:
      return { method: 'Lambert_Azimuthal_Equal_Area', params: [...ctr, ...falses] };
    case 11:
      return {
        method: 'Albers_Conic_Equal_Area',
        params: [['standard_parallel_1', p('ProjStdParallel1GeoKey')], ['standard_parallel_2', p('ProjStdParallel2GeoKey')], ...ctr, ...falses],
      };
    case 12:
      return { method: 'Azimuthal_Equidistant', params: [...ctr, ...falses] };
    case 14:
      return { method: 'Stereographic', params: [['latitude_of_origin', natLat], ['central_meridian', natLon], ['scale_factor', scale], ...falses] };
    case 15:
      return {
        method: 'Polar_Stereographic',
        params: [['latitude_of_origin', natLat], ['central_meridian', p('ProjStraightVertPoleLongGeoKey') ?? natLon], ['scale_factor', scale], ...falses],
      };
    case 16:
      return { method: 'Oblique_Stereographic', params: [['latitude_of_origin', natLat], ['central_meridian', natLon], ['scale_factor', scale], ...falses] };
    case 17:
      return { method: 'Equirectangular', params: [['standard_parallel_1', p('ProjStdParallel1GeoKey') ?? natLat], ['central_meridian', natLon], ...falses] };
    case 24:
      return { method: 'Sinusoidal', params: [['longitude_of_center', p('ProjCenterLongGeoKey') ?? natLon], ...falses] };
    default:
      return null;
  }
}

/** The WKT inside a citation ("ESRI PE String = PROJCS[...]" and the like), or null. */
function citedWkt(keys: GeoKeys): string | null {
  for (const k of ['PCSCitationGeoKey', 'GTCitationGeoKey', 'GeogCitationGeoKey']) {
    const text = keys[k];
    if (typeof text !== 'string') continue;
    const at = text.search(/(PROJCS|GEOGCS|PROJCRS|GEOGCRS|COMPD_CS|COMPOUNDCRS)\[/);
    if (at >= 0) return text.slice(at).replace(/\|+$/, '').trim();
  }
  return null;
}

/** "EPSG:n", else a WKT (cited or built from parameters), else null (no CRS, or one we cannot describe). */
export function crsFromGeoKeys(keys: GeoKeys | null | undefined): string | null {
  if (!keys) return null;
  const model = num(keys, 'GTModelTypeGeoKey');
  const pcs = code(keys, 'ProjectedCSTypeGeoKey');
  if (pcs !== undefined) return `EPSG:${pcs}`;
  const cited = citedWkt(keys);
  if (cited) return cited;
  if (model === 2) {
    const gcs = code(keys, 'GeographicTypeGeoKey');
    if (gcs !== undefined) return `EPSG:${gcs}`;
    return hasGeographicParams(keys) ? geogcsWkt(keys) : null;
  }
  if (model === 1 || num(keys, 'ProjectedCSTypeGeoKey') === USER_DEFINED) {
    const proj = projection(keys);
    if (!proj) return null;
    const unitCode = num(keys, 'ProjLinearUnitsGeoKey') ?? 9001;
    const unitSize = num(keys, 'ProjLinearUnitSizeGeoKey');
    const [unitName, metres] = LINEAR_UNITS[unitCode] ?? ['unknown', unitSize ?? 1];
    const name = typeof keys.GTCitationGeoKey === 'string' ? keys.GTCitationGeoKey : 'unnamed';
    const params = proj.params.filter((x): x is [string, number] => x[1] !== undefined).map(([k, v]) => `PARAMETER["${k}",${wktNum(v)}]`);
    return `PROJCS["${quote(name)}",${geogcsWkt(keys)},PROJECTION["${proj.method}"],${params.join(',')},UNIT["${unitName}",${wktNum(metres)}]]`;
  }
  // Model type missing: a geographic code alone still tells the CRS.
  const gcs = code(keys, 'GeographicTypeGeoKey');
  return gcs !== undefined ? `EPSG:${gcs}` : null;
}

function hasGeographicParams(keys: GeoKeys): boolean {
  return ['GeogGeodeticDatumGeoKey', 'GeogEllipsoidGeoKey', 'GeogSemiMajorAxisGeoKey', 'GeogCitationGeoKey'].some((k) => keys[k] !== undefined);
}
