#!/usr/bin/env bash
# Keras import: re-convert both golden .h5 files and require byte-identical .mlw files; check that
# the converter refuses a model whose topology differs from ours.
set -euo pipefail
source .ci/python-env.sh h5py numpy
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in keras-golden keras2-golden; do
  "$PY" tools/keras_to_misalign.py "tests/fixtures/$d/model.h5" "$tmp/$d.mlw"
  cmp "$tmp/$d.mlw" "tests/fixtures/$d/model.mlw"
  echo "$d: converted file identical to the committed one"
done
# A copy of the Keras 3 model with the third max-pooling layer removed from its configuration.
"$PY" - "$tmp/bad.h5" <<'PY'
import json, shutil, sys, h5py
shutil.copy("tests/fixtures/keras-golden/model.h5", sys.argv[1])
with h5py.File(sys.argv[1], "r+") as h:
    cfg = json.loads(h.attrs["model_config"])
    layers = cfg["config"]["layers"]
    idx = [i for i, l in enumerate(layers) if l["class_name"] == "MaxPooling3D"][2]
    del layers[idx]
    h.attrs["model_config"] = json.dumps(cfg)
PY
if "$PY" tools/keras_to_misalign.py "$tmp/bad.h5" "$tmp/bad.mlw" 2>"$tmp/err"; then
  echo "FAIL: the converter accepted a model without its third max-pooling layer"; exit 1
fi
cat "$tmp/err"
grep -q "max pooling of block 3" "$tmp/err" || { echo "FAIL: refusal does not name the mismatch"; exit 1; }
[ ! -e "$tmp/bad.mlw" ] || { echo "FAIL: output written despite refusal"; exit 1; }
echo "converter refuses a wrong topology"
