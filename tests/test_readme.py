"""The README's generated tables match the registries, its examples run, and CI runs its test command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from teachgym.docs import render

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _block(name: str) -> str:
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", README, re.S)
    assert match, f"README has no {name} block"
    return match.group(1).strip()


def test_generated_tables_match_the_registries() -> None:
    assert _block("envs") and _block("agents")
    assert render(README) == README, "README tables are stale: run `python -m teachgym.docs README.md`"


def test_the_record_schema_table_matches_the_record_type() -> None:
    leaderboards = (ROOT / "leaderboards" / "README.md").read_text()
    assert "<!-- record-schema:begin -->\n| field |" in leaderboards
    assert render(leaderboards) == leaderboards, (
        "leaderboards/README.md's schema table is stale: run `python -m teachgym.docs leaderboards/README.md`"
    )


def test_readme_python_examples_run() -> None:
    for block in re.findall(r"```python\n(.*?)```", README, re.S):
        exec(compile(block, "README.md", "exec"), {})


def test_ci_extracts_exactly_the_readme_test_command() -> None:
    command = _block("test-command").removeprefix("```bash").removesuffix("```").strip()
    assert "pytest" in command
    # Run .ci/run's extraction step alone and compare.
    script = (ROOT / ".ci" / "run").read_text()
    extraction = next(line for line in script.splitlines() if line.startswith("command=$("))
    extracted = subprocess.run(
        ["bash", "-c", f'{extraction}; printf %s "$command"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert extracted == command
