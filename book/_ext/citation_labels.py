"""One citation style: the reference list labels each work as the text cites it, "Williams, 1992".

pybtex's default ``alpha`` style labels the list "[Wil92]" while the text cites author-year. This registers

- the pybtex formatting style ``author_year`` (``bibtex_default_style``): the list sorted by the authors' last
  names, year and title, each labelled "Author, year" with the citations' own person template ("Sutton and
  Barto, 2018", "Sutton et al., 2000"); two works with the same author and year get "2001a", "2001b";
- the referencing style ``author_year_labelled`` (``bibtex_reference_style``): sphinxcontrib-bibtex's
  ``author_year`` with the year taken from that label, so that the text cites "Kakade, 2001a" for the work the
  list labels "Kakade, 2001a" ({cite} gives "[Williams, 1992]", {cite:t} "Williams [1992]").
"""

from __future__ import annotations

from dataclasses import dataclass

import author_year
import pybtex.plugin
import sphinxcontrib.bibtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from pybtex.style.template import node
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.template import join, join2, post_text, pre_text, reference

LIST_STYLE, REFERENCE_STYLE = "author_year", "author_year_labelled"


@node
def label_year(children, data) -> Text:
    """The year as the list's label has it: "2001a" where one author has two works of 2001."""
    assert not children
    return Text(data["formatted_entry"].label.rsplit(", ", 1)[-1])


class AuthorYearLabels(BaseLabelStyle):
    """ "Williams, 1992", "Sutton and Barto, 2018", "Sutton et al., 2000", "Kakade, 2001a" (author_year.py)."""

    def format_labels(self, sorted_entries):
        yield from author_year.labels(sorted_entries)


class ByLastNames(BaseSortingStyle):
    """By the authors' last names, then year and title (author_year.py)."""

    def sorting_key(self, entry):
        return author_year.order(entry)


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = ByLastNames


@dataclass
class Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name: str):
        author = self.person.author_or_editor_or_title(full="s" in role_name)
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text, reference[join(sep=self.author_year_sep)[author, label_year]], post_text
        ]


@dataclass
class Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name: str):
        author = self.person.author_or_editor_or_title(full="s" in role_name)
        return join(sep=self.text_reference_sep)[
            author,
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[pre_text, reference[label_year], post_text],
                self.bracket.right,
            ],
        ]


@dataclass
class LabelledAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    def __post_init__(self):
        super().__post_init__()
        basic = [
            Parenthetical(
                bracket=self.bracket_parenthetical,
                person=self.person,
                author_year_sep=self.author_year_sep,
                pre_text_sep=self.pre_text_sep,
                post_text_sep=self.post_text_sep,
            ),
            Textual(
                bracket=self.bracket_textual,
                person=self.person,
                text_reference_sep=self.text_reference_sep,
                pre_text_sep=self.pre_text_sep,
                post_text_sep=self.post_text_sep,
            ),
        ]
        self.styles[:2] = basic
        self.role_style.update((role, style) for style in basic for role in style.role_names())


def check_config(app: Sphinx, config: Config) -> None:
    for option, name in (("bibtex_default_style", LIST_STYLE), ("bibtex_reference_style", REFERENCE_STYLE)):
        if config[option] != name:
            raise ConfigError(f"citation_labels: set {option}: {name} in _config.yml (it is {config[option]!r})")


def setup(app: Sphinx) -> dict:
    pybtex.plugin.register_plugin("pybtex.style.formatting", LIST_STYLE, AuthorYearStyle, force=True)
    sphinxcontrib.bibtex.plugin.register_plugin(
        "sphinxcontrib.bibtex.style.referencing", REFERENCE_STYLE, LabelledAuthorYearReferenceStyle, force=True
    )
    app.connect("config-inited", check_config)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
