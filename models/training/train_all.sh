#!/usr/bin/env bash
# Train (or resume / re-export) the four Delineate models in sequence: brain, landcover, buildings, Sentinel-2 land cover.
#   models/training/train_all.sh --resume        # start, or continue from checkpoints/<id>/ (newest)
#   models/training/train_all.sh --export-only   # re-validate + re-export every model from its checkpoint
# Background use (survives logout):
#   nohup setsid nice -n 10 models/training/train_all.sh --resume > models/training/logs/train_all.out 2>&1 &
# Extra arguments are passed to every script (so do not pass --steps here; run a single script for that).
set -u
cd "$(dirname "$0")"
export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
export MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1
export OMP_WAIT_POLICY=PASSIVE
export OMP_NUM_THREADS=2
mkdir -p logs
status=0
# TRAIN_ORDER picks the order (e.g. to finish the short runs first on a busy machine).
for s in ${TRAIN_ORDER:-train_brain.py train_landcover.py train_buildings.py train_sentinel2.py}; do
  echo "=== $(date '+%F %T') $s $*"
  if ! /usr/bin/python3 "$s" "$@"; then
    echo "=== $(date '+%F %T') $s FAILED"
    status=1
  fi
done
echo "=== $(date '+%F %T') train_all done (status $status)"
exit $status
