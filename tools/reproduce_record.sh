#!/usr/bin/env bash
# Continue a reproduction record: the runs it lacks, most wanted first, CHUNK at a time through Snakemake,
# each finished chunk added to the record (runs already in it are never run again; a cut-off run resumes
# from its checkpoint). Usage (what `make reproduce-ncbi` runs):
#   tools/reproduce_record.sh RECORD CORES CONFIG...      e.g. reproductions/ncbi-paper-scale 2 \
#       config/config.yaml config/tiers/paper.yaml config/tiers/reproduce-ncbi.yaml
set -euo pipefail
record=$1 cores=$2
shift 2
bin=${VENV:-.venv}/bin
chunk=${CHUNK:-4}  # 2 jobs per core pair: a chunk's tail leaves a core idle for at most one run
mtaal=("$bin/mtaal")
for config in "$@"; do mtaal+=(--config "$config"); done
"${mtaal[@]}" record add "$record"
mapfile -t runs < <("${mtaal[@]}" record missing "$record")
echo "$record: ${#runs[@]} runs to go"
for ((i = 0; i < ${#runs[@]}; i += chunk)); do
  "$bin/snakemake" --cores "$cores" --keep-going \
    --configfile "${@:2}" -- "${runs[@]:i:chunk}" || echo "some runs of this chunk failed (see their logs)"
  "${mtaal[@]}" record add "$record"
  "${mtaal[@]}" record rebuild "$record"
  "$bin/python" "$(dirname "$0")/readme_cells.py" --record "$record"
done
