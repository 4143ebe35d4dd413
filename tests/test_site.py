"""The documentation site: environment pages generated from the registries and the env objects, a
tutorial whose code runs, a strict MkDocs build with a link check, and the built pages in a real
headless Chromium (skipped when none is installed; on Debian: ``apt-get install chromium``)."""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
from html.parser import HTMLParser
from pathlib import Path

import gymnasium as gym
import pytest
from browser import BROWSER, MISSING, dump_dom

import teachgym.envs as envs
from teachgym import agents, cli
from teachgym.errors import SiteBuildError
from teachgym.site import __main__ as site_main
from teachgym.site.build import SOURCE, build
from teachgym.site.docstrings import attribute_docs, sections
from teachgym.site.pages import REQUIRED_SECTIONS, family_page, family_sections

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = SOURCE / "docs" / "tutorial.md"
needs_browser = pytest.mark.skipif(BROWSER is None, reason=MISSING)
#: The build needs MkDocs (the 'test' extra); the pages' generation and the tutorial do not.
needs_mkdocs = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None, reason="MkDocs is not installed"
)


# ---------------------------------------------------------------------------------- generated pages
@pytest.mark.parametrize("family", list(envs.FAMILIES))
def test_every_family_docstring_has_the_gymnasium_sections_and_a_reference(family: str) -> None:
    found = family_sections(family)
    assert all(found[heading].strip() for heading in REQUIRED_SECTIONS)
    assert re.search(r"\(\d{4}\)", found["References"]), "each reference names its year"


def test_a_family_docstring_without_a_section_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = envs.family_class("Tutor").FAMILY
    monkeypatch.setattr(rules, "__doc__", rules.__doc__.replace("## Rewards", "## Reward"))
    with pytest.raises(SiteBuildError, match=r"family 'Tutor'.*lacks the sections \['Rewards'\]"):
        family_page("Tutor")


def test_docstring_sections_and_attributes_are_read_as_markdown() -> None:
    class Settings:
        """Settings.

        Attributes:
            a, b: shared meaning, see :class:`~x.y.Thing`
                over two lines.
            c: another, see :data:`x.y.TABLE`.

        Raises:
            Nothing: not an attribute.
        """

    assert attribute_docs(Settings) == {
        "a": "shared meaning, see `Thing` over two lines.",
        "b": "shared meaning, see `Thing` over two lines.",
        "c": "another, see `x.y.TABLE`.",
    }
    doc = """Lead.\n\n    ## Rewards\n\n    The gain.\n    """
    assert sections(doc) == {"": "Lead.", "Rewards": "The gain."}


def test_a_family_page_prints_every_id_its_spaces_its_settings_and_its_teachers() -> None:
    page = family_page("Tutor")
    ids = [name for name in envs.ids() if name.startswith("teachgym/Tutor-")]
    assert ids and all(f"### {name}" in page for name in ids)
    for name in ids:
        env = gym.make(name)
        assert f"`{env.action_space!r}`" in page
        for key, space in env.observation_space.spaces.items():
            assert f"| `{key}` | `{space!r}` |" in page
        env.close()
    config = envs.family_class("Tutor").FAMILY.config_class
    for field in ("history_length", "session_length", "break_length", "num_steps"):
        assert f"| `{field}` | `{getattr(config, field)!r}` |" in page
    teachers = [name for name in agents.names() if "Tutor" in agents.spec(name).families]
    assert "irt-zpd" in teachers
    listed = re.findall(r"^\| `([\w:.-]+)` \| ", page.split("## Teachers")[1].split("## References")[0], re.M)
    assert listed == teachers
    assert "Corbett & Anderson (1994)" in page  # the paper to cite, from the family's docstring
    assert "reference (score 1) of every id" in page  # oracle, the reference of both Tutor ids


# ---------------------------------------------------------------------------------- the tutorial
def run_markdown(path: Path, directory: Path) -> dict[str, object]:
    """Run a page as a reader would, in ``directory``: write each block marked ``<!-- file: NAME -->``
    to ``NAME``, run every ``python`` block in order in one namespace, and every ``teachgym``
    command of its ``bash`` blocks through the command line. Returns the namespace."""
    text = path.read_text()
    for name, body in re.findall(r"<!-- file: (\S+) -->\n```python\n(.*?)```", text, re.S):
        (directory / name).write_text(body)
    namespace: dict[str, object] = {"__name__": path.stem}
    for language, body in re.findall(r"```(python|bash)\n(.*?)```", text, re.S):
        if language == "python":
            exec(compile(body, str(path), "exec"), namespace)
            continue
        for line in body.splitlines():
            if line.startswith("teachgym "):
                assert cli.main(shlex.split(line, comments=True)[1:]) == 0, line
    return namespace


