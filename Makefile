# The two quick-start commands are `make book` and `make test`; both create .venv on first use.
PYTHON ?= python3
# One thread per process for torch and OpenBLAS: the book's arrays are small, and on a machine whose cores are
# busy (the test run keeps both busy) a thread pool makes every small operation wait; see tests/conftest.py.
export OMP_NUM_THREADS ?= 1
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install book test lint bench clean

install: $(VENV)/.installed

# requirements.txt names PyTorch's CPU wheel index (for Binder). Where that index cannot be reached, pip would
# retry it for every package, so the install goes without it (torch==2.13.0 then comes from local disk or PyPI).
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu

$(VENV)/.installed: requirements.txt pyproject.toml postBuild
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if $(BIN)/python -c "import urllib.request; urllib.request.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=10)" 2>/dev/null; \
	then $(BIN)/python -m pip install --quiet -r requirements.txt; \
	else grep -v -e '^--extra-index-url' requirements.txt > $(VENV)/requirements-offline.txt \
	  && $(BIN)/python -m pip install --quiet -r $(VENV)/requirements-offline.txt; fi
	PATH="$(CURDIR)/$(BIN):$$PATH" ./postBuild
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
