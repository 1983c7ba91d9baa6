#!/usr/bin/env python3
"""Train `buildings-joplin`: U-Net on 0.6 m RGB aerial tiles, two sigmoid channels:
channel 0 = building, channel 1 = inner instance boundary (instance pixels within BOUNDARY_PX (Chebyshev)
of a pixel with another value: background or another building). Instances = marker-based watershed
with markers = building & not boundary (see `instances()`).

Data: /work/shared/data/buildings-joplin/images/<tile>.tif (RGB uint8) + instances/<tile>.tif (uint16 ids),
read in place with GDAL. Validation = one fixed 512x512 quadrant per tile (splits/buildings_val.txt);
training = random 256x256 crops that do not overlap the validation quadrant.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

MODEL_ID = "buildings-joplin"
DATA = os.path.join(C.DATA_ROOT, "buildings-joplin")
SPLIT = os.path.join(C.HERE, "splits", "buildings_val.txt")
IGNORE = os.path.join(C.HERE, "splits", "buildings_ignore.txt")
SHIFT = os.path.join(C.HERE, "splits", "buildings_label_shift.txt")
MEAN = [133.3, 131.3, 113.8]   # RGB, raw 0-255, training pixels of the 3 tiles (val quadrants excluded)
STD = [36.8, 33.6, 30.2]
BOUNDARY_PX = 2
GAP_W0, GAP_SIGMA = 10.0, 3.0  # U-Net separation weight on background between nearby buildings (px)
MIN_AREA = 10                  # px; reference instances smaller than this inside the region are ignored
M_PER_PX = 0.6
# Minimum mapping unit of the footprints: 98-99 % of them cover >= 80 px (29 m²) on all three tiles (the rest are
# clipped by a tile edge), so predicted objects under 25 m² are not buildings in this labelling. The manifest asks
# the app to drop them (postprocess.minObjectAreaM2), and validation does the same.
MIN_OBJECT_M2 = 25.0
MIN_OBJECT_PX = int(np.ceil(MIN_OBJECT_M2 / (M_PER_PX * M_PER_PX) - 1e-9))
# Test-time flips the manifest asks for (the app averages the identity and these mirrored runs) and footprint
# regularisation (objects filling >= this fraction of their minimum-area rectangle become that rectangle), both
# applied by validation as the app applies them.
TTA_FLIPS = ("x", "y", "xy")
REGULARIZE_MIN_FILL = 0.6
CROP = 256
# default validation quadrants (row0, col0, size): see README / splits file for the reasoning
DEFAULT_VAL = {"tile_1361-10160": (512, 512, 512), "tile_1361-9136": (512, 0, 512), "tile_337-10160": (0, 0, 512)}


def read_split():
    if not os.path.exists(SPLIT):
        with open(SPLIT, "w") as f:
            f.write("# buildings-joplin validation regions: tile row0 col0 size (pixels, row/col of the top-left corner)\n")
            f.write("# one 512x512 quadrant per tile; training uses 256x256 crops that do not overlap these regions\n")
            for t, (r, c, s) in DEFAULT_VAL.items():
                f.write("%s %d %d %d\n" % (t, r, c, s))
    val = {}
    for l in open(SPLIT):
        if l.strip() and not l.startswith("#"):
            t, r, c, s = l.split()
            val[t] = (int(r), int(c), int(s))
    return val


def read_shift():
    """(dy, dx) that moves the footprints onto the roofs (splits/buildings_label_shift.txt)."""
    for l in open(SHIFT):
        if l.strip() and not l.startswith("#"):
            dy, dx = l.split()[:2]
            return int(dy), int(dx)
    raise SystemExit("%s holds no shift" % SHIFT)


def shifted(a, dy, dx):
    """a moved by dy rows and dx columns (positive = down / right); uncovered pixels are 0."""
    out = np.zeros_like(a)
    h, w = a.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = a[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def read_ignore():
    """Training areas whose footprints visibly do not describe the image (houses without any footprint,
    outlines of a different layout): tile -> list of (row0, col0, rows, cols). Excluded from the loss only;
    validation regions are never listed here."""
    out = {}
    if os.path.exists(IGNORE):
        for l in open(IGNORE):
            if l.strip() and not l.startswith("#"):
                t, r, c, h, w = l.split()[:5]
                out.setdefault(t, []).append((int(r), int(c), int(h), int(w)))
    return out


def separation_weight(ins, w0=GAP_W0, sigma=GAP_SIGMA, reach=12):
    """Ronneberger et al. (2015) border weight: background pixels between two buildings get
    1 + w0 * exp(-(d1 + d2)^2 / (2 sigma^2)), d1/d2 = distance to the nearest / second-nearest building."""
    big = 1e6
    d1 = np.full(ins.shape, big, np.float32)
    d2 = np.full(ins.shape, big, np.float32)
    objs = ndimage.find_objects(ins)
    for i, sl in enumerate(objs):
        if sl is None:
            continue
        r0, r1 = max(sl[0].start - reach, 0), min(sl[0].stop + reach, ins.shape[0])
        c0, c1 = max(sl[1].start - reach, 0), min(sl[1].stop + reach, ins.shape[1])
        d = ndimage.distance_transform_edt(ins[r0:r1, c0:c1] != i + 1).astype(np.float32)
        a, b = d1[r0:r1, c0:c1], d2[r0:r1, c0:c1]
        b[:] = np.where(d < a, a, np.minimum(b, d))
        a[:] = np.minimum(a, d)
    w = 1 + w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma ** 2))
    return np.where(ins > 0, 1.0, w).astype(np.float32)


def load():
    from osgeo import gdal
    tiles = sorted(f[:-4] for f in os.listdir(os.path.join(DATA, "images")) if f.endswith(".tif"))
    img, ins = {}, {}
    for t in tiles:
        img[t] = gdal.Open(os.path.join(DATA, "images", t + ".tif")).ReadAsArray()  # (3,H,W) uint8
        ins[t] = gdal.Open(os.path.join(DATA, "instances", t + ".tif")).ReadAsArray().astype(np.int32)
    return tiles, img, ins


def boundary_map(ins, width=BOUNDARY_PX):
    """Instance pixels that have a pixel of a different value (bg or another id) within `width` (Chebyshev)."""
    size = 2 * width + 1
    mx = ndimage.maximum_filter(ins, size=size, mode="nearest")
    mn = ndimage.minimum_filter(ins, size=size, mode="nearest")
    return (ins > 0) & ((mx != ins) | (mn != ins))


def instances(prob_b, prob_e, thr=0.5, min_area=MIN_OBJECT_PX):
    """Marker-based watershed: markers = building & not boundary; flood the building mask on the boundary prob.
    Building components without a marker become instances of their own."""
    from skimage.segmentation import watershed
    mask = prob_b > thr
    markers, n = ndimage.label(mask & (prob_e < thr))
    lab = watershed(prob_e, markers, mask=mask) if n else np.zeros(mask.shape, np.int32)
    rest, m = ndimage.label(mask & (lab == 0))
    lab = np.where(rest > 0, rest + lab.max(), lab)
    return relabel_min_area(lab, min_area)


def min_area_rectangle(hull):
    """(centre, unit side u, half sides (hu, hv), area) of the minimum-area rectangle around a convex polygon."""
    best = None
    n = len(hull)
    for i in range(n):
        e = hull[(i + 1) % n] - hull[i]
        u = e / max(np.hypot(*e), 1e-12)
        v = np.array([-u[1], u[0]])
        pu, pv = hull @ u, hull @ v
        area = (pu.max() - pu.min()) * (pv.max() - pv.min())
        if best is None or area < best[3] - 1e-9:
            mu, mv = (pu.max() + pu.min()) / 2, (pv.max() + pv.min()) / 2
            best = (mu * u + mv * v, u, ((pu.max() - pu.min()) / 2, (pv.max() - pv.min()) / 2), area)
    return best


def regularize_rectangles(lab, min_fill=REGULARIZE_MIN_FILL):
    """Each object filling >= min_fill of its minimum-area rectangle (hull of its pixel corners) grows to the pixels
    whose centres that rectangle covers, taking background only; reference for main/engine/postprocess/regularize.ts."""
    from scipy.spatial import ConvexHull
    out = lab.copy()
    for i, sl in enumerate(ndimage.find_objects(lab)):
        if sl is None:
            continue
        ys, xs = np.nonzero(lab[sl] == i + 1)
        ys, xs = ys + sl[0].start, xs + sl[1].start
        corners = np.concatenate([np.stack([xs + a, ys + b], 1) for a in (0, 1) for b in (0, 1)]).astype(np.float64)
        hull = corners[ConvexHull(corners).vertices]
        c, u, (hu, hv), area = min_area_rectangle(hull)
        if len(xs) / area < min_fill:
            continue
        v = np.array([-u[1], u[0]])
        ex, ey = hu * abs(u[0]) + hv * abs(v[0]), hu * abs(u[1]) + hv * abs(v[1])
        r0, r1 = max(int(np.floor(c[1] - ey)), 0), min(int(np.ceil(c[1] + ey)), lab.shape[0] - 1)
        c0, c1 = max(int(np.floor(c[0] - ex)), 0), min(int(np.ceil(c[0] + ex)), lab.shape[1] - 1)
        yy, xx = np.mgrid[r0:r1 + 1, c0:c1 + 1]
        d = np.stack([xx + 0.5 - c[0], yy + 0.5 - c[1]], -1)
        inside = (np.abs(d @ u) <= hu + 1e-9) & (np.abs(d @ v) <= hv + 1e-9)
        win = out[r0:r1 + 1, c0:c1 + 1]
        win[inside & (win == 0)] = i + 1
    return out


def predict_flips(net, x, flips=TTA_FLIPS):
    """Sigmoid outputs averaged over the identity and the mirrored runs (x = columns, y = rows, xy = both)."""
    dims = {"x": (3,), "y": (2,), "xy": (2, 3)}
    acc = torch.sigmoid(net(C.to_cl(x)))
    for f in flips:
        acc = acc + torch.sigmoid(net(C.to_cl(x.flip(dims[f])))).flip(dims[f])
    return acc / (len(flips) + 1)


def relabel_min_area(lab, min_area):
    ids, cnt = np.unique(lab, return_counts=True)
    keep = ids[(ids > 0) & (cnt >= min_area)]
    lut = np.zeros(lab.max() + 1, np.int32)
    lut[keep] = np.arange(1, len(keep) + 1)
    return lut[lab]


def match_f1(pred, gt, iou_thr=0.5):
    """Instance matching at IoU > iou_thr (one-to-one is implied for IoU > 0.5). Returns tp, fp, fn."""
    npred, ngt = pred.max(), gt.max()
    if npred == 0 or ngt == 0:
        return 0, int(npred), int(ngt)
    v = (pred > 0) & (gt > 0)
    inter = np.bincount(pred[v].astype(np.int64) * (ngt + 1) + gt[v], minlength=(npred + 1) * (ngt + 1))
    inter = inter.reshape(npred + 1, ngt + 1)
    ap = np.bincount(pred.ravel(), minlength=npred + 1)
    ag = np.bincount(gt.ravel(), minlength=ngt + 1)
    iou = inter / np.maximum(ap[:, None] + ag[None, :] - inter, 1)
    iou[0, :] = 0
    iou[:, 0] = 0
    tp = int((iou.max(1) > iou_thr).sum())
    return tp, int(npred) - tp, int(ngt) - tp


def normalise(x):
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def main():
    p = C.add_common_args(argparse.ArgumentParser(description=__doc__), steps=600, batch=16, lr=2e-3,
                          eval_every=150)
    p.add_argument("--registered", action="store_true",
                   help="train on the footprints moved onto the roofs by splits/buildings_label_shift.txt")
    args = p.parse_args()
    log = C.Logger(C.log_path("buildings.log"))
    tiles, img, raw = load()
    val = read_split()
    dy, dx = read_shift()
    reg = {t: shifted(raw[t], dy, dx) for t in tiles}
    ins = reg if args.registered else raw  # training targets
    log("training targets: %s" % ("footprints moved by (%d, %d) px (registered)" % (dy, dx) if args.registered
                                  else "footprints as given"))
    bnd = {t: boundary_map(ins[t]) for t in tiles}
    H = W = 1024

    def region_gt(src, t, r, c, s):
        g = src[t][r:r + s, c:c + s]
        return relabel_min_area(np.unique(g, return_inverse=True)[1].reshape(g.shape).astype(np.int32), MIN_AREA)
    gt_val = {t: region_gt(raw, t, *v) for t, v in val.items()}
    gt_reg = {t: region_gt(reg, t, *v) for t, v in val.items()}
    log("buildings data: %d tiles; val regions %s; val GT instances (>= %d px) %s"
        % (len(tiles), val, MIN_AREA, {t: int(g.max()) for t, g in gt_val.items()}))
    Ximg = {t: torch.from_numpy(img[t].astype(np.float32)) for t in tiles}
    ignore = read_ignore()
    weight = {}
    for t in tiles:
        w = separation_weight(ins[t])
        for r, c, h, wd in ignore.get(t, []):
            w[r:r + h, c:c + wd] = 0
        weight[t] = w
    log("ignored training areas (no loss): %s; separation weight w0 %g sigma %g px"
        % ({t: v for t, v in ignore.items()}, GAP_W0, GAP_SIGMA))
    # channels: building, boundary, loss weight (0 = ignored area)
    Ytgt = {t: torch.from_numpy(np.stack([ins[t] > 0, bnd[t], weight[t]]).astype(np.float32)) for t in tiles}

    def sample_batch(step, bs):
        xs, ys = [], []
        while len(xs) < bs:
            t = tiles[int(torch.randint(len(tiles), (1,)))]
            r0, c0 = (int(v) for v in torch.randint(H - CROP + 1, (2,)))
            vr, vc, vs = val[t]
            if r0 < vr + vs and r0 + CROP > vr and c0 < vc + vs and c0 + CROP > vc:
                continue  # overlaps the validation quadrant
            if float((Ytgt[t][2, r0:r0 + CROP, c0:c0 + CROP] > 0).float().mean()) < 0.4:
                continue  # mostly in areas without usable footprints
            xi, yi = Ximg[t][:, r0:r0 + CROP, c0:c0 + CROP], Ytgt[t][:, r0:r0 + CROP, c0:c0 + CROP]
            xi, yi = C.random_dihedral(xi, yi)
            xs.append(xi)
            ys.append(yi)
        return normalise(C.rgb_jitter(torch.stack(xs), 8)), torch.stack(ys)

    def loss_fn(logits, y):
        w = y[:, 2]
        valid = (w > 0).float()
        nv = valid.sum().clamp(min=1)
        bce = F.binary_cross_entropy_with_logits(logits, y[:, :2], reduction="none")
        bce0 = (bce[:, 0] * w).sum() / nv
        bce1 = (bce[:, 1] * valid).sum() / nv
        pr = torch.sigmoid(logits) * valid[:, None]
        d0 = C.soft_dice_loss(pr[:, 0], y[:, 0] * valid)
        d1 = C.soft_dice_loss(pr[:, 1], y[:, 1] * valid)
        return bce0 + d0 + bce1 + 0.5 * d1

    @torch.no_grad()
    def evaluate(net):
        """Against the footprints as given (the headline figure) and moved onto the roofs ("_registered")."""
        n = {"raw": [0, 0, 0, 0, 0], "registered": [0, 0, 0, 0, 0]}  # tp fp fn inter union
        for t, (r, c, s) in val.items():
            x = Ximg[t][None, :, r:r + s, c:c + s]
            pr = predict_flips(net, normalise(x))[0].numpy()
            lab = regularize_rectangles(instances(pr[0], pr[1]))
            for key, gts, src in (("raw", gt_val, raw), ("registered", gt_reg, reg)):
                a, b_, c_ = match_f1(lab, gts[t])
                g = src[t][r:r + s, c:c + s] > 0
                for i, v in enumerate((a, b_, c_, int(((pr[0] > 0.5) & g).sum()), int(((pr[0] > 0.5) | g).sum()))):
                    n[key][i] += v
        out = {}
        for key, (tp, fp, fn, inter, union) in n.items():
            sfx = "" if key == "raw" else "_registered"
            out.update({"F1_iou50" + sfx: float(2 * tp / max(2 * tp + fp + fn, 1)),
                        "precision" + sfx: float(tp / max(tp + fp, 1)), "recall" + sfx: float(tp / max(tp + fn, 1)),
                        "building_IoU" + sfx: float(inter / max(union, 1)), "tp" + sfx: tp, "fp" + sfx: fp,
                        "fn" + sfx: fn})
        return out

    def export(net, state, metrics):
        def pick(m):
            return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()
                    if isinstance(v, (float, int)) and k != "step"} if m else None
        manifest = {
            "id": MODEL_ID,
            "name": "Building footprints (0.6 m aerial RGB, Joplin)",
            "version": "1.1.0",
            "task": "instance",
            "kinds": ["geo", "image"],
            "sensor": "RGB aerial",
            "file": "model.onnx",
            "input": {"name": "input", "channels": ["R", "G", "B"], "layout": "NCHW", "dtype": "float32",
                      "sliceMode": "2d"},
            "normalization": {"type": "fixed", "mean": MEAN, "std": STD},
            "tileSize": [256, 256],
            "tileOverlap": 0.25,
            "resolution": {"mmPerPx": None, "mPerPx": M_PER_PX},
            "testTimeFlips": list(TTA_FLIPS),
            "postprocess": {"minObjectAreaM2": MIN_OBJECT_M2,
                            "regularize": {"shape": "rectangle", "minFill": REGULARIZE_MIN_FILL}},
            "classes": [{"name": "building", "color": "#ff9500"}],
            "outputs": {"name": "output", "type": "sigmoid", "threshold": 0.5, "backgroundChannel": False,
                        "classChannels": [0], "boundaryChannel": 1, "distanceChannel": None},
            "license": "MIT (xView2-deploy repo; footprints machine-made, Microsoft ML footprints style, upstream ODbL; research use)",
            "card": "README.md",
            "training": {
                "data": "buildings-joplin (3 pre-disaster 1024x1024 0.6 m tiles, xView2-deploy test data; validation = one 512x512 quadrant per tile: models/training/splits/buildings_val.txt)",
                "labels": ("footprints moved by (%d, %d) px onto the roofs (splits/buildings_label_shift.txt) in the "
                           "last stage; areas without usable footprints left out of the loss "
                           "(splits/buildings_ignore.txt)" % (dy, dx)) if args.registered else
                          "footprints as given; areas without usable footprints left out of the loss "
                          "(splits/buildings_ignore.txt)",
                "steps": int(state["step"]),
                "seconds": int(round(state["seconds"])),
                "validation": {
                    "source": "Python training-time validation (instance F1 at IoU>0.5, flips %s averaged, marker watershed, reference instances >= %d px, predicted objects >= %g m2 = %d px, rectangles where fill >= %g, EMA weights)" % ("/".join(TTA_FLIPS), MIN_AREA, MIN_OBJECT_M2, MIN_OBJECT_PX, REGULARIZE_MIN_FILL),
                    "regions": len(val),
                    "final": pick(metrics),
                    "baseline": pick(state["baseline"]),
                    # the baseline is the first run's early evaluation, whatever the schedule has grown to since
                    "baseline_label": "baseline (step %s of the first 600-step run)" % (state["baseline"] or {}).get("step"),
                },
            },
        }
        meta = C.deepness_meta(["building", "building boundary"], tile=256, overlap_frac=0.25, resolution_cm=60,
                               mean=MEAN, std=STD, seg_thresh=0.5)
        C.export_onnx(net, 3, "sigmoid", os.path.join(C.MODELS_DIR, MODEL_ID, "model.onnx"), manifest, meta)
        C.write_manifest(MODEL_ID, manifest)
        with open(C.log_path("buildings_val_metrics.json"), "w") as f:
            json.dump({"final": metrics, "baseline": state["baseline"], "history": state["history"]}, f, indent=1)

    C.run_training(MODEL_ID, args, lambda: C.UNet(3, 2, (16, 32, 64, 128, 192)), sample_batch, loss_fn,
                   evaluate, export, log, "F1_iou50")


if __name__ == "__main__":
    main()
