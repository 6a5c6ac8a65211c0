# The README's two commands: `make run` and `make test`. Both create .venv when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
VNLP := vngrs-nlp==0.2.4
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha1sum | cut -c1-12)

.PHONY: install run test lint export-all clean

install: $(STAMP)

$(STAMP):
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# VNLP pins tensorflow<2.16; its code runs on TF 2.16+ with tf-keras, so skip its pins.
	$(PY) -m pip install --quiet --no-deps $(VNLP)
	rm -f $(VENV)/.installed-*
	touch $@

run: install
	$(PY) -m vnlp_batch +experiment=sample_all

test: install
	$(PY) -m ruff check src tests bench
	$(PY) -m pytest

# Every model exported and verified into the export cache ($$VNLP_BATCH_CACHE): task=all's five, then the
# alternatives (TreeStackDP pulls in TreeStackPoS). WEIGHTS=synthetic exports with the synthetic weights.
WEIGHTS ?= vnlp
export-all: install
	$(PY) -m vnlp_batch stage=export task=all weights=$(WEIGHTS)
	$(PY) -m vnlp_batch stage=export task=dep model=treestack_dp weights=$(WEIGHTS)
	$(PY) -m vnlp_batch stage=export task=ner model=charner weights=$(WEIGHTS)

lint: install
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench

clean:
	rm -rf $(VENV) outputs/runs outputs/multirun
