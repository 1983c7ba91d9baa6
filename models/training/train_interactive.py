#!/usr/bin/env python3
"""Train the click-conditioned interactive models (Xu et al. 2016; RITM, Sofiiuk et al. 2021):
  --domain brain -> `interactive-brain-flair`: FLAIR slices of tumor-lgg-flair (CC BY-NC-SA: non-commercial);
  --domain geo   -> `interactive-geo-rgb`: Joplin buildings, DeepGlobe and Sentinel-2 Korea land cover (no LGG data).

Input (C + 3, S, S): image channels of the zoomed crop, positive click disks, negative click disks, previous mask;
output: one sigmoid channel, the object inside the crop. The crop, click and evaluation rules live in
interactive_common.py (the same rules the app's engine applies). Training per batch: a first click deep inside each
object (jittered), then 0-3 corrective rounds without gradient (the model's own prediction through the full click
step, a click at the deepest point of the larger error region), then one gradient step on the last state.
Validation uses the committed splits of the shipped models (splits/*.txt); nothing there is trained on.
"""
import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import interactive_common as I  # noqa: E402

# The widths of the shipped automatic models, so that a run can start from their weights (--init).
WIDTHS = (16, 32, 64, 128, 192)
# Warm starts: the automatic model of the same data (its validation split is the same, so nothing leaks).
INIT = {"brain": "brain-flair-lgg", "geo": "buildings-joplin"}
IDS = {"brain": "interactive-brain-flair", "geo": "interactive-geo-rgb"}
PARAMS = {
    # Propagate's stop rule: fitted on training patients (analyse_interactive_brain.py --fit-stop), see the card.
    # testTimeFlips: the left-right flip averaged (the app runs it in the same batch, make_predict in a second call);
    # chosen on the validation half of the 16 patients (analyse_interactive_brain.py --only-validation-half), see the
    # card.
    # refinePasses / refineFirstOnly: a first click runs once more with its own mask as the previous mask (the crop
    # zooms in on the object); chosen on the validation half (analyse_interactive_brain.py --refine 1
    # --refine-first-only), see the card.
    # clickLevelSetMin: a click the outline contradicts is honoured through the model's own probability (the level
    # set at the click); chosen on 30 training patients and the validation half (geo: on its validation objects),
    # see the cards.
    "brain": dict(I.DEFAULTS, firstCropPx=128, minCropPx=48, testTimeFlips=["x"], refinePasses=1, refineFirstOnly=True,
                  clickLevelSetMin=0.01,
                  propagateStop={"minContrast": 1.05, "minRelativeIntensity": 0.75, "ringPx": 4}),
    "geo": dict(I.DEFAULTS, firstCropPx=96, minCropPx=48, clickLevelSetMin=0.01),
}
IN_CH = {"brain": 1 + 3, "geo": 3 + 3}  # image channels + positive clicks + negative clicks + previous mask
MIN_OBJ_PX = {"brain": 20, "geo": 30}
PROPAGATE_FRACTION = 0.4  # brain: share of samples that start from the neighbouring slice's mask (Propagate)
PROPAGATE_END_FRACTION = 0.4  # of those: past the lesion's end (empty target), so that Propagate stops there
END_REACH = 2  # past-the-end samples lie 1..END_REACH slices past the last lesion slice
NEAR_MISS_FRACTION = 0.0  # share of the click samples that start from a near miss (--near-miss-fraction)


# ----------------------------------------------------------------------------- data
class Obj:
    """One training / validation object: image (normalised, or raw for per-crop normalisation), and a way to get
    its bool mask. `gt()` builds the full-size mask on demand (the label rasters stay shared)."""
    __slots__ = ("img", "lab", "val", "per_crop_norm", "bbox", "extra")

    def __init__(self, img, lab, val, per_crop_norm, bbox, extra=None):
        self.img, self.lab, self.val, self.per_crop_norm, self.bbox, self.extra = img, lab, val, per_crop_norm, bbox, extra

    def gt(self):
        return self.lab == self.val


def bbox_rc(mask):
    r = np.nonzero(mask.any(1))[0]
    c = np.nonzero(mask.any(0))[0]
    return int(r[0]), int(r[-1]), int(c[0]), int(c[-1])


def components(classmap, cls, min_px, img, per_crop_norm, out, touch_edge=True):
    """Connected components (4-connected) of class `cls` with >= min_px pixels, as Obj on a component label map."""
    lab, n = ndimage.label(classmap == cls)
    if n == 0:
        return
    sizes = np.bincount(lab.ravel())
    for i, sl in enumerate(ndimage.find_objects(lab)):
        if sl is None or sizes[i + 1] < min_px:
            continue
        r0, r1, c0, c1 = sl[0].start, sl[0].stop - 1, sl[1].start, sl[1].stop - 1
        if not touch_edge and (r0 == 0 or c0 == 0 or r1 == lab.shape[0] - 1 or c1 == lab.shape[1] - 1):
            continue
        out.append(Obj(img, lab, i + 1, per_crop_norm, (r0, r1, c0, c1)))


