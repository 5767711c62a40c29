# Front door: `make run` (set up + run the default workflow), `make test` (set up + run the tests).
VENV ?= .venv
CORES ?= all
# The corpus mirror beside the repository, when present (see README "Corpus mirror").
MTAAL_CORPUS_MIRROR ?= $(wildcard $(abspath ..)/shared/corpora)
export MTAAL_CORPUS_MIRROR

.PHONY: setup run test lint benchmark clean

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

benchmark: setup
	$(VENV)/bin/python benchmarks/corpus_layer.py

clean:
	rm -rf results .snakemake
