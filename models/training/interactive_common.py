"""Click-conditioned interactive segmentation: the crop / click / evaluation rules of the interactive spec, in one
place for training (train_interactive.py) and evaluation, so both see exactly what the app's engine computes.

One click step on a 2D image (a slice or a tile), given all clicks so far and the previous mask M:
  1. box B (inclusive native pixels) = bounding box of the clicks and of M's pixels (and of a user box, if any);
  2. M empty and no box: square crop of side firstCropPx centred on the last positive click; else a square crop
     centred on B's centre, side = max(minCropPx, round(max(Bw, Bh) * (1 + 2 * marginFraction)));
     the crop origin is floor(centre - (side - 1) / 2 + 0.5) on each axis; pixels past the image read 0;
  3. the crop is resampled to S x S: image bilinear with pixel centres (src = (dst + 0.5) * side / S - 0.5, clamped
     to the crop, as torch's align_corners=False), previous mask nearest (src = floor((dst + 0.5) * side / S)),
     click disks of radius clickRadiusPx around ((x - x0 + 0.5) * S / side - 0.5, (y - y0 + 0.5) * S / side - 0.5);
  4. the model's probability is resampled back to the crop's native size (bilinear, pixel centres) and thresholded;
     4b. optional (clickLevelSetMin > 0; the user's clicks, not Propagate's): a newest click that the outline
     contradicts is honoured through the probability's level set at the click (`honour_last_click`);
  5. when the thresholded prediction touches a crop side that lies inside the image, the side doubles around the same
     centre and 3-4 run again (at most maxBorderGrow times);
  6. the new mask is M outside the crop and the prediction inside it.

Images handed to these functions are already normalised float32 (C, H, W) arrays, except geo images, which are
normalised per crop after resampling (1st-99th percentile per band of the S x S samples inside the image -> [0, 1];
nodata pixels read 0 and count as outside; see `percentile_normalise`). Masks are bool (H, W). Clicks are (x, y, positive) in native pixel indices (x = column).
"""
import math

import numpy as np
from scipy import ndimage

DEFAULTS = {"format": "clickmaps", "cropSize": 128, "clickRadiusPx": 5, "firstCropPx": 96, "minCropPx": 48,
            "marginFraction": 0.4, "threshold": 0.5, "maxBorderGrow": 1}


def round_half_up(v):
    return int(math.floor(v + 0.5))


# ----------------------------------------------------------------------------- crop geometry (spec steps 1, 2, 5)
def bbox_of(clicks, mask, box=None):
    """Inclusive (x0, y0, x1, y1) of the clicks, the mask's pixels and the optional box."""
    xs = [c[0] for c in clicks]
    ys = [c[1] for c in clicks]
    if mask is not None and mask.any():
        rows = np.nonzero(mask.any(1))[0]
        cols = np.nonzero(mask.any(0))[0]
        xs += [int(cols[0]), int(cols[-1])]
        ys += [int(rows[0]), int(rows[-1])]
    if box is not None:
        xs += [box[0], box[2]]
        ys += [box[1], box[3]]
    return min(xs), min(ys), max(xs), max(ys)


def crop_origin(centre, side):
    return int(math.floor(centre - (side - 1) / 2.0 + 0.5))


def choose_crop(clicks, mask, p, box=None):
    """(x0, y0, side) of the square crop for these clicks and previous mask (spec step 2)."""
    if (mask is None or not mask.any()) and box is None:
        pos = [c for c in clicks if c[2]]
        x, y = (pos[-1] if pos else clicks[-1])[:2]
        side = int(p["firstCropPx"])
        return crop_origin(x, side), crop_origin(y, side), side
    bx0, by0, bx1, by1 = bbox_of(clicks, mask, box)
    side = max(int(p["minCropPx"]), round_half_up(max(bx1 - bx0 + 1, by1 - by0 + 1) * (1 + 2 * p["marginFraction"])))
    return crop_origin((bx0 + bx1) / 2.0, side), crop_origin((by0 + by1) / 2.0, side), side


def grow_crop(x0, y0, side):
    """The crop of twice the side around the same centre (spec step 5)."""
    cx, cy = x0 + (side - 1) / 2.0, y0 + (side - 1) / 2.0
    return crop_origin(cx, 2 * side), crop_origin(cy, 2 * side), 2 * side


