"""The book's own Sphinx extensions (book/_ext), without building the book.

The built pages are checked in tests/book/test_chapters_part1.py; these pin down the pieces: where a ``pg.X``
reference goes, how the reference list labels a work, and which lines a ``:no-docstring:`` listing keeps.
"""

import inspect
import sys

import pytest
from pybtex.database import parse_file

import pgbook as pg

from pages import ROOT, book_pages

sys.path.insert(0, str(ROOT / "book" / "_ext"))

import citation_labels  # noqa: E402
import code_listing  # noqa: E402
import library_dependency  # noqa: E402
import library_links  # noqa: E402
import notebook_download  # noqa: E402


@pytest.mark.parametrize(
    ("written", "documented"),
    [
        ("pg.state_values", "pgbook.evaluation.state_values"),
        ("pgbook.state_values", "pgbook.evaluation.state_values"),
        ("pg.GradientEstimate", f"{pg.GradientEstimate.__module__}.GradientEstimate"),
        ("pg.examples.short_corridor", "pgbook.examples.short_corridor"),
        ("pg.examples", "pgbook.examples"),
        ("pg.mistakes.CATALOGUE", "pgbook.mistakes.CATALOGUE"),
    ],
)
def test_a_library_reference_goes_where_the_name_is_defined(written, documented):
    assert library_links.defined_at(written) == documented


@pytest.mark.parametrize("written", ["pg.no_such_name", "pgbook.examples.no_such_name", "np.mean", "pg.np.mean"])
def test_a_name_the_library_does_not_have_stays_unresolved(written):
    assert library_links.defined_at(written) is None


def test_the_reference_list_is_labelled_author_year():
    entries = parse_file(ROOT / "book" / "references.bib").entries
    formatted = {entry.key: entry.label for entry in citation_labels.AuthorYearStyle().format_entries(entries.values())}
    for key, entry in entries.items():
        last_names = [" ".join(person.last_names) for person in entry.persons["author"]]
        author = {1: last_names[0], 2: " and ".join(last_names)}.get(len(last_names), f"{last_names[0]} et al.")
        assert formatted[key].rstrip("ab") == f"{author}, {entry.fields['year']}", key
    assert len(set(formatted.values())) == len(formatted), "two works share a label"
    assert formatted["kakade2001natural"] == "Kakade, 2001a" and formatted["kakade2001optimizing"] == "Kakade, 2001b"


def test_a_listing_without_docstring_keeps_signature_and_body():
    source = inspect.getsource(pg.off_policy.off_policy_gradient).splitlines()
    first, last, length = code_listing.docstring_lines(str(ROOT / "pgbook" / "off_policy.py"), "off_policy_gradient")
    assert length == len(source)
    docstring = source[first - 1 : last]
    assert docstring[0].strip().lstrip("rR").startswith('"""') and docstring[-1].strip().endswith('"""')
    kept = source[: first - 1] + source[last:]
    assert kept[0].startswith("def off_policy_gradient(") and kept[-1] == source[-1]
    assert '"""' not in "\n".join(kept) and ":math:" not in "\n".join(kept)


def test_every_chapter_depends_on_every_module_of_the_library_subpackages_included():
    """An incremental build re-executes the chapters when any library module changes: the figures' modules too
    (a change to pgbook/figures/frames.py once left the frames of the previous build in place)."""
    noted = []
    app = type("App", (), {"env": type("Env", (), {"note_dependency": staticmethod(noted.append)})()})()
    library_dependency.depend_on_library(app, "book/intro", [""])
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "pgbook").rglob("*.py")}
    assert {"pgbook/figures/frames.py", "pgbook/gradients.py"} <= modules
    assert {str(ROOT / module) for module in modules} == set(noted)


def imported_modules(source: str) -> set[str]:
    """The top-level modules a code cell imports (IPython's magics and shell lines left out)."""
    import ast

    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_install_note_installs_what_the_chapters_import():
    """A downloaded notebook's first cell installs ``pgbook[extras] @ git+...``: pgbook's dependencies and those
    extras' (pyproject.toml, the one list) provide every module a chapter's code imports, other than the standard
    library and the kernel's own IPython."""
    import importlib.metadata
    import re
    import tomllib

    import jupytext
    from packaging.requirements import Requirement

    note = notebook_download.install_note("https://github.com/example/pgbook")
    command = re.search(r'pip install [^\n]*"pgbook\[([\w,]+)\] @ git\+https://github.com/example/pgbook"', note)
    assert command, note
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [
        requirement for extra in command[1].split(",") for requirement in project["optional-dependencies"][extra]
    ]
    installed = {"pgbook"} | {Requirement(requirement).name.lower().replace("_", "-") for requirement in requirements}
    providers = importlib.metadata.packages_distributions()  # module -> the distributions that install it
    imported = {
        module: name
        for name in book_pages()
        for cell in jupytext.read(ROOT / "book" / f"{name}.md").cells
        if cell.cell_type == "code"
        for module in imported_modules(cell.source)
    }
    assert {"pgbook", "numpy", "matplotlib"} <= imported.keys(), "the chapters' imports were not found"
    missing = {
        module: name
        for module, name in imported.items()
        if module not in sys.stdlib_module_names
        and module != "IPython"
        and not {dist.lower().replace("_", "-") for dist in providers.get(module, [module])} & installed
    }
    assert missing == {}, f"imported by a chapter (module: chapter), not installed by the note: {missing}"


def test_a_citation_after_its_authors_names_is_textual():
    """ "Silver et al. [Silver et al., 2014]" repeats the authors: where a chapter names a work's authors just
    before citing it, the citation is {cite:t}, "Silver et al. [2014]". Every parenthetical {cite} is checked
    against the names author_year.py gives its works (the names the book prints)."""
    import re

    import author_year
    import jupytext

    entries = parse_file(ROOT / "book" / "references.bib").entries
    checked, repeated = 0, []
    for name in book_pages():
        cells = jupytext.read(ROOT / "book" / f"{name}.md").cells
        text = " ".join(cell.source for cell in cells if cell.cell_type == "markdown")
        for citation in re.finditer(r"\{cite\}`([^`]+)`", text):
            before = re.sub(r"\s+", " ", text[: citation.start()]).rstrip()
            for key in citation[1].split(","):
                checked += 1
                authors = author_year.names(entries[key.strip()])
                surnames = authors.removesuffix(" et al.").split(" and ")
                if before.endswith(authors) or before.endswith(surnames[0]) or before.endswith(surnames[-1]):
                    repeated.append(f"{name}: {before[-40:]} {citation[0]}")
    assert checked >= 10, f"only {checked} parenthetical citations found: is the pattern still right?"
    assert repeated == [], f"authors named, then cited with their names again ({{cite:t}} says it once): {repeated}"
