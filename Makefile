# Front door: `make run` (set up + run the default workflow), `make test` (set up + run the tests).
VENV ?= .venv
CORES ?= all
# The corpus mirror beside the repository, when present (docs/corpora.md, "Corpus mirror").
MTAAL_CORPUS_MIRROR ?= $(wildcard $(abspath ..)/shared/corpora)
export MTAAL_CORPUS_MIRROR

# torch's build. By default the CPU build: a local +cpu wheel where pip has one, else PyTorch's CPU index
# (PyPI's Linux torch is the multi-GB CUDA build). For the CUDA build, in a new venv:
#   rm -rf .venv && make setup TORCH_INDEX=https://download.pytorch.org/whl/cu130
TORCH_CPU_INDEX = https://download.pytorch.org/whl/cpu
TORCH_INDEX ?= $(TORCH_CPU_INDEX)
# The torch version comes from the lock (torch==X, which every build of X satisfies).
TORCH_PIN = $(shell grep -m1 -o '^torch==[^ ]*' requirements-dev.lock)

.PHONY: setup run test lint lock benchmark clean check-default

setup: $(VENV)/.installed

# Exact versions from requirements-dev.lock (pyproject.toml's dependencies and its test and slurm extras;
# slurm: the executor plugin, for profiles/slurm and tests/integration/test_slurm.py); torch first, the
# build TORCH_INDEX names; then the package itself, without dependencies.
$(VENV)/.installed: pyproject.toml requirements-dev.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	@if [ "$(TORCH_INDEX)" = "$(TORCH_CPU_INDEX)" ] \
	    && $(VENV)/bin/pip install --quiet --no-index --no-deps '$(TORCH_PIN)+cpu' 2>/dev/null; then \
	    echo "torch: $(TORCH_PIN)+cpu from a local wheel"; \
	else \
	    echo "$(VENV)/bin/pip install --index-url $(TORCH_INDEX) $(TORCH_PIN)"; \
	    $(VENV)/bin/pip install --quiet --index-url $(TORCH_INDEX) '$(TORCH_PIN)'; \
	fi
	$(VENV)/bin/pip install --quiet -r requirements-dev.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	@$(VENV)/bin/python -c 'import torch; print("torch", torch.__version__, "(CUDA build)" if torch.version.cuda \
	    else "(CPU build; for CUDA: rm -rf $(VENV) && make setup TORCH_INDEX=https://download.pytorch.org/whl/cu130)")'
	touch $@

# Regenerate requirements*.lock and envs/mtaal.yaml from pyproject.toml (tools/lock.py says how), then
# `make setup`. Needs uv (UV=path/to/uv). LOCK_ARGS: e.g. --torch-from "--find-links DIR", --upgrade.
UV ?= uv
LOCK_ARGS ?=
lock:
	python3 tools/lock.py --uv $(UV) $(LOCK_ARGS)

run: setup
	$(VENV)/bin/snakemake --cores $(CORES)  # profiles/default is picked up

test: lint
	$(VENV)/bin/pytest -q -rs

# ruff on the package, snakefmt on the workflow files (`snakefmt Snakefile rules/` formats them).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/snakefmt --check Snakefile rules/

# The committed records (reproductions/<record>/README.md): `make reproduce-<name>` runs what the record
# lacks, most wanted first, a few at a time, adding each finished chunk to it (runs already in it never run
# again; commit reproductions/ as runs land); `make record-<name>` rebuilds its comparison, figures and
# STATUS.md from its committed store alone (no run). CHUNK=4 runs a Snakemake call of 4 runs at a time.
#   ncbi:      MTAAL Table 3 and Figs. 6-8 (NCBI) at the paper's scale.
#   multitask: the multitask paper on CPU (MiniLM, 48 runs in three stages, ~56 core-hours predicted,
#              benchmarks/README.md); MTL runs keep an epoch checkpoint and a cut-off run resumes from it.
#   multitask-steps: a control for it, CLL single-task at 5x the epochs (2 runs, ~1 core-hour).
ncbi_RECORD = reproductions/ncbi-paper-scale
ncbi_CONFIGS = config/config.yaml config/tiers/paper.yaml config/tiers/reproduce-ncbi.yaml
multitask_RECORD = reproductions/multitask-cpu
multitask_CONFIGS = config/config.yaml config/tiers/paper.yaml config/tiers/reproduce-multitask.yaml
multitask-steps_RECORD = reproductions/multitask-cpu-steps
multitask-steps_CONFIGS = $(multitask_CONFIGS) config/tiers/reproduce-multitask-steps.yaml
RECORDS = ncbi multitask multitask-steps
.PHONY: $(RECORDS:%=reproduce-%) $(RECORDS:%=record-%)

$(RECORDS:%=reproduce-%): reproduce-%: setup
	VENV=$(VENV) tools/reproduce_record.sh $($*_RECORD) $(CORES) $($*_CONFIGS)

$(RECORDS:%=record-%): record-%: setup
	$(VENV)/bin/mtaal $(foreach c,$($*_CONFIGS),--config $(c)) record rebuild $($*_RECORD)
	$(VENV)/bin/python tools/readme_cells.py --record $($*_RECORD)

# The default tier's figures and tables checked like the tiny tier's (tests/integration/
# test_default_tier_outputs.py) on the results/ that `make run` leaves.
check-default: run
	MTAAL_DEFAULT_TIER=results $(VENV)/bin/pytest -q -rs tests/integration/test_default_tier_outputs.py

benchmark: setup
	$(VENV)/bin/python benchmarks/corpus_layer.py

clean:
	rm -rf results .snakemake