def touches_inner_side(pred, x0, y0, side, h, w):
    """Does the native-size crop prediction touch a crop side that lies inside the image?"""
    if not pred.any():
        return False
    r_lo, r_hi = max(0, -y0), min(side, h - y0)   # crop rows / cols that are inside the image
    c_lo, c_hi = max(0, -x0), min(side, w - x0)
    if r_lo >= r_hi or c_lo >= c_hi:
        return False
    v = pred[r_lo:r_hi, c_lo:c_hi]
    return bool((y0 > 0 and v[0].any()) or (y0 + side < h and v[-1].any())
                or (x0 > 0 and v[:, 0].any()) or (x0 + side < w and v[:, -1].any()))


# ----------------------------------------------------------------------------- resampling (spec steps 3, 4)
def linear_taps(n_out, n_in):
    """Source indices i0, i1 and weight of i1 for bilinear resampling n_in -> n_out with pixel centres
    (torch align_corners=False: negative source coordinates clamp to 0, the last index is repeated)."""
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)


def nearest_taps(n_out, n_in):
    return np.minimum(np.floor((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.int64), n_in - 1)


def gather(img, rows, cols):
    """img[..., rows, cols] with rows/cols as native indices that may fall outside the image (-> 0)."""
    h, w = img.shape[-2:]
    rv = (rows >= 0) & (rows < h)
    cv = (cols >= 0) & (cols < w)
    out = img[..., np.clip(rows, 0, h - 1)[:, None], np.clip(cols, 0, w - 1)[None, :]]
    return out * (rv[:, None] & cv[None, :])


def resample_crop(img, x0, y0, side, s):
    """Bilinear S x S resampling of the native crop [y0, y0+side) x [x0, x0+side) of img (C, H, W)."""
    r0, r1, wr = linear_taps(s, side)
    c0, c1, wc = linear_taps(s, side)
    top = gather(img, y0 + r0, x0 + c0) * (1 - wc) + gather(img, y0 + r0, x0 + c1) * wc
    bot = gather(img, y0 + r1, x0 + c0) * (1 - wc) + gather(img, y0 + r1, x0 + c1) * wc
    return (top * (1 - wr)[:, None] + bot * wr[:, None]).astype(np.float32)


def resample_mask_nearest(mask, x0, y0, side, s):
    r = nearest_taps(s, side)
    return gather(mask, y0 + r, x0 + r).astype(np.float32)


def upsample_prob(prob, side):
    """Probability S x S -> side x side (bilinear, pixel centres)."""
    s = prob.shape[-1]
    r0, r1, wr = linear_taps(side, s)
    top = prob[r0][:, r0] * (1 - wr) + prob[r0][:, r1] * wr
    bot = prob[r1][:, r0] * (1 - wr) + prob[r1][:, r1] * wr
    return top * (1 - wr)[:, None] + bot * wr[:, None]


def click_maps(clicks, x0, y0, side, s, radius):
    """(2, S, S) positive / negative disk maps in crop coordinates."""
    maps = np.zeros((2, s, s), np.float32)
    yy, xx = np.mgrid[0:s, 0:s]
    k = s / side
    for x, y, positive in clicks:
        cx, cy = (x - x0 + 0.5) * k - 0.5, (y - y0 + 0.5) * k - 0.5
        if cx < -radius or cy < -radius or cx > s - 1 + radius or cy > s - 1 + radius:
            continue
        maps[0 if positive else 1][(xx - cx) ** 2 + (yy - cy) ** 2 <= radius * radius] = 1
    return maps


def percentile_normalise(chans, inside, p_lo=1, p_hi=99):
    """Geo normalisation of a resampled crop: per band, lo / hi = the 1st / 99th percentile (numpy linear
    interpolation) of the S x S resampled values whose pixel lies inside the image (and is not nodata);
    x = clip((v - lo) / (hi - lo), 0, 1); pixels outside the image -> 0. Computed on the S x S samples, not on the
    native crop, so its cost does not grow with the crop (a parcel on a 10000^2 raster costs what a house does)."""
    out = np.zeros_like(chans)
    if not inside.any():
        return out
    for b in range(chans.shape[0]):
        lo, hi = np.percentile(chans[b][inside].astype(np.float64), [p_lo, p_hi])
        if hi <= lo:
            hi = lo + 1
        out[b] = np.clip((chans[b] - lo) / (hi - lo), 0, 1) * inside
    return out


def crop_input(img, clicks, mask, x0, y0, side, p, per_crop_norm=False, valid=None):
    """The model input (C + 3, S, S) for one crop. img: normalised (C, H, W), or raw when per_crop_norm."""
    s = int(p["cropSize"])
    chans = resample_crop(img, x0, y0, side, s)
    if per_crop_norm:
        ok = np.ones(img.shape[-2:], bool) if valid is None else valid
        chans = percentile_normalise(chans, resample_mask_nearest(ok, x0, y0, side, s) > 0)
    prev = resample_mask_nearest(mask, x0, y0, side, s) if mask is not None else np.zeros((s, s), np.float32)
    cm = click_maps(clicks, x0, y0, side, s, p["clickRadiusPx"])
    return np.concatenate([chans, cm, prev[None]], 0)


# ----------------------------------------------------------------------------- one click step (batched)
def step_batch(predict, items, p):
    """Run spec steps 1-6 for many independent states at once (one batched model call per grow level).
    items: dicts with img (C, H, W), clicks, mask (bool H x W or None), optional box, per_crop_norm, valid, and
    user_clicks (true when the clicks are a user's, not Propagate's seed: step 4b's level set applies to them).
    predict(x: float32 (N, C, S, S)) -> probabilities (N, S, S). Returns the new masks and the crops used.
    With `refinePasses` n > 0 in p, each state then runs n more times with the same clicks and box and its own new
    mask as the previous mask (the crop refits around that mask: a zoom-in on the object); `refineFirstOnly`: only
    the states that had no previous mask (None or empty) and no box (a first click)."""
    out, crops = _step_once(predict, items, p)
    n = int(p.get("refinePasses", 0))
    for _ in range(n):
        redo = [i for i, it in enumerate(items) if out[i].any()
                and not (p.get("refineFirstOnly") and (it.get("box") is not None
                                                     or (it.get("mask") is not None and it["mask"].any())))]
        if not redo:
            break
        again, cr = _step_once(predict, [dict(items[i], mask=out[i]) for i in redo], p)
        for i, m, c in zip(redo, again, cr):
            out[i], crops[i] = m, c
    return out, crops


def _step_once(predict, items, p):
    thr = p["threshold"]
    crops = [choose_crop(it["clicks"], it.get("mask"), p, it.get("box")) for it in items]
    out = [None] * len(items)
    todo = list(range(len(items)))
    for level in range(int(p["maxBorderGrow"]) + 1):
        xs = [crop_input(items[i]["img"], items[i]["clicks"], items[i].get("mask"), *crops[i], p,
                         items[i].get("per_crop_norm", False), items[i].get("valid")) for i in todo]
        probs = predict(np.stack(xs)) if xs else []
        again = []
        for i, pr in zip(todo, probs):
            x0, y0, side = crops[i]
            h, w = items[i]["img"].shape[-2:]
            up = upsample_prob(pr, side)
            pred = up > thr
            if p.get("clickLevelSetMin") and items[i].get("user_clicks") and items[i]["clicks"]:
                pred = honour_last_click(pred, up, items[i]["clicks"][-1], x0, y0, p["clickLevelSetMin"])
            if level < int(p["maxBorderGrow"]) and touches_inner_side(pred, x0, y0, side, h, w):
                crops[i] = grow_crop(x0, y0, side)
                again.append(i)
                continue
            m = items[i].get("mask")
            new = np.zeros((h, w), bool) if m is None else m.copy()
            ry0, ry1, rx0, rx1 = max(y0, 0), min(y0 + side, h), max(x0, 0), min(x0 + side, w)
            new[ry0:ry1, rx0:rx1] = pred[ry0 - y0:ry1 - y0, rx0 - x0:rx1 - x0]
            out[i] = new
        todo = again
    return out, crops


def honour_last_click(pred, up, click, x0, y0, min_p):
    """Spec step 4b (`clickLevelSetMin` > 0, the user's own clicks only, not Propagate's): when the thresholded
    outline contradicts the newest click, the click is honoured through the model's own probability. A positive
    click outside the outline adds the 4-connected part holding it of {prob >= prob at the click}, the smallest level
    set that reaches it (when that probability is >= min_p); a negative click inside removes the part holding it of
    {prob <= prob at the click} (when that is <= 1 - min_p). pred, up: side x side crop arrays; returns pred."""
    lx, ly = click[0] - x0, click[1] - y0
    if not (0 <= lx < up.shape[1] and 0 <= ly < up.shape[0]) or bool(pred[ly, lx]) == bool(click[2]):
        return pred
    pc = up[ly, lx]
    if click[2] and pc >= min_p:
        lab, _ = ndimage.label(up >= pc)
        return pred | (lab == lab[ly, lx])
    if not click[2] and pc <= 1 - min_p:
        lab, _ = ndimage.label(up <= pc)
        return pred & ~(lab == lab[ly, lx])
    return pred


# ----------------------------------------------------------------------------- clicks (training and evaluation)
def inner_distance(region):
    """Euclidean distance of each region pixel to the nearest pixel outside it (the region padded with background)."""
    return ndimage.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]


