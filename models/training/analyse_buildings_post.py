#!/usr/bin/env python3
"""buildings-joplin: what test-time flips and rectangle regularisation change, on the validation quadrants and on
the three training quadrants of each tile (the model has seen the latter: a check that a choice is not tuned to
the 141 validation buildings only).

Instances are made on the whole 1024x1024 tile and cropped to each quadrant, as `npm run eval` does; scores are
instance F1 at IoU > 0.5 against the footprints as given and moved onto the roofs (splits/buildings_label_shift.txt).

  /usr/bin/python3 models/training/analyse_buildings_post.py [--resume-point models/buildings-joplin/resume.pt]
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_buildings as B  # noqa: E402


def region_ids(a):
    return B.relabel_min_area(np.unique(a, return_inverse=True)[1].reshape(a.shape).astype(np.int32), B.MIN_AREA)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resume-point", default=os.path.join(C.MODELS_DIR, B.MODEL_ID, "resume.pt"))
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
    variants = {"plain": (), "flips x": ("x",), "flips x/y/xy": B.TTA_FLIPS}
    score = {}
    with torch.no_grad():
        for t in tiles:
            x = B.normalise(torch.from_numpy(img[t].astype(np.float32))[None])
            for name, flips in variants.items():
                pr = B.predict_flips(net, x, flips)[0].numpy()
                lab = B.instances(pr[0], pr[1])
                for post, labs in (("", lab), (" + rectangles", B.regularize_rectangles(lab))):
                    for r in range(0, 1024, 512):
                        for c in range(0, 1024, 512):
                            split = "val" if (r, c) == val[t][:2] else "train"
                            pl = region_ids(labs[r:r + 512, c:c + 512])
                            for ref, src in refs.items():
                                k = (name + post, split, ref)
                                tp, fp, fn = B.match_f1(pl, region_ids(src[t][r:r + 512, c:c + 512]))
                                acc = score.setdefault(k, [0, 0, 0])
                                acc[0] += tp
                                acc[1] += fp
                                acc[2] += fn
            print("predicted %s" % t, flush=True)
    print("\nstep %d; F1 at IoU 0.5 (TP/FP/FN)" % s["step"])
    print("%-28s %-20s %-20s %-20s %-20s" % ("variant", "val raw", "val moved", "train raw", "train moved"))
    for name in variants:
        for post in ("", " + rectangles"):
            cells = []
            for split in ("val", "train"):
                for ref in ("raw", "moved"):
                    tp, fp, fn = score[(name + post, split, ref)]
                    cells.append("%.3f (%d/%d/%d)" % (2 * tp / max(2 * tp + fp + fn, 1), tp, fp, fn))
            print("%-28s %-20s %-20s %-20s %-20s" % ((name + post,) + tuple(cells)))


if __name__ == "__main__":
    main()
