#!/usr/bin/env python3
"""Choose the brain-flair-lgg network (the 3-model mean, a pair, one member), the test-time flip and the 3D clean-up
rule on the validation patients that are NOT in the test split; report the test split only on request.

  /usr/bin/python3 models/training/analyse_brain_choices.py [STUDENT.pt ...]
  /usr/bin/python3 models/training/analyse_brain_choices.py --test "m1:mean0.95+sl1+vox0"

Choice patients = splits/brain_val.txt minus splits/brain_test.txt. Networks: each member alone (m0, m1, m2), with
the left-right flip (+flip), pairs of members (m01, ...), the 3-model mean (ens3, ens3+flip: the model shipped
until 2026-12-05), and any resume points given. Each network's probabilities (plain and mirrored) are cached per
patient under checkpoints/brain-flair-lgg-choices/. A rule keeps the largest 3D 26-connected component always,
and any other component that passes it (see RULES; "mean0.95+sl1+vox0" is the manifest's
minComponentMeanProbability 0.95); Dice is per patient, volumetric, threshold 0.5 (no tumor and no prediction
scores 1), as the app's `npm run eval`.
`--test NET:RULE` prints that configuration and today's (ens3+flip:largest) on the test patients, once, at the end.
`--pasted DIR` prints, for every network, the component found on each real lesion pasted into another patient
(DIR/*_img.nii.gz + *_pasted.nii.gz, as test/engine/flair-synthetic.ts pasteLesion makes them): its size, mean and
peak probability and slice extent, i.e. whether a rule would keep a true second lesion.
"""
import argparse
import glob
import os
import sys

import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_brain as B  # noqa: E402

CACHE = os.path.join(C.WORK_DIR, "checkpoints", B.MODEL_ID + "-choices")
TEST_SPLIT = os.path.join(C.HERE, "splits", "brain_test.txt")
MEMBERS = sorted(glob.glob(os.path.join(C.MODELS_DIR, B.MODEL_ID, "members", "member*.pt")))


