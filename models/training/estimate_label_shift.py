"""Estimates the shift that moves the Joplin footprints onto the roofs from the TRAINING quadrants only.

Model-free: for every shift (dy, dx) in [-R, R]^2, the mean image gradient magnitude (Sobel, on the mean of the
RGB bands) under the footprint outlines moved by (dy, dx); outlines sit on roof edges where it peaks. Summed over
the 512x512 quadrants of each tile that are not its validation quadrant (splits/buildings_val.txt), so neither the
validation nor the test blocks take part. Prints the peak per quadrant and overall; the overall peak is the
shift written in splits/buildings_label_shift.txt.
Usage: /usr/bin/python3 models/training/estimate_label_shift.py [--radius 6]
"""
import argparse
import os

import numpy as np
from osgeo import gdal
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.environ.get("DELINEATE_DATA", os.path.join(HERE, "..", "..", "..", "shared", "data")), "buildings-joplin")


def read_val():
    out = {}
    for l in open(os.path.join(HERE, "splits", "buildings_val.txt")):
        if l.strip() and not l.startswith("#"):
            t, r, c, s = l.split()
            out[t] = (int(r), int(c), int(s))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--radius", type=int, default=6)
    args = ap.parse_args()
    R = args.radius
    val = read_val()
    total = np.zeros((2 * R + 1, 2 * R + 1))
    weight = 0
    for tile, (vr, vc, vs) in sorted(val.items()):
        img = gdal.Open(os.path.join(DATA, "images", tile + ".tif")).ReadAsArray().astype(np.float64)
        gray = img[:3].mean(axis=0) if img.ndim == 3 else img
        grad = np.hypot(ndimage.sobel(gray, 0), ndimage.sobel(gray, 1))
        inst = gdal.Open(os.path.join(DATA, "instances", tile + ".tif")).ReadAsArray()
        # Outline: footprint pixels with a 4-neighbour of another id.
        edge = np.zeros(inst.shape, bool)
        edge[:-1] |= inst[:-1] != inst[1:]
        edge[1:] |= inst[1:] != inst[:-1]
        edge[:, :-1] |= inst[:, :-1] != inst[:, 1:]
        edge[:, 1:] |= inst[:, 1:] != inst[:, :-1]
        edge &= inst > 0
        H, W = inst.shape
        for r0 in range(0, H, vs):
            for c0 in range(0, W, vs):
                if (r0, c0) == (vr, vc):
                    continue  # the validation quadrant (its blocks are validation and test)
                ys, xs = np.nonzero(edge[r0:r0 + vs, c0:c0 + vs])
                ys = ys + r0
                xs = xs + c0
                score = np.zeros_like(total)
                for dy in range(-R, R + 1):
                    for dx in range(-R, R + 1):
                        y = ys + dy
                        x = xs + dx
                        ok = (y >= r0) & (y < r0 + vs) & (x >= c0) & (x < c0 + vs)
                        score[dy + R, dx + R] = grad[y[ok], x[ok]].mean() if ok.any() else 0
                k = np.unravel_index(score.argmax(), score.shape)
                print("%s rows %d.. cols %d..: %5d outline px, peak at dy %+d dx %+d (%.1f vs %.1f unshifted)" % (
                    tile, r0, c0, len(ys), k[0] - R, k[1] - R, score.max(), score[R, R]))
                total += score * len(ys)
                weight += len(ys)
    total /= max(weight, 1)
    k = np.unravel_index(total.argmax(), total.shape)
    print("all training quadrants: peak at dy %+d dx %+d" % (k[0] - R, k[1] - R))
    for dy in range(-2, 3):
        print("  " + " ".join("%6.2f" % total[k[0] + dy, k[1] + dx] if 0 <= k[0] + dy < total.shape[0] and 0 <= k[1] + dx < total.shape[1] else "   -  " for dx in range(-2, 3)))


if __name__ == "__main__":
    main()
