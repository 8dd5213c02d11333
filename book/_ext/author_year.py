"""The book's author-year labels, from pybtex alone (no Sphinx), so that the reference list (citation_labels.py,
a Sphinx extension) and JupyterLab's server (jupyter_chapters.py, where Sphinx is not installed) label each
work the same way: "Williams, 1992", "Sutton and Barto, 2018", "Sutton et al., 2000", "Kakade, 2001a"."""

from __future__ import annotations

import string
from collections import Counter

import pybtex.plugin

# pybtex's "last names" style and plain-text output, found once: each lookup of a pybtex plugin (what
# ``render_as("text")`` does on every call) reads every installed package's entry points, 50 ms here.
LAST_NAMES = pybtex.plugin.find_plugin("pybtex.style.names", "last")()
TEXT = pybtex.plugin.find_plugin("pybtex.backends", "text")()


def persons(entry) -> list:
    """A work's authors, or else its editors."""
    return entry.persons.get("author") or entry.persons.get("editor") or []


def order(entry) -> tuple:
    """The list's order: the authors' last names, then year and title (an author's works of one year together)."""
    last_names = tuple(" ".join(person.last_names).lower() for person in persons(entry))
    return last_names, entry.fields.get("year", ""), entry.fields.get("title", "").lower()


def names(entry) -> str:
    """ "Williams", "Sutton and Barto", "Sutton et al.": one or two last names, or the first and "et al."."""
    last = [LAST_NAMES.format(person, True).format().render(TEXT) for person in persons(entry)]
    return last[0] + " et al." if len(last) > 2 else " and ".join(last)


def labels(entries) -> list[str]:
    """ "Author, year" for each entry, in the order given (the list's): two works with the same label get the
    years "2001a", "2001b" in that order."""
    plain = [f"{names(entry)}, {entry.fields.get('year', 'n.d.')}" for entry in entries]
    repeated = {label for label, count in Counter(plain).items() if count > 1}
    seen: Counter[str] = Counter()
    suffixed = []
    for label in plain:
        if label in repeated:
            seen[label] += 1
            label += string.ascii_lowercase[seen[label] - 1]
        suffixed.append(label)
    return suffixed
