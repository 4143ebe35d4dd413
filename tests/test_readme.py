"""The README's generated tables match the registries, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from teachgym.cli import agent_rows, env_rows, format_table

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _block(name: str) -> str:
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", README, re.S)
    assert match, f"README has no {name} block"
    return match.group(1).strip()


def test_environment_table_matches_the_registry() -> None:
    assert _block("envs") == format_table(env_rows(), markdown=True)


def test_teacher_table_matches_the_registry() -> None:
    assert _block("agents") == format_table(agent_rows(), markdown=True)


def test_ci_runs_the_readme_test_command() -> None:
    command = _block("test-command")
    assert "pytest" in command
    assert "test-command:begin" in (ROOT / ".ci" / "run").read_text()


def test_readme_python_examples_run() -> None:
    for block in re.findall(r"```python\n(.*?)```", README, re.S):
        exec(compile(block, "README.md", "exec"), {})
