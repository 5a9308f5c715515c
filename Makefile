# Template commands. Each target sets up its own virtualenv with pinned requirements.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROJECT := {{cookiecutter.project_slug}}
# The generated project's install stamp (named by its requirements' checksum): this .venv holds its pins too,
# so `make demo` runs the rendered project without installing them again.
PROJECT_INSTALLED = $(BIN)/.installed-$(shell cksum < "$(PROJECT)/requirements-dev.txt" | cut -d' ' -f1)

.PHONY: help install test demo bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.txt $(PROJECT)/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ "$(PROJECT_INSTALLED)"

install: $(BIN)/.installed ## Create .venv with the pinned tools

test: install ## Run the template tests: hooks, option matrix, generated suites
	$(BIN)/python -m pytest -n auto tests

demo: install ## Render the default project into .demo/ and run its whole pipeline locally
	rm -rf .demo
	$(BIN)/cookiecutter --no-input --output-dir .demo .
	$(MAKE) --no-print-directory -C .demo/durable-data-pipeline local VENV=$(CURDIR)/$(VENV)

$(BIN)/.bench-installed: $(BIN)/.installed requirements-bench.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

bench: $(BIN)/.bench-installed ## What a batch costs (operations, quotas, dollars) vs the reference; writes docs/
	$(BIN)/python tests/benchmarks/run_benchmarks.py

clean: ## Remove the virtualenv and demo output
	rm -rf $(VENV) .demo .pytest_cache .hypothesis
