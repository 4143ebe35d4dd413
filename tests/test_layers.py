"""Dependencies point down: the env library does not pull in the teachers or stable-baselines3.

Each check runs in a fresh interpreter, since this test process has long imported everything."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Modules that core users must be able to import without the agents layer or SB3.
CORE_IMPORTS = [
    "import teachgym",
    "import gymnasium, teachgym; gymnasium.make('teachgym/SkillList-Sim-v1')",
    "import teachgym.rollout, teachgym.teacher, teachgym.vector",
]


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\n"
        "import sys\n"
        "loaded = [m for m in sys.modules if m.startswith(('teachgym.agents', 'stable_baselines3'))]\n"
        "print('LOADED', *loaded, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    [line] = [line for line in out.stderr.splitlines() if line.startswith("LOADED")]
    return line.split()[1:]


@pytest.mark.parametrize("code", CORE_IMPORTS)
def test_core_imports_neither_the_teachers_nor_sb3(code: str) -> None:
    assert _loaded_after(code) == []


def test_listing_the_envs_imports_neither_the_teachers_nor_sb3() -> None:
    code = "import sys; sys.argv = ['teachgym', 'envs']\nfrom teachgym import cli\ncli.main()"
    loaded = _loaded_after(code)
    assert loaded == [], loaded
