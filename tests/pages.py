"""The book's pages: which there are, and reading them once built (a page's text, the numbers a pattern finds in
it, what the gradient explorer draws).

Every reader fails the test when its pattern finds nothing, or not the number of matches the caller expects: a
test cannot pass because a page's wording changed and nothing was checked.
"""

import html
import re
from pathlib import Path

import numpy as np
import yaml

# The repository's root folder.
ROOT = Path(__file__).resolve().parents[1]

# A printed number, as one regex group: -1, 0.25, 3.1e-05, 2e+03.
NUMBER = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"


def book_pages() -> list[str]:
    """The book's pages in table-of-contents order (names under book/, without extension)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    return [Path(file).name for file in files]


def pages_containing(text: str) -> list[str]:
    """The pages whose source contains ``text`` (for example the call that shows an interactive figure)."""
    return [page for page in book_pages() if text in (ROOT / "book" / f"{page}.md").read_text()]


def plain(fragment: str) -> str:
    """An HTML fragment's text: tags removed (not replaced by spaces), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def page_text(built_book, name: str) -> tuple[str, str]:
    """The page ``book/<name>.html`` of the built book: its HTML, and its text with every tag replaced by a space."""
    source = (built_book / "book" / f"{name}.html").read_text()
    return source, html.unescape(re.sub(r"<[^>]+>", " ", source))


def article(built_book, name: str) -> str:
    """The page's own text as HTML: the article, without the sidebar and the previous/next links."""
    source = (built_book / "book" / f"{name}.html").read_text()
    return source[source.index('<article class="bd-article">') : source.index("</article>")]


def prose(built_book, name: str) -> str:
    """The page's whole text, tags removed (see :func:`plain`)."""
    return plain((built_book / "book" / f"{name}.html").read_text())


def outputs(built_book, name: str) -> str:
    """The text printed by the page's code cells, in order, joined by newlines; fails if the page printed nothing."""
    source = (built_book / "book" / f"{name}.html").read_text()
    blocks = re.findall(r'<div class="output stream[^"]*"><div class="highlight"><pre>(.*?)</pre>', source, re.S)
    assert blocks, f"{name}: no printed output found"
    return "\n".join(plain(block) for block in blocks)


def numbers(pattern: str, text: str, count: int | None = None) -> list[tuple[float, ...]]:
    """The groups of every match of ``pattern`` in ``text``, as a tuple of floats per match.

    Fails if ``pattern`` matches nothing, or (given ``count``) not exactly ``count`` times.

    >>> numbers(r"x = " + NUMBER + ", y = " + NUMBER, "x = 1.5, y = -2e-03; x = 0, y = 1", count=2)
    [(1.5, -0.002), (0.0, 1.0)]
    """
    found = [tuple(float(group) for group in match.groups()) for match in re.finditer(pattern, text)]
    assert found, f"the page holds nothing matching {pattern!r}"
    if count is not None:
        assert len(found) == count, f"{len(found)} matches of {pattern!r}, expected {count}: {found}"
    return found


def one(pattern: str, text: str) -> tuple[float, ...]:
    """The groups of the one match of ``pattern``, as floats; fails unless it matches exactly once.

    >>> (z,) = one(r"z = " + NUMBER, "the largest z = 2.5")
    >>> z
    2.5
    """
    return numbers(pattern, text, count=1)[0]


def table(pattern: str, text: str, count: int) -> dict[str, float | tuple[float, ...]]:
    """Labelled rows: the first group of each match of ``pattern`` (stripped) maps to its other groups as floats
    (one float when there is one other group). Fails unless there are exactly ``count`` rows with distinct labels.

    >>> table(r"(\\w+) +error " + NUMBER, "exact  error 0.0\\nsampled error 0.25", count=2)
    {'exact': 0.0, 'sampled': 0.25}
    """
    matches = re.findall(pattern, text)
    assert matches, f"the page holds nothing matching {pattern!r}"
    rows = {}
    for label, *values in matches:
        assert label.strip() not in rows, f"two rows labelled {label.strip()!r} match {pattern!r}"
        rows[label.strip()] = float(values[0]) if len(values) == 1 else tuple(float(value) for value in values)
    assert len(rows) == count, f"{len(rows)} rows match {pattern!r}, expected {count}: {rows}"
    return rows


# The gradient explorer (pgbook/figures/explorer.js) writes what it draws into its element's data attributes:
# the controls' positions (data-state, in this order), the estimate's mean and standard error, the exact and
# finite-difference gradients (comma-separated), and the cosine.
CONTROLS = ("theta0", "theta1", "gamma", "n", "estimator", "baseline")


def drawn(figure) -> tuple[dict[str, int], dict[str, np.ndarray], float]:
    """What the explorer ``figure`` (a Playwright locator of its element) draws: the controls' positions, the
    vectors (``mean``, ``se``, ``exact``, ``fd``) and the cosine. Fails if an attribute is missing."""
    data = figure.evaluate("(el) => ({...el.dataset})")
    missing = {"state", "mean", "se", "exact", "fd", "cosine"} - set(data)
    assert not missing, f"the explorer does not show {sorted(missing)}: {data}"
    state = dict(zip(CONTROLS, map(int, data["state"].split(",")), strict=True))
    vectors = {key: np.array([float(x) for x in data[key].split(",")]) for key in ("mean", "se", "exact", "fd")}
    return state, vectors, float(data["cosine"])


def check_numbered(body: str, number: int) -> None:
    """The chapter (its article HTML) is chapter ``number``: its title, every section and every equation number
    start with it, and it has at least one section and one numbered equation."""
    (title,) = re.findall(r"<h1>(.*?)</h1>", body)
    assert plain(title).startswith(f"{number}. "), plain(title)
    sections = [plain(heading) for heading in re.findall(r"<h2>(.*?)</h2>", body)]
    assert sections and all(re.match(rf"{number}\.\d+\. ", section) for section in sections), sections
    equations = re.findall(r'<span class="eqno">\((\d+)\.(\d+)\)', body)
    assert equations and all(int(chapter) == number for chapter, _ in equations), equations
