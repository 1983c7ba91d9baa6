#!/bin/bash
# One large raster segmented by a Slurm job array, then merged: array task K of 1..N runs
# `delineate segment --shard K/N` (K = SLURM_ARRAY_TASK_ID), and a merge job that depends on the whole array
# (afterok: only when every shard succeeded) runs `delineate merge`.
#
#   examples/slurm-array.sh /shared/in/orthomosaic.tif /shared/run1 4 [model]
#
# submits both jobs; shard K writes /shared/run1/shards/K, the result goes to /shared/run1/out. The folder must be on
# storage every node sees. Sizing (docs/scale-out.md): about 1 CPU and 1.5 GB per shard for landcover-deepglobe.
#SBATCH --job-name=delineate
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=04:00:00
set -euo pipefail

mode="${DELINEATE_MODE:-submit}"
input="$1"
run="$2"
shards="${3:-4}"
model="${4:-landcover-deepglobe}"

case "$mode" in
  submit)
    mkdir -p "$run/logs"
    array=$(sbatch --parsable --array="1-$shards" --output="$run/logs/shard-%a.out" \
      --export=ALL,DELINEATE_MODE=shard "$0" "$input" "$run" "$shards" "$model")
    merge=$(sbatch --parsable --dependency="afterok:$array" --output="$run/logs/merge.out" \
      --export=ALL,DELINEATE_MODE=merge "$0" "$input" "$run" "$shards" "$model")
    echo "shards: job $array (array 1-$shards); merge: job $merge after all of them"
    ;;
  shard)
    k="$SLURM_ARRAY_TASK_ID"
    exec delineate segment "$input" --model "$model" --threads "${SLURM_CPUS_PER_TASK:-1}" \
      --shard "$k/$shards" --out "$run/shards/$k"
    ;;
  merge)
    dirs=()
    for k in $(seq 1 "$shards"); do dirs+=("$run/shards/$k"); done
    exec delineate merge "${dirs[@]}" --out "$run/out"
    ;;
  *)
    echo "slurm-array.sh: unknown DELINEATE_MODE \"$mode\"" >&2
    exit 2
    ;;
esac
