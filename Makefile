# The two quick-start commands are `make book` and `make test`; both create .venv on first use.
PYTHON ?= python3
# One thread per process for torch and OpenBLAS: the book's arrays are small, and on a machine whose cores are
# busy (the test run keeps both busy) a thread pool makes every small operation wait; see tests/conftest.py.
export OMP_NUM_THREADS ?= 1
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install book pdf test check lint bench bench-memory clean

install: $(VENV)/.installed

# requirements.txt names PyTorch's CPU wheel index (for Binder). Where that index cannot be reached, pip would
# retry it for every package, so by default the install goes without it (torch==2.13.0 then comes from PyPI or a
# local cache), decided without a network probe: `make install TORCH_CPU_INDEX=yes` uses the index.
TORCH_CPU_INDEX ?= no
# pip byte-compiles the installed files one at a time, most of the install's time: compileall does it on every
# core instead. quiet=2 skips, as pip does, the few files that are not Python 3.11 (torch's 3.12 test helpers).

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml book/_ext/jupyter/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if [ "$(TORCH_CPU_INDEX)" = yes ]; \
	then $(BIN)/python -m pip install --quiet --no-compile -r requirements-dev.txt; \
	else grep -v -e '^--extra-index-url' requirements.txt > $(VENV)/requirements-offline.txt \
	  && grep -v -e '^-r ' requirements-dev.txt >> $(VENV)/requirements-offline.txt \
	  && $(BIN)/python -m pip install --quiet --no-compile -r $(VENV)/requirements-offline.txt; fi
	$(BIN)/python -c "import compileall, sysconfig; compileall.compile_dir(sysconfig.get_path('purelib'), quiet=2, workers=0)"
	touch $@

book: install
	$(BIN)/jupyter-book build . -W -n --keep-going

# The whole book as one PDF, _build/html/pgbook.pdf (linked from the preface), printed from the built HTML
# book by Debian's Chromium (book/pdf.py): `make book` first.
pdf: install
	$(BIN)/python book/pdf.py _build/html

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The development loop, under 30 s on two idle cores: lint, then the library's tests (tests/library, and the
# doctests of pgbook) but the long statistical checks marked slow. The book's and the browsers' tests (tests/book,
# tests/browser) build the book first: the full `make test` stays the README's and CI's command. --durations shows
# where the time goes.
check: install lint
	$(BIN)/python -m pytest -n 2 tests/library pgbook -m "not slow" -q --durations=5

# The chapters' code too (book/*.md): tests/book/test_chapter_code.py reports each finding at the chapter's line.
# The browser tests' JavaScript (tests/browser/js) is only syntax-checked, by Node where it is installed (no
# JavaScript linter is installed offline); the browser tests run every file of it in Chromium.
lint: install
	$(BIN)/ruff check pgbook tests benchmarks book/_ext book/pdf.py
	$(BIN)/ruff format --check pgbook tests benchmarks book/_ext book/pdf.py
	$(BIN)/python tests/book/test_chapter_code.py
	if command -v node >/dev/null; then for file in tests/browser/js/*.js; do node --check "$$file" || exit 1; done; fi

bench: install
	$(BIN)/python benchmarks/gradients.py
	$(BIN)/python benchmarks/natural.py
	$(BIN)/python benchmarks/sampling.py
	$(BIN)/python benchmarks/sampling_memory.py
	$(BIN)/python benchmarks/efficiency.py
	$(BIN)/python benchmarks/widgets.py
	$(BIN)/python benchmarks/browser.py
	$(BIN)/python benchmarks/book.py

# Peak memory and time of sample_episodes for max_steps 10^3 .. 10^6 (benchmarks/results/sampling_memory.md).
bench-memory: install
	$(BIN)/python benchmarks/sampling_memory.py

clean:
	rm -rf _build $(VENV)
