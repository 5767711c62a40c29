# Front door: `make run` (set up + run the default workflow), `make test` (set up + run the tests).
VENV ?= .venv
CORES ?= all
# The corpus mirror beside the repository, when present (see README "Corpus mirror").
MTAAL_CORPUS_MIRROR ?= $(wildcard $(abspath ..)/shared/corpora)
export MTAAL_CORPUS_MIRROR

.PHONY: setup run test lint benchmark clean reproduce-ncbi record-ncbi

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	# CPU build of torch first: a plain `torch` requirement would pull the multi-GB CUDA build.
	$(VENV)/bin/pip install --quiet torch==2.13.0
	# slurm: the executor plugin, for profiles/slurm and its test (tests/integration/test_slurm.py)
	$(VENV)/bin/pip install --quiet -e '.[test,slurm]'
	touch $@

run: setup
	$(VENV)/bin/snakemake --profile profiles/local --cores $(CORES)

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -rs

# MTAAL Table 3 (NCBI) at the paper's scale, continuing the committed record (README, "What we reproduced"):
# the runs the record lacks, most wanted first, a few at a time, each finished chunk added to the record;
# runs already in it are not run again. Commit reproductions/ as runs land.
REPRO_CONFIGS = config/config.yaml config/tiers/paper.yaml config/tiers/reproduce-ncbi.yaml
REPRO_RECORD ?= reproductions/ncbi-paper-scale
MTAAL_REPRO = $(VENV)/bin/mtaal $(foreach c,$(REPRO_CONFIGS),--config $(c))

reproduce-ncbi: setup
	VENV=$(VENV) tools/reproduce_record.sh $(REPRO_RECORD) $(CORES) $(REPRO_CONFIGS)

# The record's comparison, figures and STATUS.md from its committed store (no run).
record-ncbi: setup
	$(MTAAL_REPRO) record rebuild $(REPRO_RECORD)
	$(VENV)/bin/python tools/readme_cells.py --record $(REPRO_RECORD)

benchmark: setup
	$(VENV)/bin/python benchmarks/corpus_layer.py

clean:
	rm -rf results .snakemake
