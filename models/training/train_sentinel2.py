#!/usr/bin/env python3
"""Train `landcover-sentinel2-korea`: U-Net on Sentinel-2 10 m RGB patches (South Jeolla, Korea), softmax over
5 channels: 0 = other (sea and other water, bare ground, everything not in the four classes; the data's
"background"), 1 building, 2 road, 3 field, 4 forest. The app shows channel 0 as "no class" (backgroundChannel).

Data: /work/shared/data/landcover-sentinel2-korea/images/<YYYYMM>_patchN_<k>.tif (RGB uint8, 512x512, 10 m,
EPSG:32652) + labels/<YYYYMM>_mask_<k>.tif (class index 0..4), read in place with GDAL.
Validation = the patches whose footprints overlap no other patch (splits/sentinel2_val.txt): patches of one place
at two dates, or overlapping patches of one date, stay on one side of the split.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

MODEL_ID = "landcover-sentinel2-korea"
DATA = os.path.join(C.DATA_ROOT, "landcover-sentinel2-korea")
SPLIT = os.path.join(C.HERE, "splits", "sentinel2_val.txt")
NCLS = 5     # including "other" (channel 0)
CROP = 192
M_PER_PX = 10.0
COLOURS = ["#d9d9d9", "#e31a1c", "#404040", "#ffd92f", "#1a9850"]


def label_name(stem):
    return stem.replace("_patchN_", "_mask_")


def footprint(ds):
    g = ds.GetGeoTransform()
    return (g[0], g[3] + g[5] * ds.RasterYSize, g[0] + g[1] * ds.RasterXSize, g[3])


def overlap_groups(boxes):
    """Groups of patches joined by overlapping footprints (union-find)."""
    parent = {n: n for n in boxes}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x
    names = sorted(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            A, B = boxes[a], boxes[b]
            if A[0] < B[2] and B[0] < A[2] and A[1] < B[3] and B[1] < A[3]:
                parent[find(a)] = find(b)
    groups = {}
    for n in names:
        groups.setdefault(find(n), []).append(n)
    return sorted(groups.values(), key=lambda g: (len(g), g))


def load():
    from osgeo import gdal
    names = sorted(f[:-4] for f in os.listdir(os.path.join(DATA, "images")) if f.endswith(".tif"))
    img, lab, boxes = {}, {}, {}
    for n in names:
        ds = gdal.Open(os.path.join(DATA, "images", n + ".tif"))
        img[n] = ds.ReadAsArray()  # (3, H, W) uint8
        boxes[n] = footprint(ds)
        lab[n] = gdal.Open(os.path.join(DATA, "labels", label_name(n) + ".tif")).ReadAsArray().astype(np.int64)
    if not os.path.exists(SPLIT):
        val = sorted(g[0] for g in overlap_groups(boxes) if len(g) == 1)
        with open(SPLIT, "w") as f:
            f.write("# landcover-sentinel2-korea validation patches: every patch whose footprint overlaps no other patch\n")
            f.write("# (groups of overlapping patches, within and across dates, stay whole on the training side)\n")
            f.write("\n".join(val) + "\n")
    val = [l.strip() for l in open(SPLIT) if l.strip() and not l.startswith("#")]
    classes = json.load(open(os.path.join(DATA, "classes.json")))
    return names, val, img, lab, classes


def confusion(pred, gt):
    return np.bincount(gt.ravel() * NCLS + pred.ravel(), minlength=NCLS * NCLS).reshape(NCLS, NCLS)


def main():
    p = C.add_common_args(argparse.ArgumentParser(description=__doc__), steps=1000, batch=16, lr=2e-3,
                          eval_every=200)
    args = p.parse_args()
    log = C.Logger(C.log_path("sentinel2.log"))
    names, val, img, lab, classes = load()
    train = [n for n in names if n not in val]
    class_names = [classes[str(i)]["name"] for i in range(NCLS)]
    X = torch.from_numpy(np.stack([img[n] for n in train]).astype(np.float32))
    Y = torch.from_numpy(np.stack([lab[n] for n in train]))
    mean = [round(float(v), 2) for v in X.mean((0, 2, 3))]
    std = [round(float(v), 2) for v in X.std((0, 2, 3))]
    freq = np.bincount(Y.numpy().ravel(), minlength=NCLS) / float(Y.numel())
    w = freq ** -0.5
    w = torch.tensor(w / w.mean(), dtype=torch.float32)
    log("sentinel2 data: %d patches (%d train / %d val: %s); mean %s std %s; class freq %s; CE weights %s"
        % (len(names), len(train), len(val), val, mean, std, np.round(freq, 4).tolist(), np.round(w.numpy(), 2).tolist()))
    m_t, s_t = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)

    def normalise(x):
        return (x - m_t) / s_t

    def sample_batch(step, bs):
        xs, ys = [], []
        H, W = X.shape[2], X.shape[3]
        for _ in range(bs):
            i = int(torch.randint(len(train), (1,)))
            r0, c0 = int(torch.randint(H - CROP + 1, (1,))), int(torch.randint(W - CROP + 1, (1,)))
            xi, yi = X[i, :, r0:r0 + CROP, c0:c0 + CROP], Y[i, r0:r0 + CROP, c0:c0 + CROP]
            xi, yi = C.random_dihedral(xi, yi)
            xs.append(xi)
            ys.append(yi)
        return normalise(C.rgb_jitter(torch.stack(xs), 6)), torch.stack(ys)

    def loss_fn(logits, y):
        ce = F.cross_entropy(logits, y, weight=w)
        prob = torch.softmax(logits, 1)
        oh = F.one_hot(y, NCLS).permute(0, 3, 1, 2).float()
        inter = (prob * oh).sum((0, 2, 3))
        den = prob.sum((0, 2, 3)) + oh.sum((0, 2, 3))
        dice = 1 - ((2 * inter + 1) / (den + 1)).mean()
        return ce + 0.5 * dice

    @torch.no_grad()
    def evaluate(net):
        cm = np.zeros((NCLS, NCLS), np.int64)
        for n in val:
            x = torch.from_numpy(img[n].astype(np.float32))[None]
            pred = net(C.to_cl(normalise(x))).argmax(1)[0].numpy()
            cm += confusion(pred, lab[n])
        m = C.iou_metrics(cm, class_names)
        # The mean over the four classes (channel 0, "other", left out) goes second, as in the committed manifest.
        four = float(np.mean([m["IoU_" + n] for n in class_names[1:]]))
        return {"mIoU": m.pop("mIoU"), "mIoU_4_classes": four, **m}

    def export(net, state, metrics):
        pick = C.pick_floats
        manifest = {
            "id": MODEL_ID,
            "name": "Land cover (Sentinel-2 10 m RGB: building, road, field, forest)",
            "version": "1.0.0",
            "task": "semantic",
            "kinds": ["geo", "image"],
            "sensor": "Sentinel-2 RGB (B4, B3, B2 as 8-bit)",
            "file": "model.onnx",
            "input": {"name": "input", "channels": ["R", "G", "B"], "layout": "NCHW", "dtype": "float32",
                      "sliceMode": "2d"},
            "normalization": {"type": "fixed", "mean": mean, "std": std},
            "tileSize": [256, 256],
            "tileOverlap": 0.25,
            "resolution": {"mmPerPx": None, "mPerPx": M_PER_PX},
            "testTimeFlips": ["x", "y"],
            "classes": [{"name": n, "color": c} for n, c in zip(class_names[1:], COLOURS[1:])],
            "outputs": {"name": "output", "type": "softmax", "threshold": None, "backgroundChannel": True,
                        "classChannels": list(range(1, NCLS)), "boundaryChannel": None, "distanceChannel": None},
            "license": "MIT (minuex/Satellite-Land-Cover-Segmentation); imagery Copernicus Sentinel-2 open data",
            "card": "README.md",
            "training": {
                "data": "landcover-sentinel2-korea (32 Sentinel-2 10 m RGB patches of 512x512, South Jeolla; %d train / %d validation patches that overlap no other: models/training/splits/sentinel2_val.txt)" % (len(train), len(val)),
                "steps": int(state["step"]),
                "seconds": int(round(state["seconds"])),
                "validation": {
                    "source": "Python training-time validation (IoU of the 5 channels incl. other, whole 512x512 patches, argmax, no flips, EMA weights)",
                    "patches": len(val),
                    "final": pick(metrics),
                    "baseline": pick(state["baseline"]),
                },
            },
        }
        meta = C.deepness_meta(class_names, tile=256, overlap_frac=0.25, resolution_cm=M_PER_PX * 100, mean=mean, std=std)
        C.export_onnx(net, 3, "softmax", os.path.join(C.MODELS_DIR, MODEL_ID, "model.onnx"), manifest, meta)
        C.write_manifest(MODEL_ID, manifest)
        with open(C.log_path("sentinel2_val_metrics.json"), "w") as f:
            json.dump({"final": metrics, "baseline": state["baseline"], "history": state["history"]}, f, indent=1)

    C.run_training(MODEL_ID, args, lambda: C.UNet(3, NCLS, (16, 32, 64, 128, 192)), sample_batch, loss_fn,
                   evaluate, export, log, "mIoU")


if __name__ == "__main__":
    main()
