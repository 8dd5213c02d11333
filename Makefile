# The two quick-start commands are `make book` and `make test`; both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install book test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

book: install
	$(BIN)/jupyter-book build . -W -n --keep-going

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: install
	$(BIN)/ruff check pgbook tests benchmarks
	$(BIN)/ruff format --check pgbook tests benchmarks

bench: install
	$(BIN)/python benchmarks/gradients.py
	$(BIN)/python benchmarks/sampling.py
	$(BIN)/python benchmarks/efficiency.py
	$(BIN)/python benchmarks/widgets.py
	$(BIN)/python benchmarks/book.py

clean:
	rm -rf _build $(VENV)