def load_brain():
    import train_brain as TB
    data = TB.load_patients()
    val = TB.val_patients(data.keys())
    # A held-out test split cut from the validation patients is never trained on either; the figures stay on the
    # union, so they remain comparable with earlier runs (and each half is reported apart by the analysis script).
    test_split = os.path.join(C.HERE, "splits", "brain_test.txt")
    if os.path.exists(test_split):
        val = sorted(set(val) | set(read_list(test_split)))
    train = [k for k in sorted(data) if k not in val]
    tr = []
    for k in train:
        vol, msk = data[k]
        for z in range(len(vol)):
            if msk[z].sum() >= MIN_OBJ_PX["brain"]:
                # object = the slice's whole lesion mask; extra = (volume, masks, z) for propagation states
                tr.append(Obj(vol[z][None], msk[z], 1, False, bbox_rc(msk[z] > 0), (vol, msk, z)))
    return data, val, train, tr


def read_list(path):
    return [l.strip() for l in open(path) if l.strip() and not l.startswith("#")]


def load_geo(log):
    """Training objects and validation sets of the geo model. Dubai is not used: its licence is not stated."""
    from osgeo import gdal
    from PIL import Image
    import train_buildings as TBd
    tr, vsets = [], {"buildings": [], "deepglobe": [], "sentinel2": []}
    # Joplin buildings: instance ids as given (the footprints the app is evaluated against). Training images are
    # the rectangles of each tile that do not overlap its validation quadrant; validation = the quadrant itself.
    bdir = os.path.join(C.DATA_ROOT, "buildings-joplin")
    val = TBd.read_split()
    ignore = TBd.read_ignore()
    for t in sorted(f[:-4] for f in os.listdir(os.path.join(bdir, "images")) if f.endswith(".tif")):
        img = gdal.Open(os.path.join(bdir, "images", t + ".tif")).ReadAsArray()
        ins = gdal.Open(os.path.join(bdir, "instances", t + ".tif")).ReadAsArray().astype(np.int32)
        h, w = ins.shape
        vr, vc, vs = val[t]
        rects = [(0, vr, 0, w), (vr + vs, h, 0, w), (vr, vr + vs, 0, vc), (vr, vr + vs, vc + vs, w)]
        for r0, r1, c0, c1 in rects:
            if r1 - r0 < 32 or c1 - c0 < 32:
                continue
            sub_i = np.ascontiguousarray(img[:, r0:r1, c0:c1])
            sub_l = ins[r0:r1, c0:c1].copy()
            for rr, cc, hh, ww in ignore.get(t, []):  # areas whose footprints do not describe the image
                ign = np.zeros(ins.shape, bool)
                ign[rr:rr + hh, cc:cc + ww] = True
                sub_l[ign[r0:r1, c0:c1]] = 0
            for i, sl in enumerate(ndimage.find_objects(sub_l)):
                if sl is None or (sub_l[sl] == i + 1).sum() < MIN_OBJ_PX["geo"]:
                    continue
                tr.append(Obj(sub_i, sub_l, i + 1, True, (sl[0].start, sl[0].stop - 1, sl[1].start, sl[1].stop - 1),
                              "buildings"))
        q_i = np.ascontiguousarray(img[:, vr:vr + vs, vc:vc + vs])
        q_l = ins[vr:vr + vs, vc:vc + vs].copy()
        for i, sl in enumerate(ndimage.find_objects(q_l)):
            if sl is None:
                continue
            r0, r1, c0, c1 = sl[0].start, sl[0].stop - 1, sl[1].start, sl[1].stop - 1
            if (q_l[sl] == i + 1).sum() < 80 or r0 == 0 or c0 == 0 or r1 == vs - 1 or c1 == vs - 1:
                continue
            vsets["buildings"].append(Obj(q_i, q_l, i + 1, True, (r0, r1, c0, c1)))
    nb = len(tr)
    # DeepGlobe land cover: components of one class (label 0 = unknown is never an object)
    ddir = os.path.join(C.DATA_ROOT, "landcover-deepglobe")
    dval = set(read_list(os.path.join(C.HERE, "splits", "landcover_val.txt")))
    for f in sorted(glob.glob(os.path.join(ddir, "images", "*.jpg"))):
        n = os.path.basename(f)[:-4]
        img = np.ascontiguousarray(np.array(Image.open(f).convert("RGB")).transpose(2, 0, 1))
        msk = np.array(Image.open(os.path.join(ddir, "masks", n + ".png")))
        for cls in range(1, 7):
            if n in dval:
                components(msk, cls, 100, img, True, vsets["deepglobe"])
            else:
                components(msk, cls, MIN_OBJ_PX["geo"], img, True, tr)
    nd = len(tr) - nb
    # Sentinel-2 Korea: components of building / road / field / forest (0 = "other" mixes sea, bare ground, ...)
    sdir = os.path.join(C.DATA_ROOT, "landcover-sentinel2-korea")
    sval = set(read_list(os.path.join(C.HERE, "splits", "sentinel2_val.txt")))
    for f in sorted(glob.glob(os.path.join(sdir, "images", "*.tif"))):
        n = os.path.basename(f)[:-4]
        img = gdal.Open(f).ReadAsArray()
        lab = gdal.Open(os.path.join(sdir, "labels", n.replace("_patchN_", "_mask_") + ".tif")).ReadAsArray()
        for cls in range(1, 5):
            if n in sval:
                components(lab, cls, 100, img, True, vsets["sentinel2"])
            else:
                components(lab, cls, MIN_OBJ_PX["geo"], img, True, tr)
    ns = len(tr) - nb - nd
    for o in tr[:nb]:
        o.extra = "buildings"
    for o in tr[nb:nb + nd]:
        o.extra = "deepglobe"
    for o in tr[nb + nd:]:
        o.extra = "sentinel2"
    log("geo training objects: buildings %d, deepglobe %d, sentinel2 %d; validation: %s"
        % (nb, nd, ns, {k: len(v) for k, v in vsets.items()}))
    return tr, vsets


