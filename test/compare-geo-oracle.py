#!/usr/bin/python3
"""Independent from-to table of two label GeoTIFFs, for the map comparison tests.

usage: compare-geo-oracle.py <earlier labels.tif> <later labels.tif>

GDAL warps the later map onto the earlier map's grid (nearest neighbour, exact transformer: errorThreshold 0,
nodata 255); pyproj's Geod gives the WGS84 area of every earlier-grid pixel from its four corners. Prints JSON:
{"transitions": [{"from", "to", "pixels", "areaHa"}], "overlapPixels", "overlapHa"}.
"""
import json
import sys

import numpy as np
from osgeo import gdal, osr
from pyproj import Geod, Transformer

gdal.UseExceptions()


def main(earlier, later):
    a = gdal.Open(earlier)
    gt = a.GetGeoTransform()
    w, h = a.RasterXSize, a.RasterYSize
    srs = a.GetSpatialRef()
    warped = gdal.Warp(
        '', later, format='MEM', dstSRS=srs.ExportToWkt(),
        outputBounds=(gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3]), width=w, height=h,
        resampleAlg='near', errorThreshold=0, srcNodata=255, dstNodata=255, multithread=False)
    la = a.GetRasterBand(1).ReadAsArray().astype(np.int64)
    lb = warped.GetRasterBand(1).ReadAsArray().astype(np.int64)
    valid = (la != 255) & (lb != 255)

    # Pixel corners -> lon/lat, then one geodesic polygon per pixel (only the pixels that count).
    to_ll = Transformer.from_crs(osr.SpatialReference(wkt=srs.ExportToWkt()).ExportToProj4(), 'EPSG:4326', always_xy=True)
    cols, rows = np.meshgrid(np.arange(w + 1), np.arange(h + 1))
    mx = gt[0] + cols * gt[1] + rows * gt[2]
    my = gt[3] + cols * gt[4] + rows * gt[5]
    lon, lat = to_ll.transform(mx, my)
    geod = Geod(ellps='WGS84')
    area = np.zeros((h, w))
    for r, c in zip(*np.nonzero(valid)):
        lons = [lon[r, c], lon[r, c + 1], lon[r + 1, c + 1], lon[r + 1, c]]
        lats = [lat[r, c], lat[r, c + 1], lat[r + 1, c + 1], lat[r + 1, c]]
        area[r, c] = abs(geod.polygon_area_perimeter(lons, lats)[0])

    out = []
    pairs = la[valid] * 65536 + lb[valid]
    areas = area[valid]
    for key in np.unique(pairs):
        sel = pairs == key
        out.append({'from': int(key // 65536), 'to': int(key % 65536), 'pixels': int(sel.sum()), 'areaHa': float(areas[sel].sum() / 1e4)})
    print(json.dumps({'transitions': out, 'overlapPixels': int(valid.sum()), 'overlapHa': float(areas.sum() / 1e4)}))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
