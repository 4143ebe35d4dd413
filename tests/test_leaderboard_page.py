"""The leaderboard page in a real headless Chromium: the URL hash sorts the ranking and filters families.

The DOM is dumped after the page's script ran (``--dump-dom``) and parsed with the standard library.
Skipped when no Chromium is installed (on Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import BROWSER, MISSING, dump_dom
from test_bench_report import ENVS, write_results

from teachgym.bench.report import render

pytestmark = pytest.mark.skipif(BROWSER is None, reason=MISSING)


class Page(HTMLParser):
    """What the tests read from a dumped DOM: the title, and the rows and caption of each table by id."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.title = ""
        self.rows: dict[str, list[dict[str, str | None]]] = {}
        self.captions: dict[str, str] = {}
        self._in_caption = False
        self.figures: list[dict[str, str | None]] = []
        self._in_title = False
        self._table: str | None = None
        self._row: dict[str, str | None] | None = None
        self._cells: list[str | None] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "table":
            self._table = attributes.get("id") or ""
            self.rows.setdefault(self._table, [])
        elif tag == "caption" and self._table is not None:
            self._in_caption = True
            self.captions[self._table] = ""
        elif tag == "tr" and self._table is not None and "data-teacher" in attributes:
            self._row = attributes
            self._cells = []
        elif tag == "td" and self._row is not None:
            self._cells.append(attributes.get("data-value"))
        elif tag == "figure":
            self.figures.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "caption":
            self._in_caption = False
        elif tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._row["cells"] = "\t".join(cell or "" for cell in self._cells)
            self.rows[self._table].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._in_caption and self._table is not None:
            self.captions[self._table] += data


@pytest.fixture(scope="module")
def page_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = write_results(tmp_path_factory.mktemp("page"))
    render(directory, reps=100)
    return directory / "index.html"


def load(page_path: Path, fragment: str, tmp_path: Path) -> Page:
    """The DOM of ``index.html#fragment`` after its script ran, in a fresh headless Chromium profile."""
    return Page(dump_dom(f"{page_path.as_uri()}#{fragment}", tmp_path))


def scores(page: Page) -> list[float]:
    """The ranking's IQM sort values (third column), in page order."""
    return [float(row["cells"].split("\t")[2]) for row in page.rows["ranking"]]  # type: ignore[union-attr]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_hash_sorts_the_ranking(page_path: Path, tmp_path: Path, direction: str) -> None:
    page = load(page_path, f"sort=score-{direction}", tmp_path)
    assert page.title == "teachgym leaderboard: tiny"
    assert [row["data-teacher"] for row in page.rows["ranking"]] == (
        ["uniform", "greedy"] if direction == "asc" else ["greedy", "uniform"]
    )
    assert scores(page) == sorted(scores(page), reverse=direction == "desc")
    # The caption says the order shown, in words.
    words = "lowest first" if direction == "asc" else "highest first"
    assert page.captions["ranking"].startswith(f"Sorted by Score IQM [95% CI], {words} ")


def test_hash_sorts_by_a_text_column(page_path: Path, tmp_path: Path) -> None:
    page = load(page_path, "sort=teacher-desc", tmp_path)
    assert [row["data-teacher"] for row in page.rows["ranking"]] == ["uniform", "greedy"]
    assert page.captions["ranking"].startswith("Sorted by Teacher, Z to A ")


def test_hash_filters_the_family_tables_and_plots(page_path: Path, tmp_path: Path) -> None:
    page = load(page_path, "family=Beta", tmp_path)
    rows = page.rows["families"]
    assert {row["data-family"] for row in rows} == set(ENVS.values())
    visible = [row for row in rows if "hidden" not in row]
    assert visible and {row["data-family"] for row in visible} == {"Beta"}
    assert [f["data-family"] for f in page.figures if "hidden" not in f] == ["Beta"]
    # The ranking is suite-wide: the family filter leaves it alone.
    assert [row["data-teacher"] for row in page.rows["ranking"]] == ["greedy", "uniform"]


def test_without_a_hash_everything_shows_ranked_by_score(page_path: Path, tmp_path: Path) -> None:
    page = load(page_path, "", tmp_path)
    assert [row["data-teacher"] for row in page.rows["ranking"]] == ["greedy", "uniform"]
    assert page.captions["ranking"] == "Sorted by score IQM, highest first; ties by teacher name, A to Z."
    assert page.captions["families"].startswith("Sorted by family and task, in the suite's order")
    assert all("hidden" not in row for row in page.rows["families"])
    assert len(page.figures) == 2