def deepest_point(region, rng=None, jitter=0.0):
    """(x, y, max distance) of the region's interior point farthest from its boundary; with rng and jitter > 0,
    a random point among those with distance >= jitter * max (training). None when the region is empty."""
    if not region.any():
        return None
    r0, r1, c0, c1 = object_box(region)  # the transform on the region's box only: same distances, less work
    x, y, dmax = _deepest_in_box(region[r0:r1 + 1, c0:c1 + 1], rng, jitter)
    return x + c0, y + r0, dmax


def _deepest_in_box(region, rng, jitter):
    d = inner_distance(region)
    dmax = float(d.max())
    if rng is not None and jitter > 0:
        ys, xs = np.nonzero(d >= jitter * dmax)
        k = int(rng.integers(len(ys)))
        return int(xs[k]), int(ys[k]), dmax
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)
    return int(x), int(y), dmax


def next_click(pred, gt, window=None):
    """The corrective click: at the deepest point of the error region (false negatives -> positive click, false
    positives -> negative) whose inscribed distance is larger. window: (r0, r1, c0, c1) to limit the search.
    Returns (x, y, positive) or None when there is no error."""
    r0, r1, c0, c1 = window if window is not None else (0, gt.shape[0], 0, gt.shape[1])
    fn = gt[r0:r1, c0:c1] & ~pred[r0:r1, c0:c1]
    fp = pred[r0:r1, c0:c1] & ~gt[r0:r1, c0:c1]
    a = deepest_point(fn) if fn.any() else None
    b = deepest_point(fp) if fp.any() else None
    if a is None and b is None:
        return None
    if b is None or (a is not None and a[2] >= b[2]):
        return a[0] + c0, a[1] + r0, True
    return b[0] + c0, b[1] + r0, False