# ----------------------------------------------------------------------------- training states
def window_of(bbox, shape, crop, margin=8):
    """Rows/cols to search for corrective clicks: the object's box and the crop, clipped to the image."""
    h, w = shape
    r0, r1, c0, c1 = bbox
    x0, y0, side = crop
    return (max(0, min(r0, y0) - margin), min(h, max(r1 + 1, y0 + side) + margin),
            max(0, min(c0, x0) - margin), min(w, max(c1 + 1, x0 + side) + margin))


def make_predict(net, flips=()):
    """predict(x: (N, C, S, S)) -> (N, S, S) probabilities. flips: the manifest's testTimeFlips ("x", "y", "xy"):
    each mirrored input (every plane alike) runs too, its output is mirrored back and all are averaged, as the app
    does (models.ts); training's corrective rounds call it without flips."""
    axes = {"x": (-1,), "y": (-2,), "xy": (-2, -1)}

    @torch.no_grad()
    def run(x):
        return torch.sigmoid(net(C.to_cl(torch.from_numpy(np.ascontiguousarray(x)))))[:, 0].numpy()

    def predict(x):
        out = run(x)
        for f in flips:
            out = out + np.flip(run(np.flip(x, axes[f])), axes[f])
        return (out * np.float32(1.0 / (1 + len(flips)))).astype(np.float32) if flips else out
    return predict


def perturb_mask(m, rng):
    """A previous-slice mask as the app would carry it: the reference, sometimes a little eroded or dilated."""
    r = rng.random()
    if r < 0.25:
        return ndimage.binary_erosion(m, iterations=int(rng.integers(1, 3)))
    if r < 0.5:
        return ndimage.binary_dilation(m, iterations=int(rng.integers(1, 3)))
    return m


def near_miss(gt, rng):
    """The object's mask with its edge moved by 1-2 pixels (out or in), all around or on one side of a line through
    its centre: the outlines that stopped at IoU 0.85-0.89 lay one native pixel off the expert's."""
    r = 1 if rng.random() < 0.7 else 2
    moved = (ndimage.binary_dilation if rng.random() < 0.5 else ndimage.binary_erosion)(gt, iterations=r)
    if rng.random() < 0.5:
        return moved
    ys, xs = np.nonzero(gt)
    a = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[:gt.shape[0], :gt.shape[1]]
    side = (xx - xs.mean()) * np.cos(a) + (yy - ys.mean()) * np.sin(a) > 0
    return np.where(side, moved, gt)