def read_ids(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def load_some(ids):
    """Only these patients (as train_brain.load_patients reads them): loading all 90 takes minutes on a shared CPU."""
    import glob as G
    from PIL import Image
    out = {}
    for p in ids:
        idx = sorted(int(os.path.basename(f).split("_")[0]) for f in G.glob(os.path.join(B.DATA, p, "*_image.png")))
        img = np.stack([np.array(Image.open(os.path.join(B.DATA, p, "%03d_image.png" % i))) for i in idx])
        msk = np.stack([np.array(Image.open(os.path.join(B.DATA, p, "%03d_mask.png" % i))) > 0 for i in idx])
        out[p] = (B.normalise_volume(img), msk.astype(np.uint8))
    return out


def component_table(prob, gt):
    """Per 3D 26-connected component of prob > 0.5: size, peak probability, voxels inside the expert mask."""
    pred = prob > 0.5
    lab, n = ndimage.label(pred, structure=np.ones((3, 3, 3)))
    if n == 0:
        return {"size": np.zeros(0), "peak": np.zeros(0), "mean": np.zeros(0), "slices": np.zeros(0), "inside": np.zeros(0)}
    idx = np.arange(1, n + 1)
    flat = lab.ravel()
    sizes = np.bincount(flat, minlength=n + 1)[1:].astype(np.float64)
    inside = np.bincount(flat, weights=gt.ravel().astype(np.float64), minlength=n + 1)[1:]
    mean = np.bincount(flat, weights=prob.ravel().astype(np.float64), minlength=n + 1)[1:] / sizes
    peaks = np.asarray(ndimage.maximum(prob, lab, index=idx))
    # slice extent (max z - min z + 1) of each component
    objs = ndimage.find_objects(lab)
    slices = np.array([o[0].stop - o[0].start for o in objs], np.float64)
    return {"size": sizes, "peak": peaks, "mean": mean, "slices": slices, "inside": inside}


def kept(t, frac=0.0, peak=0.0, minvox=0, mean=0.0, slices=0, maxn=None):
    """Which components a rule keeps: the largest always, and every other whose peak probability >= peak, mean
    probability >= mean, slice extent >= slices, size >= minvox voxels and >= frac x the largest (up to maxn
    components in all, largest first)."""
    sizes = t["size"]
    keep = np.zeros(len(sizes), bool)
    if len(sizes) == 0:
        return keep
    order = np.argsort(-sizes, kind="stable")
    keep[order[0]] = True
    n = 1
    for j in order[1:]:
        if maxn is not None and n >= maxn:
            break
        if (t["peak"][j] >= peak and t["mean"][j] >= mean and t["slices"][j] >= slices and sizes[j] >= minvox
                and sizes[j] >= frac * sizes[order[0]]):
            keep[j] = True
            n += 1
    return keep


RULES = {"raw": dict(maxn=None), "largest": dict(maxn=1)}
for f in (0.05, 0.1, 0.2, 0.3):
    RULES["frac%.2f" % f] = dict(frac=f)
for q in (0.9, 0.95, 0.98):
    RULES["peak%.2f" % q] = dict(peak=q)
for v in (100, 400, 800):
    RULES["vox%d" % v] = dict(minvox=v)
for m in (0.85, 0.9, 0.93, 0.95):
    for z in (1, 2, 3, 4, 6):
        for v in (0, 100, 500):
            RULES["mean%.2f+sl%d+vox%d" % (m, z, v)] = dict(mean=m, slices=z, minvox=v)
for m in (0.8, 0.88, 0.91, 0.97, 0.972):  # finer steps of the rule the manifest expresses (minComponentMeanProbability)
    RULES[("mean%.2f+sl1+vox0" if round(m, 2) == m else "mean%.3f+sl1+vox0") % m] = dict(mean=m, slices=1, minvox=0)
for z in (3, 4, 5, 6, 8):
    for v in (0, 500):
        RULES["sl%d+vox%d" % (z, v)] = dict(slices=z, minvox=v)


def rule_dice(name, table, gt_total):
    k = kept(table, **RULES[name])
    sp, inter = table["size"][k].sum(), table["inside"][k].sum()
    return 1.0 if sp + gt_total == 0 else float(2 * inter / (sp + gt_total))


def net_probs(tag, path, patient, vol, flip=True):
    """(plain, mirrored-back) probabilities of one network on one patient, cached as float16. flip=False skips the
    mirrored run (returned as None): the 3 s budget leaves no room for the flip with a student."""
    os.makedirs(CACHE, exist_ok=True)
    f = os.path.join(CACHE, "%s_%s%s.npz" % (tag, patient, "" if flip else "_plain"))
    if os.path.exists(f) and os.path.getmtime(f) >= os.path.getmtime(path):
        z = np.load(f)
        return z["plain"].astype(np.float32), (z["flip"].astype(np.float32) if flip else None)
    net = net_probs.loaded.get(path)
    if net is None:
        net = net_probs.loaded[path] = B.load_resume_net(path)[0]
    a = B.predict_volume(net, vol, context=0)
    if not flip:
        np.savez(f + ".tmp.npz", plain=a.astype(np.float16))
        os.replace(f + ".tmp.npz", f)
        return a, None
    b = B.predict_volume(net, np.ascontiguousarray(vol[:, :, ::-1]), context=0)[:, :, ::-1]
    np.savez(f + ".tmp.npz", plain=a.astype(np.float16), flip=b.astype(np.float16))
    os.replace(f + ".tmp.npz", f)
    return a, b


net_probs.loaded = {}


def configs(nets, student_flip=True):
    """Network configurations: name -> function(dict tag -> (plain, flip)) -> probability volume."""
    out = {}
    tags = list(nets)
    members = [t for t in tags if t.startswith("m")]
    out["ens3+flip"] = lambda P: np.mean([0.5 * (P[t][0] + P[t][1]) for t in members], 0)
    out["ens3"] = lambda P: np.mean([P[t][0] for t in members], 0)
    for t in tags:
        if student_flip or t.startswith("m"):
            out[t + "+flip"] = (lambda t: lambda P: 0.5 * (P[t][0] + P[t][1]))(t)
        out[t] = (lambda t: lambda P: P[t][0])(t)
    for i in range(len(members)):
        for j in range(i + 1, len(members)):
            a, b = members[i], members[j]
            out["%s%s" % (a, b[1:])] = (lambda a, b: lambda P: 0.5 * (P[a][0] + P[b][0]))(a, b)
    return out


def pasted_report(folder, students=(), members=True, student_flip=True):
    import nibabel as nib
    nets = {"m%d" % i: B.load_resume_net(m)[0] for i, m in enumerate(MEMBERS)} if members else {}
    for s in students:
        nets["s_" + os.path.splitext(os.path.basename(s))[0]] = B.load_resume_net(s)[0]
    for f in sorted(glob.glob(os.path.join(folder, "*_img.nii.gz"))):
        # NIfTI (x, y, z) -> the slice stacks' (z, y, x)
        img = np.transpose(np.asarray(nib.load(f).dataobj), (2, 1, 0)).astype(np.float32)
        pasted = np.transpose(np.asarray(nib.load(f.replace("_img", "_pasted")).dataobj), (2, 1, 0)) > 0
        vol = B.normalise_volume(img)
        P = {}
        for t, net in nets.items():
            a = B.predict_volume(net, vol, context=0)
            flip = student_flip or t.startswith("m")
            b = B.predict_volume(net, np.ascontiguousarray(vol[:, :, ::-1]), context=0)[:, :, ::-1] if flip else None
            P[t] = (a, b)
        for cname, fn in configs(nets, student_flip).items():
            if not members and not cname.startswith("s_"):
                continue
            prob = fn(P)
            lab, _ = ndimage.label(prob > 0.5, structure=np.ones((3, 3, 3)))
            ids, cnt = np.unique(lab[pasted & (lab > 0)], return_counts=True)
            if len(ids) == 0:
                print("%-40s %-10s missed" % (os.path.basename(f), cname))
                continue
            m = lab == ids[np.argmax(cnt)]
            zs = np.nonzero(m.any((1, 2)))[0]
            print("%-40s %-10s size %6d (pasted %d, covered %.2f) mean %.3f peak %.3f slices %d" % (
                os.path.basename(f), cname, m.sum(), pasted.sum(), cnt.max() / pasted.sum(), prob[m].mean(),
                prob[m].max(), len(zs)), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("students", nargs="*", help="extra single-slice resume points to compare")
    p.add_argument("--test", metavar="NET:RULE", help="also score this configuration on the test patients")
    p.add_argument("--per-patient", metavar="NET:RULE", help="print per-patient Dice of a configuration (choice set)")
    p.add_argument("--pasted", metavar="DIR", help="score the components on pasted real lesions (see above)")
    p.add_argument("--no-student-flip", action="store_true",
                   help="run the students without the left-right flip only (half the time; no s_*+flip rows)")
    p.add_argument("--no-members", action="store_true", help="--pasted: the students only")
    p.add_argument("--rules", metavar="PREFIX", help="print only the rules whose name starts with one of these "
                   "comma-separated prefixes (e.g. largest,mean: what the manifest can express)")
    args = p.parse_args()
    C.setup_torch(2)
    if args.pasted:
        return pasted_report(args.pasted, args.students, not args.no_members, not args.no_student_flip)
    val = read_ids(B.SPLIT)
    if not val:
        raise SystemExit("%s is missing" % B.SPLIT)
    data = load_some(val)
    test = read_ids(TEST_SPLIT)
    if not test:
        raise SystemExit("%s is missing: the choice patients are validation minus test" % TEST_SPLIT)
    choice = [k for k in val if k not in test]
    nets = {"m%d" % i: m for i, m in enumerate(MEMBERS)}
    for s in args.students:
        nets["s_" + os.path.splitext(os.path.basename(s))[0]] = s
    student_flip = not args.no_student_flip
    cfgs = configs(nets, student_flip)
    print("choice patients: %d (validation %d minus test %d)" % (len(choice), len(val), len(test)))

    def score(patients, only=None):
        res = {}
        for k in patients:
            vol, gt = data[k]
            P = {t: net_probs(t, path, k, vol, flip=student_flip or t.startswith("m")) for t, path in nets.items()}
            for cname, fn in cfgs.items():
                if only and cname != only[0]:
                    continue
                table = component_table(fn(P), gt)
                for rname in RULES:
                    if only and rname != only[1]:
                        continue
                    res.setdefault((cname, rname), []).append(rule_dice(rname, table, float(gt.sum())))
        return res

    res = score(choice)
    rows = sorted(res.items(), key=lambda kv: -np.mean(kv[1]))
    if args.rules:
        prefixes = tuple(args.rules.split(","))
        rows = [kv for kv in rows if kv[0][1].startswith(prefixes)]
    print("%-22s %-22s %7s %7s %7s" % ("network", "rule", "mean", "median", "min"))
    for (c, r), v in rows:
        print("%-22s %-22s %7.4f %7.4f %7.3f" % (c, r, np.mean(v), np.median(v), np.min(v)))
    if args.per_patient:
        c, r = args.per_patient.split(":")
        print("per patient %s:" % args.per_patient, " ".join("%s %.3f" % (k, d) for k, d in zip(choice, res[(c, r)])))
    if args.test:
        c, r = args.test.split(":")
        for cfg in ((c, r), ("ens3+flip", "largest")):
            v = score(test, only=cfg)[cfg]
            print("TEST %-22s %-22s mean %.4f median %.4f min %.3f  per patient: %s" % (
                cfg[0], cfg[1], np.mean(v), np.median(v), np.min(v), " ".join("%.3f" % d for d in v)))


if __name__ == "__main__":
    main()
