"""Copies each model's manifest.json into its model.onnx (metadata_props `delineate_manifest`), leaving the graph
and the weights as they are: after `npm run eval -- --fit-calibration` writes a calibration block, so the ONNX file
stays self-contained (and equal to manifest.json, which test/engine/shipped-models.test.ts checks).
Usage: /usr/bin/python3 models/training/embed_manifest.py brain-flair-lgg [landcover-deepglobe ...]
"""
import json
import os
import sys

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..")


def embed(model_id):
    folder = os.path.join(MODELS, model_id)
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    path = os.path.join(folder, manifest.get("file", "model.onnx"))
    m = onnx.load(path)
    graph_before = m.graph.SerializeToString()
    props = [p for p in m.metadata_props if p.key != "delineate_manifest"]
    del m.metadata_props[:]
    for p in props:
        e = m.metadata_props.add()
        e.key, e.value = p.key, p.value
    e = m.metadata_props.add()
    e.key, e.value = "delineate_manifest", json.dumps(manifest)
    assert m.graph.SerializeToString() == graph_before, "the graph changed"
    onnx.checker.check_model(m)
    tmp = path + ".tmp"
    onnx.save(m, tmp)
    os.replace(tmp, path)
    print("%s: manifest embedded (%d bytes), graph unchanged" % (path, len(e.value)))


if __name__ == "__main__":
    for model_id in sys.argv[1:]:
        embed(model_id)
