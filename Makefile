PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install test demo corpus-tiny corpus-medium models bench clean

install:
	$(PIP) install -q -c .ci/constraints.txt torch
	$(PIP) install -q -c .ci/constraints.txt -e ".[all]"

test:
	$(PYTHON) -m pytest -q tests

demo: install
	$(PYTHON) -m saesep demo

corpus-tiny:
	$(PYTHON) -m saesep corpus build corpora/tiny --size tiny

corpus-medium:
	$(PYTHON) -m saesep corpus build corpora/medium --size medium

models:
	$(PYTHON) scripts/make_models.py

bench:
	$(PYTHON) bench/run_all.py

clean:
	rm -rf out separated build *.egg-info .pytest_cache
