"""The chapters' code passes ruff, as the library's does: an unused import or an undefined name in a chapter fails
here (and in `make lint`, which runs this file as a script), reported at the chapter's own file and line.

The chapters are MyST notebooks: their code cells are linted as one Python file in which every other line of the
chapter is blank, so that ruff's line numbers are the chapter's. Ignored there, as befits notebook code shown to a
reader: imports below the first cell (E402), their grouping (I001) and zip's strict= (B905). Lines are at most 74
characters, so that the narrowest of the book's code boxes at 1280 px (630 px, 8.43-px characters) shows them whole,
with room for − √ ᵀ, which another font draws wider. On a phone code boxes scroll.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")
CHAPTER_RULES = ["--ignore", "E402,I001,B905", "--line-length", "74"]


def chapter_code(source: str) -> str:
    """The code cells of a MyST chapter, each line where it stands in the chapter, every other line blank.

    A cell's options (a ``---`` block or ``:tags:`` lines) and IPython magics (``%``, ``!``) are blanked too.

    >>> chapter_code("Text\\n```{code-cell} ipython3\\n:tags: [hide-input]\\nx = 1\\n```\\n")
    '\\n\\n\\nx = 1\\n\\n'
    """
    lines, state = [], "text"
    for line in source.splitlines():
        keep = False
        if state == "text":
            state = "start" if line.startswith("```{code-cell}") else "text"
        elif state == "options":
            state = "code" if line == "---" else "options"
        elif line.startswith("```"):
            state = "text"
        elif state == "start" and line == "---":
            state = "options"
        elif not (state == "start" and re.match(r":[\w-]+:", line)):
            state, keep = "code", not line.lstrip().startswith(("%", "!"))
        lines.append(line if keep else "")
    return "\n".join(lines) + "\n"


def ruff_findings(path: Path, source: str) -> list[str]:
    """What ``ruff check`` finds in the chapter's code: one ``book/<name>.md:line:column: code message`` each."""
    name = path.relative_to(ROOT).as_posix()
    result = subprocess.run(
        [str(RUFF), "check", *CHAPTER_RULES, "--output-format", "concise", "--stdin-filename", f"{name}.py", "-"],
        input=chapter_code(source),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    findings = [line.replace(f"{name}.py:", f"{name}:") for line in result.stdout.splitlines() if line.startswith(name)]
    assert findings or result.returncode == 0, result.stdout + result.stderr
    return findings


CHAPTERS = sorted((ROOT / "book").glob("*.md"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_code_passes_ruff(path):
    findings = ruff_findings(path, path.read_text())
    assert not findings, "\n".join(findings)


def test_an_unused_import_and_an_undefined_name_are_reported_at_the_chapter_line():
    path = ROOT / "book" / "reinforce.md"
    lines = path.read_text().splitlines()
    fences = [i for i, line in enumerate(lines) if line.startswith("```{code-cell}") and lines[i + 1][:1] not in ":-"]
    assert len(fences) > 2, "reinforce.md has code cells without options"
    lines[fences[-1] + 1 : fences[-1] + 1] = ["import os", "print(undefined_name)"]  # the last such cell's first lines
    findings = ruff_findings(path, "\n".join(lines))
    line = fences[-1] + 2  # the inserted import's line number, counted from 1
    assert any(f.startswith(f"book/reinforce.md:{line}:8: F401") for f in findings), findings
    assert any(f.startswith(f"book/reinforce.md:{line + 1}:7: F821") for f in findings), findings


if __name__ == "__main__":  # `make lint`
    found = [finding for path in CHAPTERS for finding in ruff_findings(path, path.read_text())]
    print("\n".join(found) or f"ruff: the code of {len(CHAPTERS)} chapters passes")
    sys.exit(1 if found else 0)


# The library, under the chapters' names for it.
LIBRARY_CALL = re.compile(r"\b(pg|lqr|uf|su|deterministic)\.\w")
CHAPTERS = re.findall(r"file: book/([\w-]+)", (ROOT / "_toc.yml").read_text())
CHAPTERS = [name for name in CHAPTERS if name not in ("api", "references")]


def code_cells(name):
    """(options, source) of each code cell of a chapter's MyST source."""
    cells = []
    for block in re.findall(r"```\{code-cell\} ipython3\n(.*?)```", (ROOT / "book" / f"{name}.md").read_text(), re.S):
        options = ""
        if block.startswith("---\n"):
            options, _, block = block[4:].partition("---\n")
        elif block.startswith(":tags:"):
            options, _, block = block.partition("\n")
        cells.append((options, block))
    return cells


@pytest.mark.parametrize("name", CHAPTERS)
def test_long_plotting_cells_are_folded_and_library_calls_stay_visible(name):
    cells = code_cells(name)
    assert len(cells) > 3, name
    plotting = 0
    for options, source in cells:
        folded = "hide-input" in options
        lines = source.strip().count("\n") + 1
        if re.search(r"\b(plt|ax\w*|fig|figure)\.\w+\(", source):
            plotting += 1
            if lines > 15:
                assert folded, f"{name}: a plotting cell of {lines} lines is not folded:\n{source[:200]}"
        if folded:
            assert not LIBRARY_CALL.search(source), f"{name}: a folded cell calls the library:\n{source[:200]}"
    if "plt.show()" in "".join(source for _, source in cells):  # the pattern finds the cells that draw
        assert plotting, f"{name}: no plotting cell recognised"
