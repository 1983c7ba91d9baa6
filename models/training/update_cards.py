#!/usr/bin/env python3
"""Fill the "Python training-time validation" block of every models/<id>/README.md from models/<id>/manifest.json.

The block lies between the markers <!-- metrics:start --> and <!-- metrics:end -->. Called automatically after
each export (run_training) and safe to run by hand:  /usr/bin/python3 models/training/update_cards.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.environ.get("DELINEATE_SCRATCH") or os.path.dirname(HERE)
START, END = "<!-- metrics:start -->", "<!-- metrics:end -->"


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.4f" % v
    return str(v)


# The training scripts' own record of each run (logs/<name>_val_metrics.json) keeps the step at which the baseline
# was taken; the manifests keep only the figures.
RUN_LOGS = {"landcover-deepglobe": "landcover", "buildings-joplin": "buildings", "landcover-sentinel2-korea": "sentinel2"}


def baseline_step(model_id, base):
    if isinstance(base.get("step"), int):
        return base["step"]
    name = RUN_LOGS.get(model_id)
    path = os.path.join(HERE, "logs", "%s_val_metrics.json" % name) if name else None
    if path and os.path.exists(path):
        step = (json.load(open(path)).get("baseline") or {}).get("step")
        if isinstance(step, int):
            return step
    return None


def block(man):
    tr = man.get("training", {})
    val = tr.get("validation", {})
    fin, base = val.get("final") or {}, val.get("baseline") or {}
    steps = tr.get("steps", 0)
    bstep = baseline_step(man.get("id"), base)
    # The baseline is taken once, at 20% of the first run's schedule; later resumes stretch the schedule.
    where = "step %s, 20%% of the first run's schedule" % bstep if bstep else "~20% of the first run's schedule"
    head = ("| metric | %s | shipped |" % val["baseline_label"] if val.get("baseline_label") else
            "| metric | baseline (%s) | shipped (step %s) |" % (where, steps))
    lines = ["%s." % val.get("source", "Python training-time validation"), "", head, "|---|---|---|"]
    for k in fin:
        if k == "step":
            continue
        lines.append("| %s | %s | %s |" % (k, fmt(base.get(k)), fmt(fin.get(k))))
    lines += ["", "Training steps: %s; training time: %.1f min of CPU wall time (2 cores, excluding validation)."
              % (steps, tr.get("seconds", 0) / 60.0)]
    if tr.get("ensemble"):
        lines.append("Ensemble: %s; members: %s." % (tr["ensemble"], "; ".join(
            "seed %s, %s steps, alone %s (flip + largest lesion)" % (m.get("seed"), m.get("steps"),
                                                                    fmt(m.get("dice_mean_tta_largest")))
            for m in tr.get("members", []))))
    if val.get("postprocessing"):
        lines.append("Post-processing variants: %s." % val["postprocessing"])
    lines.append("App-side `npm run eval` figures: see \"Evaluation through the app\" below.")
    return "\n".join(lines)


def update(model_id):
    d = os.path.join(MODELS, model_id)
    man_p, card_p = os.path.join(d, "manifest.json"), os.path.join(d, "README.md")
    if not (os.path.exists(man_p) and os.path.exists(card_p)):
        return False
    man = json.load(open(man_p))
    card = open(card_p).read()
    if START not in card or END not in card:
        return False
    a, b = card.index(START) + len(START), card.index(END)
    card = card[:a] + "\n" + block(man) + "\n" + card[b:]
    with open(card_p, "w") as f:
        f.write(card)
    return True


def main(ids=None):
    ids = ids or ["brain-flair-lgg", "landcover-deepglobe", "buildings-joplin", "landcover-sentinel2-korea"]
    for i in ids:
        print(i, "updated" if update(i) else "skipped (no manifest/card yet)")


if __name__ == "__main__":
    main(sys.argv[1:])
