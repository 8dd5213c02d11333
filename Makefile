# The two quick-start commands are `make book` and `make test`; both create .venv on first use.
PYTHON ?= python3
# One thread per process for torch and OpenBLAS: the book's arrays are small, and on a machine whose cores are
# busy (the test run keeps both busy) a thread pool makes every small operation wait; see tests/conftest.py.
export OMP_NUM_THREADS ?= 1
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install book test lint bench bench-memory clean

install: $(VENV)/.installed

# requirements.txt names PyTorch's CPU wheel index (for Binder). Where that index cannot be reached, pip would
# retry it for every package, so the install goes without it (torch==2.13.0 then comes from local disk or PyPI).
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
# pip byte-compiles the installed files one at a time, most of the install's time: compileall does it on every
# core instead. quiet=2 skips, as pip does, the few files that are not Python 3.11 (torch's 3.12 test helpers).

$(VENV)/.installed: requirements.txt pyproject.toml postBuild
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if $(BIN)/python -c "import urllib.request; urllib.request.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=10)" 2>/dev/null; \
	then $(BIN)/python -m pip install --quiet --no-compile -r requirements.txt; \
	else grep -v -e '^--extra-index-url' requirements.txt > $(VENV)/requirements-offline.txt \
	  && $(BIN)/python -m pip install --quiet --no-compile -r $(VENV)/requirements-offline.txt; fi
	$(BIN)/python -c "import compileall, sysconfig; compileall.compile_dir(sysconfig.get_path('purelib'), quiet=2, workers=0)"
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
	$(BIN)/python benchmarks/sampling_memory.py
	$(BIN)/python benchmarks/efficiency.py
	$(BIN)/python benchmarks/widgets.py
	$(BIN)/python benchmarks/book.py

# Peak memory and time of sample_episodes for max_steps 10^3 .. 10^6 (benchmarks/results/sampling_memory.md).
bench-memory: install
	$(BIN)/python benchmarks/sampling_memory.py

clean:
	rm -rf _build $(VENV)