def initial_state(o, domain, rng):
    """(item dict for I.step_batch, gt). Brain: some states are Propagate steps from a neighbouring slice."""
    if domain == "brain" and rng.random() < PROPAGATE_FRACTION:
        vol, msk, z = o.extra
        nz = z + (1 if rng.random() < 0.5 else -1)
        if rng.random() < PROPAGATE_END_FRACTION:
            # Where the lesion ends: the last lesion slice's mask as the prompt on the slice 1-2 past it, which
            # holds no lesion, so the target is empty and Propagate learns to stop.
            zs = np.nonzero(msk.reshape(len(msk), -1).any(1))[0]
            last, step = (zs[-1], 1) if rng.random() < 0.5 else (zs[0], -1)
            z, nz = last, last + step * int(rng.integers(1, END_REACH + 1))
            if END_REACH > 2 and rng.random() < 0.3 and msk[last - step].sum() >= 5:
                z = last - step  # a mask carried on from one slice further in, as a run that overshot holds
        if 0 <= nz < len(vol):
            # previous slice z (object mask there) -> this slice nz; the target may be empty where the lesion ends
            prev = perturb_mask(msk[z] > 0, rng)
            if prev.sum() >= 5:
                x, y, _ = I.deepest_point(prev)
                gt = msk[nz] > 0
                it = {"img": vol[nz][None], "clicks": [(x, y, True)], "mask": prev}
                return it, gt, bbox_rc(prev | gt)
    gt = o.gt()
    x, y, _ = I.deepest_point(gt, rng, 0.5)
    if NEAR_MISS_FRACTION and rng.random() < NEAR_MISS_FRACTION:
        # A near miss as the previous mask, with the first click and the protocol's click on its error: the model
        # learns to move a whole edge by a pixel where a click on a thin error band asks for it.
        prev = near_miss(gt, rng)
        c = I.next_click(prev, gt) if prev.any() else None
        if c is not None:
            it = {"img": o.img, "clicks": [(x, y, True), c], "mask": prev, "per_crop_norm": o.per_crop_norm}
            return it, gt, o.bbox
    return {"img": o.img, "clicks": [(x, y, True)], "mask": None, "per_crop_norm": o.per_crop_norm}, gt, o.bbox


def build_batch(net, objs, domain, p, rng, bs, weights=None, max_rounds=3, click_weight=0.0, boundary_weight=0.0):
    idx = rng.choice(len(objs), size=bs, p=weights)
    states = [initial_state(objs[i], domain, rng) for i in idx]
    items = [s[0] for s in states]
    gts = [s[1] for s in states]
    bbs = [s[2] for s in states]
    rounds = int(rng.integers(0, max_rounds + 1))
    if rounds:
        was_training = net.training
        net.eval()
        predict = make_predict(net)
        for _ in range(rounds):
            # the plain click step, as the shipped weights were trained: no flips, no refinement pass
            masks, crops = I.step_batch(predict, items, dict(p, refinePasses=0))
            for it, gt, bb, m, cr in zip(items, gts, bbs, masks, crops):
                c = I.next_click(m, gt, window_of(bb, gt.shape, cr))
                it["mask"] = m
                if c is not None:
                    it["clicks"] = it["clicks"] + [c]
        net.train(was_training)
    xs, ys = [], []
    s = int(p["cropSize"])
    for it, gt in zip(items, gts):
        x0, y0, side = I.choose_crop(it["clicks"], it["mask"], p)
        if rng.random() < 0.15:  # the crop after one border grow
            x0, y0, side = I.grow_crop(x0, y0, side)
        elif rng.random() < 0.5:  # a little scale / centre jitter around the rule
            side2 = max(8, int(round(side * rng.uniform(0.9, 1.15))))
            x0 += int(round((side - side2) / 2 + rng.uniform(-0.05, 0.05) * side))
            y0 += int(round((side - side2) / 2 + rng.uniform(-0.05, 0.05) * side))
            side = side2
        xs.append(I.crop_input(it["img"], it["clicks"], it["mask"], x0, y0, side, p, it.get("per_crop_norm", False)))
        ys.append(I.resample_crop(gt[None].astype(np.float32), x0, y0, side, s))
    x = torch.from_numpy(np.stack(xs))
    y = torch.from_numpy(np.stack(ys))
    n = x.shape[0]
    if domain == "brain":  # intensity: gamma + scale (p = 0.8), the clicks and mask untouched
        on = (torch.rand(n, 1, 1) < 0.8).float()
        g = torch.exp(torch.empty(n, 1, 1).uniform_(-0.3, 0.3) * on)
        sc = 1 + torch.empty(n, 1, 1).uniform_(-0.1, 0.1) * on
        x[:, 0] = ((x[:, 0].clamp(min=0) ** g) * sc).clamp(0, 2)
    else:  # per-band gamma on the [0, 1] percentile-normalised bands
        on = (torch.rand(n, 1, 1, 1) < 0.8).float()
        g = torch.exp(torch.empty(n, 3, 1, 1).uniform_(-0.2, 0.2) * on)
        x[:, :3] = x[:, :3].clamp(min=0) ** g
    pairs = [C.random_dihedral(x[i], y[i]) for i in range(n)]
    x, y = torch.stack([a for a, _ in pairs]), torch.stack([b for _, b in pairs])
    if click_weight > 0 or boundary_weight > 0:
        w = torch.ones_like(y)
        if click_weight > 0:
            # Click consistency (RITM / FocalClick style): the pixels under the click disks weigh 1 + k in the BCE,
            # so the model learns to move the outline where the user clicked instead of copying the previous mask.
            ic = x.shape[1] - 3
            w = w + click_weight * (x[:, ic:ic + 1] + x[:, ic + 1:ic + 2]).clamp(max=1)
        if boundary_weight > 0:
            # The outline's own pixels: a band of 2 crop pixels on each side of the object's edge weighs 1 + k, so
            # the edge is placed where the expert drew it (the lesions that never reached IoU 0.90 were one native
            # pixel off all around, which no click can fix).
            yb = (y > 0.5).float()
            grad = F.max_pool2d(yb, 3, 1, 1) + F.max_pool2d(-yb, 3, 1, 1)
            band = F.max_pool2d(grad, 3, 1, 1)
            w = w + boundary_weight * band
        y = torch.cat([y, w], 1)
    return x, y


