#!/usr/bin/env python3
"""Analysis of the brain click model (`interactive-brain-flair`): the validation figures of a set of weights, per
patient and per half of the validation patients, and the fit of Propagate's stop rule (`propagateStop`).

  --weights W          resume.pt (EMA weights, fp16) or a training checkpoint (its "ema"); default: the shipped ones
  --fit-stop N         fit the stop rule's two thresholds on N training patients (never on validation patients):
                       propagate once without the rule, record each slice's contrast features, pick the pair of
                       thresholds with the best mean 3D Dice there, then report it on the validation patients
  --stop C,R           evaluate with minContrast C and minRelativeIntensity R (0,0: no rule; default: the rule of
                       train_interactive.PARAMS, the shipped one)

The validation patients are those of splits/brain_val.txt (with splits/brain_test.txt, when it exists, as a part of
them: the 16 are what the card's figures are on, and each half is reported apart too). Figures use interactive_common.py's
protocol (the one `train_interactive.py` validates with).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import interactive_common as I  # noqa: E402
import train_interactive as T  # noqa: E402

CONTRASTS = (0, 1.05, 1.1, 1.15, 1.2, 1.25)
RELATIVES = (0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85)


def load_net(path, raw=False):
    net = T.C.UNet(4, 1, T.WIDTHS)
    s = torch.load(path, map_location="cpu")
    if "weights_fp16" in s:
        C.load_fp16_state(net, s["weights_fp16"])
    else:
        net.load_state_dict(s["model" if raw else "ema"])
    return net.eval()


def largest_slice(msk):
    a = msk.reshape(len(msk), -1).sum(1)
    return int(a.argmax()), int(a.max())


def first_mask(predict, vol, msk, p):
    z, _ = largest_slice(msk)
    gt = msk[z] > 0
    x, y, _ = I.deepest_point(gt)
    m, _ = I.step_batch(predict, [{"img": vol[z][None], "clicks": [(x, y, True)], "mask": None, "user_clicks": True}], p)
    return z, m[0]


def record_propagation(predict, vol, msk, p, ring_px=4):
    """Propagation without a stop rule; per slice: (direction, area, overlap with the truth, inside, ring mean)."""
    z0, start = first_mask(predict, vol, msk, p)
    rows = []
    for d in (1, -1):
        prev, z = start, z0 + d
        while 0 <= z < len(vol) and prev.any():
            x, y, _ = I.deepest_point(prev)
            m = I.step_batch(predict, [{"img": vol[z][None], "clicks": [(x, y, True)], "mask": prev}], p)[0][0]
            if not m.any():
                break
            inside, around = I.mask_contrast(vol[z], m, ring_px)
            rows.append((d, int(m.sum()), int((m & (msk[z] > 0)).sum()), inside, around))
            prev, z = m, z + d
    inside0 = I.mask_contrast(vol[z0], start, 1)[0]
    return {"area0": int(start.sum()), "inter0": int((start & (msk[z0] > 0)).sum()), "gt": int((msk > 0).sum()),
            "inside0": inside0, "rows": rows}


def dice_with_rule(rec, c, r):
    """3D Dice of the recorded propagation cut where the rule (minContrast c, minRelativeIntensity r) ends it."""
    pred, inter = rec["area0"], rec["inter0"]
    for d in (1, -1):
        for dd, area, ov, inside, around in rec["rows"]:
            if dd != d:
                continue
            if (c and around > 0 and inside < c * around) or (r and inside < r * rec["inside0"]):
                break
            pred += area
            inter += ov
    return 2.0 * inter / (pred + rec["gt"])


def evaluate(net, data, pats, p, with_3d=True):
    m = T.evaluate_brain(net, data, pats, p, with_3d=with_3d)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=os.path.join(C.MODELS_DIR, "interactive-brain-flair", "resume.pt"))
    ap.add_argument("--raw", action="store_true", help="a checkpoint's raw weights instead of its EMA weights")
    ap.add_argument("--fit-stop", type=int, default=0)
    ap.add_argument("--stop", default=None)
    ap.add_argument("--flip", action="store_true", help="with the left-right flip averaged (testTimeFlips [\"x\"])")
    ap.add_argument("--flips", default=None, help="testTimeFlips as a comma list (x,y,xy)")
    ap.add_argument("--no-flip", action="store_true", help="without the flip the shipped manifest asks for")
    ap.add_argument("--refine", type=int, default=None, help="refinePasses (default: the shipped PARAMS)")
    ap.add_argument("--refine-first-only", action="store_true", help="refine first clicks only (refineFirstOnly)")
    ap.add_argument("--only-validation-half", action="store_true",
                    help="report the validation half only (choices are made there; the test half is not scored)")
    ap.add_argument("--click-radius", type=float, default=None,
                    help="clickRadiusPx the weights were trained with (default: the shipped PARAMS)")
    ap.add_argument("--no-3d", action="store_true", help="click figures only (no Propagate)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data, val, train, _ = T.load_brain()
    halves = {}
    test_split = os.path.join(C.HERE, "splits", "brain_test.txt")
    if os.path.exists(test_split):  # the test patients are cut from brain_val.txt: validation = the rest
        test = T.read_list(test_split)
        halves = {"validation": [k for k in val if k not in test], "test": test}
    net = load_net(args.weights, args.raw)
    p = dict(T.PARAMS["brain"])
    if args.flip:
        p["testTimeFlips"] = ["x"]
    if args.no_flip:
        p.pop("testTimeFlips", None)
    if args.flips:
        p["testTimeFlips"] = args.flips.split(",")
    if args.click_radius is not None:
        p["clickRadiusPx"] = args.click_radius
    if args.refine is not None:
        p["refinePasses"] = args.refine
        p["refineFirstOnly"] = args.refine_first_only
    predict = T.make_predict(net, p.get("testTimeFlips", ()))
    report = {"weights": os.path.relpath(args.weights, C.WORK_DIR) + (" (raw)" if args.raw else " (EMA)")}
    if args.fit_stop:
        pats = [train[i] for i in sorted(np.random.RandomState(0).choice(len(train), args.fit_stop, replace=False))]
        recs = [record_propagation(predict, *data[k], p) for k in pats]
        grid = {(c, r): float(np.mean([dice_with_rule(x, c, r) for x in recs])) for c in CONTRASTS for r in RELATIVES}
        best = max(grid, key=lambda k: (round(grid[k], 4), -k[0], -k[1]))  # ties: the milder rule
        print("stop rule fit on %d training patients (mean 3D Dice):" % len(pats))
        print("  minContrast \\ minRelative " + " ".join("%6s" % r for r in RELATIVES))
        for c in CONTRASTS:
            print("  %-26s " % c + " ".join("%.4f" % grid[(c, r)] for r in RELATIVES))
        print("  best: minContrast %s, minRelativeIntensity %s (%.4f; no rule %.4f)" % (best[0], best[1], grid[best], grid[(0, 0)]))
        report["fit"] = {"patients": pats, "best": list(best), "dice3d_best": grid[best], "dice3d_none": grid[(0, 0)]}
        shown = halves["validation"] if (args.only_validation_half and halves) else val
        vrecs = [record_propagation(predict, *data[k], p) for k in shown]
        print("  on the %d validation patients: no rule %.4f, fitted rule %.4f" % (
            len(shown), np.mean([dice_with_rule(x, 0, 0) for x in vrecs]), np.mean([dice_with_rule(x, *best) for x in vrecs])))
    if args.stop:
        c, r = (float(v) for v in args.stop.split(","))
        p.pop("propagateStop", None)  # 0,0: Propagate until a slice comes out empty
        if c or r:
            p["propagateStop"] = {"minContrast": c, "minRelativeIntensity": r, "ringPx": 4}
    report["params"] = p
    show = lambda m: " ".join("%s=%s" % (k, v) for k, v in m.items() if not isinstance(v, dict))
    if args.only_validation_half and not halves:
        raise SystemExit("splits/brain_test.txt is missing: there is no validation half")
    if not args.only_validation_half:
        report["union"] = evaluate(net, data, val, p, not args.no_3d)
        print("all %d validation patients: %s" % (len(val), show(report["union"])))
        print("  NoC@90 per patient: %s" % json.dumps(report["union"]["per_patient_noc90"]))
        if "per_patient_dice3d" in report["union"]:
            print("  3D Dice per patient: %s" % json.dumps(report["union"]["per_patient_dice3d"]))
    for name, pats in halves.items():
        if args.only_validation_half and name != "validation":
            continue
        report[name] = evaluate(net, data, pats, p, not args.no_3d)
        print("%s half (%d): %s" % (name, len(pats), show(report[name])))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)

if __name__ == "__main__":
    main()