def test_the_tutorial_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The submission step adds to the committed quick leaderboard: here, to a copy of it.
    shutil.copytree(ROOT / "leaderboards" / "quick", tmp_path / "leaderboards" / "quick")
    monkeypatch.chdir(tmp_path)
    namespace = run_markdown(TUTORIAL, tmp_path)
    assert (tmp_path / "mine.py").read_text().startswith("import numpy as np")
    assert namespace["difference"].mean() < 0  # type: ignore[attr-defined]  # the page says it loses
    records = (tmp_path / "runs" / "mine" / "results.jsonl").read_text()
    assert '"agent": "mine.py:FocusTeacher"' in records
    leaderboard = (tmp_path / "leaderboards" / "quick" / "README.md").read_text()
    assert "mine.py:FocusTeacher" in leaderboard


def test_the_home_page_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = run_markdown(SOURCE / "docs" / "index.md", tmp_path)
    assert namespace["obs"]["profile"].shape == (8,)  # type: ignore[index]


# ---------------------------------------------------------------------------------- the build
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "out"
    index = build(out, strict=True)
    assert index == out / "index.html"
    return out


@needs_mkdocs
def test_the_strict_build_writes_a_page_per_family_and_keeps_no_generated_page_in_the_sources(
    site: Path,
) -> None:
    assert sorted(p.stem for p in (site / "envs").glob("*.html")) == sorted([*envs.FAMILIES, "index"])
    assert (site / "tutorial.html").exists() and (site / "teachers.html").exists()
    assert sorted(p.name for p in (SOURCE / "docs").iterdir()) == ["extra.css", "index.md", "tutorial.md"]


@needs_mkdocs
def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    tutorial = source / "docs" / "tutorial.md"
    tutorial.write_text(tutorial.read_text() + "\nSee [the gone page](envs/Gone.md).\n")
    with pytest.raises(SiteBuildError, match=r"mkdocs build --strict failed: .*envs/Gone\.md"):
        build(tmp_path / "out", strict=True, source=source)
    build(tmp_path / "lenient", strict=False, source=source)  # without --strict it is a warning


def test_a_folder_that_holds_something_else_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert site_main.main(["build", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "is not empty and holds no earlier site" in error
    assert (tmp_path / "notes.txt").read_text() == "mine"


class Page(HTMLParser):
    """The title, the headings and the text of a dumped DOM, and the cells of its tables."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.title = ""
        self.headings: list[str] = []
        self.cells: list[str] = []
        self.text = ""
        self._open: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open.append(tag)
        if tag in ("h1", "h2", "h3"):
            self.headings.append("")
        elif tag == "td":
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if "script" in self._open or "style" in self._open:
            return
        self.text += data
        if "title" in self._open:
            self.title += data
        if any(tag in self._open for tag in ("h1", "h2", "h3")):
            self.headings[-1] += data
        if "td" in self._open:
            self.cells[-1] += data


def load(path: Path, tmp_path: Path) -> Page:
    """The DOM of ``path`` after its scripts ran, in a fresh headless Chromium profile."""
    return Page(dump_dom(path.as_uri(), tmp_path))


@needs_mkdocs
@needs_browser
def test_the_pages_render_in_chromium(site: Path, tmp_path: Path) -> None:
    home = load(site / "index.html", tmp_path)
    assert home.title.strip() == "teachgym"
    assert "Write your first teacher" in home.text and "Environments" in home.text

    family = load(site / "envs" / "SkillList.html", tmp_path)
    assert family.title.strip() == "SkillList - teachgym"
    for heading in ("Description", "Registered ids", "Action Space", "Observation Space", "Rewards"):
        assert any(h.strip().startswith(heading) for h in family.headings), heading
    env = gym.make("teachgym/SkillList-Sim-v1")
    # Printed from the env: each id's action space, and the observation's spaces by key.
    actions = [family.cells[i + 1] for i, cell in enumerate(family.cells) if cell == "Action space"]
    assert repr(env.action_space) in actions
    assert family.cells[family.cells.index("profile") + 1] == repr(env.observation_space["profile"])
    env.close()
    teachers = [c.strip() for c in family.cells if c.strip() in agents.names()]
    assert {"uniform", "weakest-skill", "oracle"} <= set(teachers)

    tutorial = load(site / "tutorial.html", tmp_path)
    assert tutorial.title.strip() == "Write your first teacher - teachgym"
    assert "class FocusTeacher(BaseTeacher):" in tutorial.text
    assert "teachgym leaderboard leaderboards/quick --add runs/mine" in tutorial.text
