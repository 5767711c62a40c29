#!/usr/bin/env bash
# Snakemake's post-deploy hook for mtaal.yaml: run once in the new conda env, after conda installed the env
# file's pins, from the directory Snakemake runs in (this checkout: `snakemake` is run from the repository
# root). Installs this checkout's package without dependencies (they are the env file's pins), editable so
# that the env follows the checkout's code. A path in the env file's pip section would not do: conda runs pip
# from the directory of the env file's copy in .snakemake/conda/, not from envs/.
set -euo pipefail
if ! grep -q '^name = "mtaal"$' pyproject.toml 2>/dev/null; then
    echo "mtaal.post-deploy.sh: $PWD is not the mtaal checkout; run snakemake from the repository root" >&2
    exit 1
fi
python -m pip install --no-deps --editable "$PWD"
