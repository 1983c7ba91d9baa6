#!/usr/bin/env python3
"""Does averaging two brain-flair-lgg models help? Per-patient volumetric Dice on the validation patients for each
model alone and for the mean of their probabilities, with and without the left-right flip and the 3D component
rules of analyse_brain_post.py.

  /usr/bin/python3 models/training/analyse_brain_ensemble.py A.pt B.pt [C.pt ...]

Each argument is a compact resume point (`models/brain-flair-lgg/resume.pt` format); its first convolution tells
how many slices it reads (1 = single slice, 3 = the slice and one neighbour on each side).
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_brain as B  # noqa: E402
from analyse_brain_post import keep_fraction  # noqa: E402


def load_net(path):
    net, context, s = B.load_resume_net(path)
    return net, context, int(s["step"])


def predict_tta(net, context, vol):
    a = B.predict_volume(net, vol, context=context)
    b = B.predict_volume(net, np.ascontiguousarray(vol[:, :, ::-1]), context=context)[:, :, ::-1]
    return 0.5 * (a + b)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights", nargs="+")
    args = p.parse_args()
    C.setup_torch(2)
    nets = [load_net(w) for w in args.weights]
    for w, (_, ctx, step) in zip(args.weights, nets):
        print("%s: %d-slice input, step %d" % (w, 2 * ctx + 1, step))
    data = B.load_patients()
    val = B.val_patients(list(data))
    rules = {"raw": lambda pd: pd, "largest": lambda pd: B.postprocess(pd, "largest"),
             "frac0.10": lambda pd: keep_fraction(pd, 0.1), "frac0.20": lambda pd: keep_fraction(pd, 0.2)}
    names = ["m%d" % i for i in range(len(nets))] + ["mean"]
    res = {(n, t, r): [] for n in names for t in ("plain", "flip") for r in rules}
    for k in val:
        vol, gt = data[k]
        probs = {"plain": [B.predict_volume(n, vol, context=c) for n, c, _ in nets]}
        probs["flip"] = [predict_tta(n, c, vol) for n, c, _ in nets]
        for t, ps in probs.items():
            for n, pr in zip(names, ps + [np.mean(ps, 0)]):
                for r, rule in rules.items():
                    res[(n, t, r)].append(B.dice(rule(pr > 0.5), gt.astype(bool)))
        print("  %-24s %s" % (k, " ".join("%s %.3f" % (n, res[(n, "flip", "largest")][-1]) for n in names)), flush=True)
    for key, v in res.items():
        print("%-5s %-5s %-9s mean %.4f median %.4f min %.3f" % (key + (np.mean(v), np.median(v), np.min(v))))


if __name__ == "__main__":
    main()
