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
# each seed rank in turn (every run's first seed, then the further ones), finished runs added to the record
# after each; runs already in the record are not run again. Commit reproductions/ as runs land.
REPRO_CONFIGS = config/config.yaml config/tiers/paper.yaml config/tiers/reproduce-ncbi.yaml
REPRO_RECORD ?= reproductions/ncbi-paper-scale
MTAAL_REPRO = $(VENV)/bin/mtaal $(foreach c,$(REPRO_CONFIGS),--config $(c))

reproduce-ncbi: setup
	$(MTAAL_REPRO) record add $(REPRO_RECORD)
	for rank in 0 1 2; do \
	  targets="$$($(MTAAL_REPRO) record missing $(REPRO_RECORD) --rank $$rank)"; \
	  if [ -n "$$targets" ]; then \
	    $(VENV)/bin/snakemake --profile profiles/local --cores $(CORES) --keep-going \
	      --configfile $(wordlist 2,9,$(REPRO_CONFIGS)) -- $$targets; \
	    $(MTAAL_REPRO) record add $(REPRO_RECORD); \
	  fi; \
	done
	$(MTAAL_REPRO) record rebuild $(REPRO_RECORD)

# The record's comparison, figures and STATUS.md from its committed store (no run).
record-ncbi: setup
	$(MTAAL_REPRO) record rebuild $(REPRO_RECORD)

benchmark: setup
	$(VENV)/bin/python benchmarks/corpus_layer.py

clean:
	rm -rf results .snakemake