def object_box(mask):
    """Inclusive (r0, r1, c0, c1) of a non-empty mask."""
    rows = np.nonzero(mask.any(1))[0]
    cols = np.nonzero(mask.any(0))[0]
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def iou(a, b):
    u = np.logical_or(a, b).sum()
    return 1.0 if u == 0 else float(np.logical_and(a, b).sum() / u)


def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else float(2.0 * np.logical_and(a, b).sum() / s)


# ----------------------------------------------------------------------------- evaluation protocol
def noc_eval(predict, objects, p, max_clicks=20, stop_iou=0.90, batch=32):
    """Standard NoC protocol on objects: dicts with img, gt (bool H x W) and optional per_crop_norm / valid.
    Returns per-object IoU curves (list of up to max_clicks IoUs; stops after reaching stop_iou)."""
    curves = [[] for _ in objects]
    state = [{"clicks": [], "mask": np.zeros(o["gt"].shape, bool), "done": False} for o in objects]
    # Errors can only lie in the object's box or in a crop used so far: search clicks in that window (+1 px of
    # background on each side, so the distances are the same as on the whole image).
    for o, s in zip(objects, state):
        r0, r1, c0, c1 = object_box(o["gt"])
        s["win"] = [r0, r1 + 1, c0, c1 + 1]
    for k in range(max_clicks):
        live = [i for i, s in enumerate(state) if not s["done"]]
        if not live:
            break
        for i in live:
            o, s = objects[i], state[i]
            if k == 0:
                x, y, _ = deepest_point(o["gt"])
                c = (x, y, True)
            else:
                h, w = o["gt"].shape
                r0, r1, c0, c1 = s["win"]
                c = next_click(s["mask"], o["gt"], (max(r0 - 1, 0), min(r1 + 1, h), max(c0 - 1, 0), min(c1 + 1, w)))
            if c is None:  # perfect already
                s["done"] = True
                continue
            s["clicks"].append(c)
        live = [i for i in live if not state[i]["done"]]
        for j in range(0, len(live), batch):
            ids = live[j:j + batch]
            items = [dict(objects[i], clicks=state[i]["clicks"], mask=state[i]["mask"], user_clicks=True) for i in ids]
            masks, crops = step_batch(predict, items, p)
            for i, m, (x0, y0, side) in zip(ids, masks, crops):
                state[i]["mask"] = m
                wn = state[i]["win"]
                state[i]["win"] = [min(wn[0], y0), max(wn[1], y0 + side), min(wn[2], x0), max(wn[3], x0 + side)]
                curves[i].append(iou(m, objects[i]["gt"]))
                if curves[i][-1] >= stop_iou:
                    state[i]["done"] = True
    return curves