def loss_fn(logits, y):
    """BCE + soft Dice per sample (objects of every size weigh alike). y may carry a second channel: per-pixel BCE
    weights (the click disks weigh more, see build_batch)."""
    w = None
    if y.shape[1] == 2:
        y, w = y[:, :1], y[:, 1:]
    prob = torch.sigmoid(logits)
    inter = (prob * y).sum((1, 2, 3))
    d = 1 - (2 * inter + 1) / (prob.sum((1, 2, 3)) + y.sum((1, 2, 3)) + 1)
    if w is None:
        return F.binary_cross_entropy_with_logits(logits, y) + d.mean()
    return (F.binary_cross_entropy_with_logits(logits, y, reduction="none") * w).sum() / w.sum() + d.mean()


# ----------------------------------------------------------------------------- evaluation
def eval_objects(items_gt, per_crop_norm):
    return [{"img": img, "gt": gt, "per_crop_norm": per_crop_norm} for img, gt in items_gt]


def evaluate_brain(net, data, val, p, with_3d=True):
    predict = make_predict(net, p.get("testTimeFlips", ()))
    objs, starts = [], []
    for k in val:
        vol, msk = data[k]
        a = msk.reshape(len(msk), -1).sum(1)
        z = int(a.argmax())
        if a[z] < 50:
            continue
        objs.append({"img": vol[z][None], "gt": msk[z] > 0})
        starts.append((k, z))
    curves = I.noc_eval(predict, objs, p)
    m = I.noc_summary(curves, thresholds=(0.85, 0.90))
    if with_3d:
        d3 = {}
        for (k, z), o in zip(starts, objs):
            vol, msk = data[k]
            x, y, _ = I.deepest_point(o["gt"])
            first, _ = I.step_batch(predict, [{"img": vol[z][None], "clicks": [(x, y, True)], "mask": None, "user_clicks": True}], p)
            pred = I.propagate_volume(predict, vol, z, first[0], p)
            d3[k] = round(I.dice(pred, msk > 0), 4)
        m["dice3d_mean"] = float(np.mean(list(d3.values())))
        m["dice3d_median"] = float(np.median(list(d3.values())))
        m["per_patient_dice3d"] = d3
    m["per_patient_noc90"] = {k: next((i + 1 for i, v in enumerate(c) if v >= 0.9), 20)
                              for (k, _), c in zip(starts, curves)}
    return m


def evaluate_geo(net, vsets, p, max_parcels=None):
    """Buildings: all validation objects; land-cover parcels: a fixed random subset of at most max_parcels."""
    predict = make_predict(net, p.get("testTimeFlips", ()))
    out = {}
    for name, objs in vsets.items():
        if max_parcels and name != "buildings" and len(objs) > max_parcels:
            sel = np.random.RandomState(0).choice(len(objs), max_parcels, replace=False)
            objs = [objs[i] for i in sorted(sel)]
        ev = [{"img": o.img, "gt": o.gt(), "per_crop_norm": True} for o in objs]
        m = I.noc_summary(I.noc_eval(predict, ev, p))
        out.update({"%s_%s" % (name, k): v for k, v in m.items()})
    return out


