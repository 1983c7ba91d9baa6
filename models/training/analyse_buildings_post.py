#!/usr/bin/env python3
"""buildings-joplin: what test-time flips and rectangle regularisation change, on the validation quadrants and on
the three training quadrants of each tile (the model has seen the latter: a check that a choice is not tuned to
the 141 validation buildings only).

Instances are made on the whole 1024x1024 tile and cropped to each quadrant, as `npm run eval` does; scores are
instance F1 at IoU > 0.5 against the footprints as given and moved onto the roofs (splits/buildings_label_shift.txt).

  /usr/bin/python3 models/training/analyse_buildings_post.py [--resume-point models/buildings-joplin/resume.pt]
  /usr/bin/python3 models/training/analyse_buildings_post.py --sweep   # threshold x outline growth, flips + rectangles
"""
import argparse
import os
import sys

import numpy as np
import torch
from scipy import ndimage as ndi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_buildings as B  # noqa: E402


def region_ids(a):
    return B.relabel_min_area(np.unique(a, return_inverse=True)[1].reshape(a.shape).astype(np.int32), B.MIN_AREA)


def grow(lab, px):
    """Each instance grown by px pixels into the background (no merging: a pixel goes to the larger id)."""
    out = lab.copy()
    for _ in range(px):
        g = ndi.grey_dilation(out, size=(3, 3))
        m = (out == 0) & (g > 0)
        out[m] = g[m]
    return out


def post_variants(args):
    """(name, flips, post) where post maps (building prob, boundary prob) to an instance map."""
    if args.sweep:
        # The probability threshold and a grown outline (the footprints are drawn larger than the roofs), with the
        # shipped flips and rectangles: a check that 0.5 and no growth are not a lucky pick.
        def thresholded(thr, g):
            return lambda b, e: grow(B.regularize_rectangles(B.instances(b, e, thr=thr)), g)
        return [("thr %.1f grow %d px" % (thr, g), B.TTA_FLIPS, thresholded(thr, g))
                for thr in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8) for g in (0, 1, 2)]
    out = []
    for name, flips in (("plain", ()), ("flips x", ("x",)), ("flips x/y/xy", B.TTA_FLIPS)):
        out.append((name, flips, lambda b, e: B.instances(b, e)))
        out.append((name + " + rectangles", flips, lambda b, e: B.regularize_rectangles(B.instances(b, e))))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resume-point", default=os.path.join(C.MODELS_DIR, B.MODEL_ID, "resume.pt"))
    p.add_argument("--sweep", action="store_true", help="threshold x outline growth instead of flips x rectangles")
    args = p.parse_args()
    C.setup_torch(2)
    s = torch.load(args.resume_point, map_location="cpu")
    if s.get("model_id") != B.MODEL_ID:
        raise SystemExit("%s: not a %s resume point" % (args.resume_point, B.MODEL_ID))
    net = C.UNet(3, 2, (16, 32, 64, 128, 192)).to(memory_format=torch.channels_last)
    C.load_fp16_state(net, s["weights_fp16"])
    net.eval()
    tiles, img, raw = B.load()
    val = B.read_split()
    dy, dx = B.read_shift()
    refs = {"raw": raw, "moved": {t: B.shifted(raw[t], dy, dx) for t in tiles}}
    variants = post_variants(args)
    score = {}
    with torch.no_grad():
        for t in tiles:
            x = B.normalise(torch.from_numpy(img[t].astype(np.float32))[None])
            probs = {}
            for name, flips, post in variants:
                if flips not in probs:
                    probs[flips] = B.predict_flips(net, x, flips)[0].numpy()
                pr = probs[flips]
                labs = post(pr[0], pr[1])
                for r in range(0, 1024, 512):
                    for c in range(0, 1024, 512):
                        split = "val" if (r, c) == val[t][:2] else "train"
                        pl = region_ids(labs[r:r + 512, c:c + 512])
                        for ref, src in refs.items():
                            tp, fp, fn = B.match_f1(pl, region_ids(src[t][r:r + 512, c:c + 512]))
                            acc = score.setdefault((name, split, ref), [0, 0, 0])
                            acc[0] += tp
                            acc[1] += fp
                            acc[2] += fn
            print("predicted %s" % t, flush=True)
    print("\nstep %d; F1 at IoU 0.5 (TP/FP/FN)" % s["step"])
    print("%-28s %-20s %-20s %-20s %-20s" % ("variant", "val raw", "val moved", "train raw", "train moved"))
    for name, _, _ in variants:
        cells = []
        for split in ("val", "train"):
            for ref in ("raw", "moved"):
                tp, fp, fn = score[(name, split, ref)]
                cells.append("%.3f (%d/%d/%d)" % (2 * tp / max(2 * tp + fp + fn, 1), tp, fp, fn))
        print("%-28s %-20s %-20s %-20s %-20s" % ((name,) + tuple(cells)))


if __name__ == "__main__":
    main()
