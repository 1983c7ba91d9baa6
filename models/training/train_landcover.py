#!/usr/bin/env python3
"""Train `landcover-deepglobe`: U-Net on RGB DeepGlobe tiles (~4.8 m/px), softmax over 6 land-cover classes.

Data: /work/shared/data/landcover-deepglobe/images/NNNN.jpg + masks/NNNN.png (read in place).
Label 0 (unknown) is ignored; output channel c <-> label c+1 (urban, agriculture, rangeland, forest, water, barren).
Normalisation: fixed per-channel mean/std on raw 0-255 RGB (computed once on the 205 training tiles).
"""
import argparse
import json
import os
import random
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

MODEL_ID = "landcover-deepglobe"
DATA = os.path.join(C.DATA_ROOT, "landcover-deepglobe")
SPLIT = os.path.join(C.HERE, "splits", "landcover_val.txt")
N_VAL = 45
MEAN = [104.69, 96.78, 71.71]   # RGB, raw 0-255, training tiles
STD = [32.90, 25.35, 23.36]
NCLS = 6


def load():
    names = sorted(f[:-4] for f in os.listdir(os.path.join(DATA, "images")) if f.endswith(".jpg"))
    if os.path.exists(SPLIT):
        val = [l.strip() for l in open(SPLIT) if l.strip() and not l.startswith("#")]
    else:
        val = sorted(random.Random(1234).sample(names, N_VAL))
        with open(SPLIT, "w") as f:
            f.write("# landcover-deepglobe validation tiles (random.Random(1234).sample of the 250 sorted stems, n=%d)\n" % N_VAL)
            f.write("\n".join(val) + "\n")
    img = {n: np.array(Image.open(os.path.join(DATA, "images", n + ".jpg")).convert("RGB")) for n in names}
    msk = {n: np.array(Image.open(os.path.join(DATA, "masks", n + ".png"))) for n in names}
    classes = json.load(open(os.path.join(DATA, "classes.json")))
    return names, val, img, msk, classes


def normalise(x):
    """x: (N,3,H,W) float raw 0-255 -> normalised."""
    m = torch.tensor(MEAN).view(1, 3, 1, 1)
    s = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - m) / s


def confusion(pred, gt):
    """pred: 0..5, gt: 0..6 (0 ignored) -> 6x6 counts."""
    v = gt > 0
    return np.bincount((gt[v].astype(np.int64) - 1) * NCLS + pred[v], minlength=NCLS * NCLS).reshape(NCLS, NCLS)


def main():
    p = C.add_common_args(argparse.ArgumentParser(description=__doc__), steps=600, batch=16, lr=2e-3,
                          eval_every=200)
    args = p.parse_args()
    log = C.Logger(C.log_path("landcover.log"))
    names, val, img, msk, classes = load()
    train = [n for n in names if n not in val]
    class_names = [classes[str(i)]["name"] for i in range(1, NCLS + 1)]
    colours = [classes[str(i)]["colour_hex"].lower() for i in range(1, NCLS + 1)]
    X = torch.from_numpy(np.stack([img[n] for n in train])).permute(0, 3, 1, 2).contiguous()  # uint8
    Y = torch.from_numpy(np.stack([msk[n] for n in train]).astype(np.int64) - 1)  # -1 = ignore
    freq = np.bincount(Y[Y >= 0].numpy(), minlength=NCLS) / float((Y >= 0).sum())
    w = freq ** -0.5
    w = torch.tensor(w / w.mean(), dtype=torch.float32)
    log("landcover data: %d tiles (%d train / %d val); class freq %s; CE weights %s"
        % (len(names), len(train), len(val), np.round(freq, 3).tolist(), np.round(w.numpy(), 2).tolist()))

    def sample_batch(step, bs):
        idx = torch.randint(len(train), (bs,))
        x = X[idx].float()
        y = Y[idx]
        pairs = [C.random_dihedral(x[i], y[i]) for i in range(bs)]  # random dihedral transform per sample
        x, y = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
        return normalise(C.rgb_jitter(x, 8)), y

    def loss_fn(logits, y):
        ce = F.cross_entropy(logits, y, weight=w, ignore_index=-1)
        prob = torch.softmax(logits, 1)
        valid = (y >= 0).unsqueeze(1).float()
        oh = F.one_hot(y.clamp(min=0), NCLS).permute(0, 3, 1, 2).float() * valid
        prob = prob * valid
        inter = (prob * oh).sum((0, 2, 3))
        den = prob.sum((0, 2, 3)) + oh.sum((0, 2, 3))
        dice = 1 - ((2 * inter + 1) / (den + 1)).mean()
        return ce + 0.5 * dice

    @torch.no_grad()
    def evaluate(net):
        cm = np.zeros((NCLS, NCLS), np.int64)
        for i in range(0, len(val), 16):
            ns = val[i:i + 16]
            x = torch.from_numpy(np.stack([img[n] for n in ns])).permute(0, 3, 1, 2).float()
            pred = net(C.to_cl(normalise(x))).argmax(1).numpy()
            for j, n in enumerate(ns):
                cm += confusion(pred[j], msk[n])
        return C.iou_metrics(cm, class_names)

    def export(net, state, metrics):
        pick = C.pick_floats
        manifest = {
            "id": MODEL_ID,
            "name": "Land cover (DeepGlobe classes, ~4.8 m/px RGB)",
            "version": "1.0.0",
            "task": "semantic",
            "kinds": ["geo", "image"],
            "sensor": "RGB satellite",
            "file": "model.onnx",
            "input": {"name": "input", "channels": ["R", "G", "B"], "layout": "NCHW", "dtype": "float32",
                      "sliceMode": "2d"},
            "normalization": {"type": "fixed", "mean": MEAN, "std": STD},
            "tileSize": [256, 256],
            "tileOverlap": 0.25,
            "resolution": {"mmPerPx": None, "mPerPx": 4.8},
            "testTimeFlips": ["x", "y"],
            "classes": [{"name": n, "color": c} for n, c in zip(class_names, colours)],
            "outputs": {"name": "output", "type": "softmax", "threshold": None, "backgroundChannel": False,
                        "classChannels": list(range(NCLS)), "boundaryChannel": None, "distanceChannel": None},
            "license": "DeepGlobe 2018 challenge terms (not stated in source repo; research use)",
            "card": "README.md",
            "training": {
                "data": "landcover-deepglobe (250-tile downscaled subset of DeepGlobe 2018 land cover; %d train / %d validation tiles: models/training/splits/landcover_val.txt)" % (len(train), len(val)),
                "steps": int(state["step"]),
                "seconds": int(round(state["seconds"])),
                "validation": {
                    "source": "Python training-time validation (mIoU over the 6 classes, label 0 ignored, argmax, EMA weights)",
                    "tiles": len(val),
                    "final": pick(metrics),
                    "baseline": pick(state["baseline"]),
                },
            },
        }
        meta = C.deepness_meta(class_names, tile=256, overlap_frac=0.25, resolution_cm=480, mean=MEAN, std=STD)
        C.export_onnx(net, 3, "softmax", os.path.join(C.MODELS_DIR, MODEL_ID, "model.onnx"), manifest, meta)
        C.write_manifest(MODEL_ID, manifest)
        with open(C.log_path("landcover_val_metrics.json"), "w") as f:
            json.dump({"final": metrics, "baseline": state["baseline"], "history": state["history"]}, f, indent=1)

    C.run_training(MODEL_ID, args, lambda: C.UNet(3, NCLS, (16, 32, 64, 128, 192)), sample_batch, loss_fn,
                   evaluate, export, log, "mIoU")


if __name__ == "__main__":
    main()