# ----------------------------------------------------------------------------- export
def make_manifest(domain, p, state, metrics, n_train, extra_training):
    common = {
        "version": "0.9.0",
        "task": "prompt",
        "file": "model.onnx",
        "layout": None,
        "tileSize": [p["cropSize"], p["cropSize"]],
        "resolution": {"mmPerPx": None, "mPerPx": None},
        "classes": [{"name": "object", "color": "#ffcc00"}],
        "outputs": {"name": "output", "type": "sigmoid", "threshold": p["threshold"], "backgroundChannel": False,
                    "classChannels": [0], "boundaryChannel": None, "distanceChannel": None},
        "interactive": {k: p[k] for k in ("format", "cropSize", "clickRadiusPx", "firstCropPx", "minCropPx",
                                          "marginFraction", "threshold", "maxBorderGrow", "refinePasses", "refineFirstOnly",
                                          "clickLevelSetMin",
                                          "propagateStop") if k in p},
        "card": "README.md",
    }
    if p.get("testTimeFlips"):
        common["testTimeFlips"] = list(p["testTimeFlips"])
    common.pop("layout")
    train = {
        "steps": int(state["step"]),
        "seconds": int(round(state["seconds"])),
        "warmStart": state.get("warm_start"),
        "architecture": "U-Net widths %s, input image channels + positive clicks + negative clicks + previous mask"
                        % (list(WIDTHS),),
        "crop": ("origin floor(centre - (side - 1) / 2 + 0.5); image bilinear with pixel centres (torch "
                 "align_corners=False, source clamped to the crop), previous mask nearest "
                 "(src = floor((dst + 0.5) * side / S)), pixels past the image read 0"),
        "validation": {"source": "Python training-time validation (interactive_common.py: NoC protocol, at most 20 "
                                 "clicks, stop at IoU 0.90, %s weights)" % ("raw (not EMA)" if state.get("raw_weights") else "EMA"),
                       "final": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in (metrics or {}).items()
                                 if isinstance(v, (int, float))},
                       "baseline": C.pick_floats(state.get("baseline"))},
        **extra_training,
    }
    if not metrics:
        train["validation"]["note"] = "early checkpoint exported while training went on; not validated"
    if domain == "brain":
        return {"id": IDS[domain], "name": "Interactive: click to outline (brain FLAIR)", **common,
                "kinds": ["medical", "image"], "modality": "MR FLAIR",
                "input": {"name": "input", "channels": ["FLAIR"], "layout": "NCHW", "dtype": "float32",
                          "sliceMode": "2d"},
                "normalization": {"type": "percentile", "pLow": 1, "pHigh": 99, "scope": "volume", "mask": "nonzero",
                                  "clip": [0.0, 2.0]},
                "license": "CC-BY-NC-SA-4.0 (training data: LGG FLAIR, TCGA/TCIA via Buda et al. 2019; non-commercial research use)",
                "training": {"data": "tumor-lgg-flair: %d training slices with lesion (>= %d px) of the patients not in "
                                     "models/training/splits/brain_val.txt" % (n_train, MIN_OBJ_PX["brain"]), **train}}
    return {"id": IDS[domain], "name": "Interactive: click to outline (aerial / satellite RGB)", **common,
            "kinds": ["geo", "image"], "sensor": "RGB aerial or satellite",
            "input": {"name": "input", "channels": ["R", "G", "B"], "layout": "NCHW", "dtype": "float32",
                      "sliceMode": "2d"},
            "normalization": {"type": "percentile", "pLow": 1, "pHigh": 99, "scope": "crop", "mask": "all",
                              "clip": [0.0, 1.0]},
            "license": ("Mixed training data, no LGG data: Joplin buildings (xView2-deploy, MIT; footprints "
                        "machine-made, Microsoft ML footprints style, upstream ODbL), DeepGlobe 2018 land cover "
                        "(challenge terms, no licence stated in the source repo), Sentinel-2 Korea (MIT; Copernicus "
                        "Sentinel-2 open data); research use"),
            "training": {"data": "%d objects: Joplin building footprints outside splits/buildings_val.txt, DeepGlobe "
                                 "components outside splits/landcover_val.txt, Sentinel-2 components outside "
                                 "splits/sentinel2_val.txt (>= %d px); Dubai not used (licence not stated)"
                                 % (n_train, MIN_OBJ_PX["geo"]), **train}}


FIG_START, FIG_END = "<!-- figures:start -->", "<!-- figures:end -->"