def noc_summary(curves, thresholds=(0.80, 0.85, 0.90), at=(1, 3, 5), max_clicks=20):
    """NoC@t (clicks to reach IoU t, max_clicks when never) and IoU after k clicks (the last IoU carried forward
    once the object reached the stop IoU)."""
    out = {"objects": len(curves)}
    for t in thresholds:
        n = [next((k + 1 for k, v in enumerate(c) if v >= t), max_clicks) for c in curves]
        out["NoC@%d" % round(t * 100)] = float(np.mean(n)) if n else float("nan")
    for k in at:
        v = [(c[k - 1] if len(c) >= k else (c[-1] if c else 0.0)) for c in curves]
        out["IoU@%d" % k] = float(np.mean(v)) if v else float("nan")
    return out


def mask_contrast(img, mask, ring_px):
    """(mean of img inside mask, mean of img on the ring of ring_px pixels around it where img > 0), float64; the
    ring is the mask dilated ring_px times with the 4-neighbour cross, minus the mask (clipped to the image). The
    ring mean is 0 when no ring pixel is > 0 (nothing to compare with)."""
    ring = ndimage.binary_dilation(mask, iterations=ring_px) & ~mask
    ring &= img > 0
    inside = float(img[mask].astype(np.float64).mean()) if mask.any() else 0.0
    around = float(img[ring].astype(np.float64).mean()) if ring.any() else 0.0
    return inside, around


def propagation_stops(img, mask, inside0, p):
    """The optional stop rule of Propagate (manifest `propagateStop`): a slice whose object is no brighter than its
    surroundings (mean inside < minContrast x mean of the ring around it) or much darker than the object on the
    starting slice (mean inside < minRelativeIntensity x that slice's mean) ends the object there. For models of
    bright lesions (FLAIR hyperintensity), where the model otherwise carries the last outline into normal tissue."""
    rule = p.get("propagateStop")
    if not rule:
        return False
    inside, around = mask_contrast(img, mask, int(rule.get("ringPx", 4)))
    if rule.get("minContrast") and around > 0 and inside < rule["minContrast"] * around:
        return True
    return bool(rule.get("minRelativeIntensity") and inside < rule["minRelativeIntensity"] * inside0)


def propagate_volume(predict, vol, start_z, start_mask, p, min_px=1):
    """3D propagation from a segmented slice: each next slice gets the previous slice's mask and one positive
    click at that mask's deepest point; stops (in each direction) when a slice comes out with < min_px pixels, or
    when the optional stop rule says the object ended (`propagation_stops`; intensities of the first channel)."""
    out = np.zeros((len(vol),) + vol.shape[-2:], bool)
    out[start_z] = start_mask
    first = lambda z: vol[z] if vol.ndim == 3 else vol[z][0]
    inside0 = mask_contrast(first(start_z), start_mask, 1)[0] if start_mask.any() else 0.0
    for direction in (1, -1):
        prev, z = start_mask, start_z + direction
        while 0 <= z < len(vol) and prev.sum() >= min_px:
            x, y, _ = deepest_point(prev)
            masks, _ = step_batch(predict, [{"img": vol[z][None], "clicks": [(x, y, True)], "mask": prev}], p)
            m = masks[0]
            if m.sum() < min_px or propagation_stops(first(z), m, inside0, p):
                break
            out[z] = m
            prev, z = m, z + direction
    return out
