#!/usr/bin/env python3
"""Compare 3D post-processing rules for brain-flair-lgg on the validation patients (EMA weights of the newest
checkpoint). Used to choose the rule the manifest declares; prints per-rule per-patient Dice (mean, median).

  /usr/bin/python3 models/training/analyse_brain_post.py [--tta]
"""
import argparse
import os
import sys

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_brain as B  # noqa: E402


def components(pred):
    lab, n = ndimage.label(pred, structure=np.ones((3, 3, 3)))
    sizes = ndimage.sum(pred, lab, index=np.arange(1, n + 1)) if n else np.zeros(0)
    return lab, n, sizes


def keep_fraction(pred, frac):
    """Keep 3D components at least `frac` of the largest one's size."""
    if not pred.any():
        return pred
    lab, n, sizes = components(pred)
    keep = np.concatenate([[False], sizes >= frac * sizes.max()])
    return keep[lab]


def keep_confident(prob, pred, pmax):
    """Keep 3D components whose peak probability reaches pmax."""
    if not pred.any():
        return pred
    lab, n, _ = components(pred)
    peaks = ndimage.maximum(prob, lab, index=np.arange(1, n + 1))
    keep = np.concatenate([[False], np.asarray(peaks) >= pmax])
    return keep[lab]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tta", action="store_true", help="also average with the left-right flipped prediction")
    args = p.parse_args()
    C.setup_torch(2)
    ck = C.latest_checkpoint(B.MODEL_ID)
    net = C.UNet(B.IN_CH, 1, (16, 32, 64, 128, 192)).to(memory_format=torch.channels_last)
    s = torch.load(ck, map_location="cpu")
    net.load_state_dict(s["ema"])
    net.eval()
    print("checkpoint", os.path.relpath(ck, C.WORK_DIR), "step", s["step"])
    data = B.load_patients()
    val = B.val_patients(list(data))
    rules = {
        "raw": lambda pr, pd: pd,
        "largest": lambda pr, pd: B.postprocess(pd, "largest"),
        "min100vox": lambda pr, pd: B.postprocess(pd, "min"),
    }
    for f in (0.05, 0.1, 0.2, 0.3):
        rules["frac%.2f" % f] = (lambda f: lambda pr, pd: keep_fraction(pd, f))(f)
    for q in (0.8, 0.9, 0.95):
        rules["peak%.2f" % q] = (lambda q: lambda pr, pd: keep_confident(pr, pd, q))(q)
    rules["frac0.10+peak0.90"] = lambda pr, pd: keep_confident(pr, keep_fraction(pd, 0.1), 0.9)
    variants = [False, True] if args.tta else [False]
    for tta in variants:
        res = {k: [] for k in rules}
        for k in val:
            vol, gt = data[k]
            prob = B.predict_volume(net, vol)
            if tta:
                prob = 0.5 * (prob + B.predict_volume(net, np.ascontiguousarray(vol[:, :, ::-1]))[:, :, ::-1])
            pred = prob > 0.5
            for name, rule in rules.items():
                res[name].append(B.dice(rule(prob, pred), gt.astype(bool)))
        print("TTA(flip)" if tta else "no TTA")
        for name, v in res.items():
            print("  %-20s mean %.4f median %.4f min %.3f" % (name, np.mean(v), np.median(v), np.min(v)))


if __name__ == "__main__":
    main()