def figures_block(domain, metrics, state, p=None):
    """Markdown table of the validation figures (the card's figures block, rewritten at each validated export)."""
    p = p or {}
    f = lambda v: "%.2f" % v if isinstance(v, float) and v >= 1.5 else ("%.3f" % v if isinstance(v, float) else str(v))
    head = ("Python validation of the exported weights (`train_interactive.py --domain %s`, %s weights; protocol in "
            "`interactive_common.py`: first click at the object's deepest interior point, each next click at the "
            "deepest point of the larger error region, every call with all clicks so far and the previous mask, at "
            "most 20 clicks, stop at IoU 0.90; NoC = clicks to reach the IoU, 20 when never). Step %d of training, "
            "%.0f min of CPU time (1 thread, shared machine)." % (domain, "raw (not EMA)" if state.get("raw_weights") else "EMA", state["step"], state["seconds"] / 60))
    if domain == "brain":
        rows = [("lesions, largest slice of each validation patient (>= 50 px)", metrics.get("objects"),
                 "-", metrics.get("NoC@85"), metrics.get("NoC@90"), metrics.get("IoU@1"), metrics.get("IoU@3"),
                 metrics.get("IoU@5"))]
        extra = ("\n\n3D: one click on the largest slice + Propagate (previous slice's mask + one click at its deepest "
                 "point, until a slice comes out empty%s): mean Dice per patient **%s** (median %s), %d patients."
                 % (" or the stop rule `propagateStop` ends it" if p.get("propagateStop") else "",
                    f(metrics.get("dice3d_mean")), f(metrics.get("dice3d_median")), len(metrics.get("per_patient_dice3d", {}))))
    else:
        names = {"buildings": "Joplin buildings >= 80 px not touching the validation quadrant's edge (footprints as given)",
                 "deepglobe": "DeepGlobe parcels (components >= 100 px, validation tiles)",
                 "sentinel2": "Sentinel-2 parcels (components >= 100 px, validation patches)"}
        rows = [(names[k], metrics.get(k + "_objects"), metrics.get(k + "_NoC@80"), metrics.get(k + "_NoC@85"),
                 metrics.get(k + "_NoC@90"), metrics.get(k + "_IoU@1"), metrics.get(k + "_IoU@3"),
                 metrics.get(k + "_IoU@5")) for k in names]
        extra = ""
    lines = [head, "", "| objects | n | NoC@80 | NoC@85 | NoC@90 | IoU@1 | IoU@3 | IoU@5 |", "|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(f(v) if v is not None else "-" for v in r) + " |" for r in rows]
    return "\n".join(lines) + extra


def write_card_figures(model_id, block):
    path = os.path.join(C.MODELS_DIR, model_id, "README.md")
    if not os.path.exists(path):
        return
    card = open(path).read()
    if FIG_START not in card or FIG_END not in card:
        return
    a, b = card.index(FIG_START) + len(FIG_START), card.index(FIG_END)
    with open(path, "w") as fh:
        fh.write(card[:a] + "\n" + block + "\n" + card[b:])


def main():
    global PROPAGATE_END_FRACTION, END_REACH, NEAR_MISS_FRACTION
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--domain", choices=("brain", "geo"), required=True)
    C.add_common_args(ap, steps=450, batch=16, lr=1e-3, eval_every=1000, ckpt_every=50)
    ap.set_defaults(threads=1)
    ap.add_argument("--eval-parcels", type=int, default=60,
                    help="geo: at most this many land-cover parcels per validation set (a fixed random subset) in the "
                         "validation runs during training (the buildings: always all)")
    ap.add_argument("--max-rounds", type=int, default=3,
                    help="corrective rounds without gradient per batch: 0..this many, uniformly")
    ap.add_argument("--click-weight", type=float, default=0.0,
                    help="BCE weight k: pixels under the click disks weigh 1 + k (0: plain BCE)")
    ap.add_argument("--boundary-weight", type=float, default=0.0,
                    help="BCE weight k: pixels within 2 crop pixels of the object's edge weigh 1 + k (0: off)")
    ap.add_argument("--end-reach", type=int, default=END_REACH,
                    help="brain: past-the-end samples lie 1..this many slices past the lesion's last slice (> 2: the "
                         "prompt is sometimes the second-last lesion slice's mask, as an overshooting run carries)")
    ap.add_argument("--propagate-end-fraction", type=float, default=PROPAGATE_END_FRACTION,
                    help="brain: share of the Propagate samples taken past the lesion's end (empty target)")
    ap.add_argument("--near-miss-fraction", type=float, default=NEAR_MISS_FRACTION,
                    help="share of the click samples (not Propagate's) that start from the object's mask with its edge "
                         "moved by 1-2 pixels, the first click and the protocol's click on the error (0: none)")
    ap.add_argument("--final-parcels", type=int, default=200,
                    help="geo, --export-only: the same for the exported figures (0: all)")
    ap.add_argument("--click-radius", type=float, default=None,
                    help="clickRadiusPx of the click maps (crop pixels; default: the PARAMS of the domain); a model "
                         "trained with another radius exports it in its manifest")
    ap.add_argument("--no-init", action="store_true",
                    help="fresh run from random weights instead of the automatic model of the same data")
    ap.add_argument("--export-raw", action="store_true",
                    help="validate and export the newest checkpoint's raw (not EMA) weights, with resume.pt")
    ap.add_argument("--quick-export", action="store_true",
                    help="export the newest checkpoint's EMA weights without validating them (an early model for "
                         "testing the app while training goes on); writes model.onnx and manifest.json only")
    args = ap.parse_args()
    domain = args.domain
    PROPAGATE_END_FRACTION = args.propagate_end_fraction
    END_REACH = args.end_reach
    NEAR_MISS_FRACTION = args.near_miss_fraction
    model_id = IDS[domain]
    p = PARAMS[domain]
    if args.click_radius is not None:
        p["clickRadiusPx"] = args.click_radius
    log = C.Logger(C.log_path("interactive_%s.log" % domain))
    rng = np.random.default_rng(args.seed)
    if domain == "brain":
        data, val, train, objs = load_brain()
        log("brain: %d patients (%d train / %d val), %d training lesion slices" % (len(data), len(train), len(val), len(objs)))
        weights = None
        n_train = len(objs)
    else:
        objs, vsets = load_geo(log)
        # buildings half of every batch, the land-cover components the other half
        kinds = np.array([o.extra for o in objs])
        share = {"buildings": 0.5, "deepglobe": 0.25, "sentinel2": 0.25}
        weights = np.array([share[k] / (kinds == k).sum() for k in kinds])
        weights /= weights.sum()
        n_train = len(objs)
    holder = {}

    def warm_start(net):
        """Start from the automatic model's weights: the image channels of the first convolution keep its weights,
        the click and mask channels start at 0; the head keeps the first output channel (the object / building)."""
        if args.no_init:
            return None
        src = os.path.join(C.MODELS_DIR, INIT[domain], "resume.pt")
        if not os.path.exists(src):
            src = os.path.join(C.HERE, "..", INIT[domain], "resume.pt")
        sd = {k: (v.float() if v.dtype.is_floating_point else v)
              for k, v in torch.load(src, map_location="cpu")["weights_fp16"].items()}
        w = sd["enc.0.0.weight"]
        sd["enc.0.0.weight"] = torch.cat([w, torch.zeros(w.shape[0], 3, *w.shape[2:])], 1)
        sd["head.weight"], sd["head.bias"] = sd["head.weight"][:1], sd["head.bias"][:1]
        net.load_state_dict(sd)
        return "%s weights (image channels of the first convolution, head channel 0); click/mask channels start at 0" % INIT[domain]

    def make_net():
        holder["net"] = C.UNet(IN_CH[domain], 1, WIDTHS)
        return holder["net"]

    def sample_batch(step, bs):
        return build_batch(holder["net"], objs, domain, p, rng, bs, weights, args.max_rounds, args.click_weight,
                           args.boundary_weight)

    def evaluate(net):
        if domain == "brain":
            return evaluate_brain(net, data, val, p, with_3d=True)
        return evaluate_geo(net, vsets, p, (args.final_parcels or None) if args.export_only else args.eval_parcels)

    def export(net, state, metrics):
        extra = {"batch": args.batch, "seed": args.seed}
        if args.max_rounds != 3 or args.click_weight > 0 or args.boundary_weight > 0:
            extra["fineTune"] = {"maxCorrectiveRounds": args.max_rounds, "clickLossWeight": args.click_weight,
                                 "boundaryLossWeight": args.boundary_weight,
                                 "propagateEndFraction": PROPAGATE_END_FRACTION, "endReachSlices": END_REACH,
                                 **({"nearMissFraction": NEAR_MISS_FRACTION} if NEAR_MISS_FRACTION else {})}
        manifest = make_manifest(domain, p, state, metrics, n_train, extra)
        in_ch = IN_CH[domain]
        path = os.path.join(C.MODELS_DIR, model_id, "model.onnx")
        C.export_onnx(net, in_ch, "sigmoid", path, manifest, {}, tile=p["cropSize"])
        C.write_manifest(model_id, manifest)
        if metrics:
            write_card_figures(model_id, figures_block(domain, metrics, state, p))
        with open(C.log_path("interactive_%s_val_metrics.json" % domain), "w") as f:
            json.dump({"final": metrics, "baseline": state["baseline"],
                       "history": [{k: v for k, v in h.items() if not isinstance(v, dict)} for h in state["history"]]},
                      f, indent=1)

    if args.export_raw:
        # The newest checkpoint's raw weights, validated and exported: after a short fine-tuning run the EMA (0.998)
        # still holds about half of the weights it started from, while the raw weights have annealed (lr 2%).
        ck = C.latest_checkpoint(model_id)
        if not ck:
            raise SystemExit("nothing to export: no checkpoint for %s" % model_id)
        st = torch.load(ck, map_location="cpu")
        net = make_net()
        net.load_state_dict(st["model"])
        net.eval()
        metrics = evaluate(net)
        log("eval raw weights step %d: %s" % (st["step"], C.fmt_metrics(metrics)))
        C.save_resume_point(model_id, net, st["step"], {k: st[k] for k in ("total", "base_lr", "seconds", "baseline", "seed", "batch")})
        export(net, dict(st, raw_weights=True), metrics)
        log("exported the raw weights of %s -> models/%s/model.onnx" % (os.path.relpath(ck, C.WORK_DIR), model_id))
        return
    if args.quick_export:
        ck = C.latest_checkpoint(model_id)
        if not ck:
            raise SystemExit("nothing to export: no checkpoint for %s" % model_id)
        st = torch.load(ck, map_location="cpu")
        net = make_net()
        net.load_state_dict(st["ema"])
        export(net.eval(), st, {})
        log("quick export of %s (step %d, not validated) -> models/%s/model.onnx"
            % (os.path.relpath(ck, C.WORK_DIR), st["step"], model_id))
        return
    t0 = time.time()
    C.run_training(model_id, args, make_net, sample_batch, loss_fn, evaluate, export, log,
                   "NoC@90" if domain == "brain" else "buildings_NoC@80", warm_start)
    log("done in %.1f min" % ((time.time() - t0) / 60))


if __name__ == "__main__":
    main()
