"""Build the documentation site: the hand-written pages of ``teachgym/site/docs/`` and the pages
generated from the registries (:mod:`teachgym.site.pages`), staged together in a temporary folder and
built by MkDocs (built-in ``mkdocs`` theme) into the folder asked for. Generated pages are never
written into the source tree."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import teachgym.envs as envs
from teachgym.errors import SiteBuildError
from teachgym.site.pages import envs_page, family_page, teachers_page

#: The site's sources: ``mkdocs.yml`` and the hand-written pages under ``docs/``.
SOURCE = Path(__file__).resolve().parent
#: Left in a built site, so that a rebuild may empty the folder (MkDocs deletes what a site folder
#: holds) while a folder of anything else is refused.
MARKER = ".teachgym-site"
#: Seconds ``mkdocs build`` may take (a few on a loaded 2-core machine).
TIMEOUT = 300


def generated_pages() -> dict[str, Callable[[], str]]:
    """Path under ``docs/`` -> the function writing that page, one per family in
    :data:`teachgym.envs.FAMILIES` order (a new family adds its own)."""
    pages: dict[str, Callable[[], str]] = {"envs/index.md": envs_page}
    for family in envs.FAMILIES:
        pages[f"envs/{family}.md"] = lambda family=family: family_page(family)  # type: ignore[misc]
    pages["teachers.md"] = teachers_page
    return pages


def navigation(hand_written: list[Any]) -> list[Any]:
    """The site's navigation: the source config's entries, then the environments and the teachers."""
    families = [{family: f"envs/{family}.md"} for family in envs.FAMILIES]
    return [*hand_written, {"Environments": ["envs/index.md", *families]}, {"Teachers": "teachers.md"}]


def stage(directory: Path, source: Path = SOURCE) -> Path:
    """Write the whole site's sources into ``directory``: a copy of ``source/docs``, the generated
    pages, and ``mkdocs.yml`` with the navigation. Returns the config's path.

    Raises:
        SiteBuildError: a hand-written page has the path of a generated one, or a family's
            docstring lacks a required section.
    """
    import yaml  # MkDocs' own dependency: present wherever MkDocs is

    docs = directory / "docs"
    shutil.copytree(source / "docs", docs)
    for relative, write in generated_pages().items():
        path = docs / relative
        if path.exists():
            raise SiteBuildError(
                f"hand-written page {source / 'docs' / relative} has the path of a generated page; "
                "expected it renamed (generated pages are written at build time)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(write())
    config = yaml.safe_load((source / "mkdocs.yml").read_text())
    config["docs_dir"] = "docs"
    config["nav"] = navigation(config.get("nav", []))
    path = directory / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise SiteBuildError(f"site folder {out_dir} is a file; expected a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise SiteBuildError(
            f"site folder {out_dir} is not empty and holds no earlier site; expected a new or empty "
            "folder (mkdocs build deletes what the folder holds)"
        )


def build(out_dir: str | Path, *, strict: bool = False, source: Path = SOURCE) -> Path:
    """Build the site into ``out_dir`` with ``mkdocs build`` (``--strict``: any warning, such as a
    broken link or anchor, or a page left out of the navigation, fails the build). Returns the path of
    the built ``index.html``.

    Raises:
        SiteBuildError: MkDocs is not installed, ``out_dir`` holds something other than a site, or
            the build failed (the message quotes MkDocs' warnings and errors).
    """
    if importlib.util.find_spec("mkdocs") is None:
        raise SiteBuildError(
            "MkDocs is not installed; expected pip install 'mkdocs>=1.6' (or 'teachgym[test]')"
        )
    out_dir = Path(out_dir).resolve()
    _check_out_dir(out_dir)
    with tempfile.TemporaryDirectory(prefix="teachgym-site-") as staging:
        config = stage(Path(staging), source)
        command = [sys.executable, "-m", "mkdocs", "build", "--config-file", str(config)]
        command += ["--site-dir", str(out_dir), *(["--strict"] if strict else [])]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        problems = [line for line in done.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
        shown = "; ".join(problems) or done.stderr.strip()[-2000:]
        raise SiteBuildError(f"mkdocs build{' --strict' if strict else ''} failed: {shown}")
    (out_dir / MARKER).write_text("built by python -m teachgym.site build\n")
    return out_dir / "index.html"
