"""Writes the fixed test splits models/training/splits/<m>_test.txt (run once; the files are committed).

Each test split is a seeded random half of that model's current validation set (no retraining budget): the test
items stay listed in <m>_val.txt, so every training script keeps them out of training, and the validation figures
are computed on <m>_val.txt minus <m>_test.txt. Test items are used for the final figures only; every choice
(flips, clean-up, thresholds, steps, temperature, range thresholds) is made on the validation half.
Buildings: its validation set is one 512x512 quadrant per tile, so each quadrant is cut into four 256x256 blocks
and two of the four blocks of every tile are drawn for test (the other two stay validation).
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
SPLITS = os.path.join(HERE, "splits")
SEED = 20261205


def read(name):
    return [l.strip() for l in open(os.path.join(SPLITS, name)) if l.strip() and not l.startswith("#")]


def write(name, header, lines):
    with open(os.path.join(SPLITS, name), "w") as f:
        for h in header:
            f.write("# %s\n" % h)
        for l in lines:
            f.write(l + "\n")


def half(name, model, what):
    val = sorted(read(name))
    test = sorted(random.Random(SEED).sample(val, len(val) // 2))
    write(name.replace("_val.txt", "_test.txt"), [
        "%s test %s: random.Random(%d).sample of the %d sorted ids of %s, n=%d (make_test_splits.py)" % (model, what, SEED, len(val), name, len(test)),
        "Used for the final figures only. They stay listed in %s, so training keeps them out; validation =" % name,
        "%s minus these %d (every choice is made there)." % (name, len(test)),
    ], test)


def buildings():
    blocks = []
    for l in read("buildings_val.txt"):
        t, r, c, s = l.split()
        r, c, s = int(r), int(c), int(s)
        b = s // 2
        quads = ["%s %d %d %d" % (t, r + dy, c + dx, b) for dy in (0, b) for dx in (0, b)]
        blocks += sorted(random.Random("%d %s" % (SEED, t)).sample(quads, 2))
    write("buildings_test.txt", [
        "buildings-joplin test regions: tile row0 col0 size (pixels, top-left corner), make_test_splits.py",
        "Each 512x512 validation quadrant of buildings_val.txt is cut into four 256x256 blocks; two per tile drawn",
        "with random.Random('%d <tile>').sample. Final figures only; validation = the other two blocks per tile." % SEED,
    ], blocks)


if __name__ == "__main__":
    half("brain_val.txt", "brain-flair-lgg", "patients")
    half("landcover_val.txt", "landcover-deepglobe", "tiles")
    half("sentinel2_val.txt", "landcover-sentinel2-korea", "patches")
    buildings()
