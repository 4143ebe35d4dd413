"""Teachers from outside the repository: a file, a module, an installed package's entry point; their
records name their source, and a results folder protects itself (lock, seed counts, changed code)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import pytest

from teachgym import agents
from teachgym.bench import folder, records
from teachgym.bench.runner import run_sweep
from teachgym.bench.suites import Task
from teachgym.errors import ConfigError, UnknownNameError
from teachgym.rollout import run_episode

ENV_ID = "teachgym/SkillList-Sim-v1"
TINY = Task("SkillList-Sim-v1[tiny]", ENV_ID, "SkillList", {"num_steps": 3}, ("oracle",))

#: The README's teacher, with no registration and no constructor.
FOCUS = '''
import numpy as np
from teachgym.agents import BaseTeacher


class FocusTeacher(BaseTeacher):
    """All examples on the weakest skill, at its easiest level."""

    kinds = ("allocation",)

    def act(self, obs, info):
        action = np.zeros(self.action_space.shape, np.float32)
        action[np.argmin(obs["profile"]), 0] = 1.0
        return action


class Plain:
    """A class with act() only and a knob: no base class, no task."""

    def __init__(self, skill=0):
        self.skill = skill

    def act(self, obs, info):
        action = np.zeros((len(obs["profile"]), obs["level_profile"].shape[1]), np.float32)
        action[self.skill, 0] = 1.0
        return action
'''


@pytest.fixture
def mine(tmp_path: Path) -> Path:
    path = tmp_path / "mine.py"
    path.write_text(FOCUS)
    return path


def test_a_teacher_in_a_file_runs_by_its_path(mine: Path) -> None:
    env = gym.make(ENV_ID)
    name = f"{mine}:FocusTeacher"
    teacher = agents.make(name, env)
    assert teacher.task.family == "SkillList"  # type: ignore[attr-defined]
    focus = run_episode(env, teacher, seed=0)
    uniform = run_episode(env, agents.make("uniform", env), seed=0)
    assert focus.test_accuracy != uniform.test_accuracy
    registration = agents.spec(name)
    assert registration.kinds == ("allocation",) and registration.summary.startswith("All examples on")
    assert not agents.supports(name, gym.make("teachgym/Tutor-Sim-v0"))  # a choice task
    assert agents.source_hash(name).startswith("sha256:") and agents.source_hash("uniform") is None


def test_a_plain_class_takes_its_knobs_and_refuses_others(mine: Path) -> None:
    env = gym.make(ENV_ID)
    teacher = agents.make(f"{mine}:Plain", env, skill=2)
    assert teacher.skill == 2  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="unexpected keyword argument 'speed'"):
        agents.make(f"{mine}:Plain", env, speed=1)


def test_a_teacher_in_a_module_runs_by_its_dotted_name(mine: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(mine.parent))
    teacher = agents.make("mine:FocusTeacher", gym.make(ENV_ID))
    assert type(teacher).__name__ == "FocusTeacher"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "{dir}/mine.py:Nope",
            r"has no class 'Nope'; classes with act\(\) there: \['FocusTeacher', 'Plain'\]",
        ),
        ("{dir}/absent.py:X", r"no such file"),
        ("no_such_package.teachers:X", r"no module 'no_such_package'"),
        ("{dir}/mine.py:", r"is malformed"),
    ],
)
def test_a_bad_spec_is_refused_in_one_line(mine: Path, spec: str, message: str) -> None:
    with pytest.raises(UnknownNameError, match=message):
        agents.make(spec.format(dir=mine.parent), gym.make(ENV_ID))


def test_an_unknown_name_says_how_to_use_ones_own_teacher() -> None:
    with pytest.raises(UnknownNameError, match=r"'path/to/file\.py:Class' or 'package\.module:Class'"):
        agents.spec("focus")


def test_an_installed_package_declares_teachers_by_entry_point(tmp_path: Path) -> None:
    """A package installed with pip declares a teacher in the ``teachgym.teachers`` group; it is then
    listed and made by its name, in a fresh process that sees the package."""
    package = tmp_path / "src"
    (package / "focus_teachers").mkdir(parents=True)
    (package / "focus_teachers" / "__init__.py").write_text(FOCUS)
    (package / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "focus-teachers"
            version = "0.1"

            [project.entry-points."teachgym.teachers"]
            focus = "focus_teachers:FocusTeacher"
            """
        )
    )
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    pip += ["--no-build-isolation", "--target", str(site), str(package)]
    subprocess.run(pip, check=True, capture_output=True)
    check = textwrap.dedent(
        f"""
        import gymnasium as gym
        from teachgym import agents
        from teachgym.rollout import run_episode
        assert "focus" in agents.names(installed=True) and "focus" not in agents.names()
        env = gym.make({ENV_ID!r})
        print(run_episode(env, agents.make("focus", env), seed=0).test_accuracy)
        print(agents.source_hash("focus"))
        """
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr[-2000:]
    accuracy, source = done.stdout.split()
    assert 0.0 < float(accuracy) < 1.0 and source.startswith("sha256:")


def _sweep(out: Path, names: list[str], seeds: int = 2) -> list[dict]:
    return run_sweep(
        "test", [TINY], out, agent_names=names, seeds=seeds, command="teachgym bench test", quiet=True
    )


def test_a_sweep_records_a_plug_in_with_its_source_and_refuses_it_once_changed(
    mine: Path, tmp_path: Path
) -> None:
    name = f"{mine}:FocusTeacher"
    results = _sweep(tmp_path / "out", ["uniform", name])
    ours = [r for r in results if r["agent"] == name]
    assert len(ours) == 2 and all(r["status"] == "ok" for r in ours)
    assert {r["agent_source"] for r in ours} == {agents.source_hash(name)}
    assert {r["agent_source"] for r in results if r["agent"] == "uniform"} == {None}
    mine.write_text(FOCUS + "\n# changed\n")
    with pytest.raises(ConfigError, match=r"teacher '.*mine\.py:FocusTeacher' changed since its 2 episodes"):
        _sweep(tmp_path / "out", ["uniform", name])


def test_a_folder_refuses_another_seed_count_but_extends_every_teacher(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _sweep(out, ["uniform", "random"])
    with pytest.raises(ConfigError, match=r"holds a sweep of 2 seeds; this one asks for 1"):
        _sweep(out, ["uniform", "random"], seeds=1)
    with pytest.raises(ConfigError, match=r"holds a sweep of 2 seeds; this one asks for 3"):
        _sweep(out, ["uniform"], seeds=3)  # random would stay at 2 seeds
    assert len(_sweep(out, ["uniform", "random"], seeds=3)) == 6


def test_a_second_sweep_on_a_busy_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    busy = rf"in use by another sweep \(pid {os.getpid()}\)"
    with folder.locked(out), pytest.raises(folder.FolderBusyError, match=busy):
        _sweep(out, ["uniform"])
    assert not (out / "results.jsonl").exists()
    assert len(_sweep(out, ["uniform"])) == 2  # free again once the holder is done


def test_a_resumed_sweep_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    _sweep(out, ["uniform"])
    run_sweep("test", [TINY], out, agent_names=["uniform", "random"], seeds=2, command="c", quiet=False)
    err = capsys.readouterr().err
    assert f"resuming: 2 of 4 episodes already recorded in {out}" in err
    assert "adding teachers ['random'] to the 1 already in" in err
    written = [json.loads(line) for line in (out / "results.jsonl").open()]
    assert len(written) == 4 and all(r["schema"] == records.SCHEMA for r in written)


# ------------------------------------------------------------------ submitting to a leaderboard
@pytest.fixture
def board(tmp_path: Path) -> Path:
    out = tmp_path / "board"
    _sweep(out, ["uniform", "random"])
    return out


def test_a_plug_in_joins_a_leaderboard_and_is_ranked(board: Path, mine: Path, tmp_path: Path) -> None:
    from teachgym.bench.report import render
    from teachgym.bench.submit import add_run

    name = f"{mine}:FocusTeacher"
    run = tmp_path / "run"
    run_sweep(
        "test", [TINY], run, agent_names=[name], seeds=2, command="teachgym bench test --agents X", quiet=True
    )
    before = (board / "results.jsonl").read_text()
    assert add_run(board, run) == [name]
    after = (board / "results.jsonl").read_text()
    assert after.startswith(before) and len(after.splitlines()) == 6
    suite_file = json.loads((board / "suite.json").read_text())
    assert name in suite_file["agents"] and "teachgym bench test --agents X" in suite_file["commands"]
    render(board, reps=50)
    assert name in (board / "README.md").read_text()


def _refusal(board: Path, run: Path, message: str) -> None:
    from teachgym.bench.submit import SubmissionError, add_run

    before = {p.name: p.read_bytes() for p in board.iterdir() if p.is_file()}
    with pytest.raises(SubmissionError, match=message):
        add_run(board, run)
    assert {p.name: p.read_bytes() for p in board.iterdir() if p.is_file()} == before  # nothing applied


def test_a_teacher_already_on_the_board_is_refused(board: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    _sweep(run, ["uniform"])
    _refusal(board, run, r"holds teachers already on .*\['uniform'\]")


def test_other_seeds_are_refused(board: Path, mine: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    _sweep(run, [f"{mine}:FocusTeacher"], seeds=3)
    _refusal(board, run, r"ran 3 seeds; .* ranks teachers on 2")


def test_other_tasks_or_anchors_are_refused(board: Path, mine: Path, tmp_path: Path) -> None:
    other = Task("SkillList-Sim-v1[tiny]", ENV_ID, "SkillList", {"num_steps": 4}, ("oracle",))
    run = tmp_path / "run"
    run_sweep("test", [other], run, agent_names=[f"{mine}:FocusTeacher"], seeds=2, command="c", quiet=True)
    _refusal(board, run, r"is a sweep of suite 'test' with tasks .*num_steps\": 4")
    suite_file = json.loads((run / "suite.json").read_text())
    suite_file["tasks"] = json.loads((board / "suite.json").read_text())["tasks"]
    (run / "suite.json").write_text(json.dumps(suite_file))
    _refusal(board, run, r"anchors differ from .* on \['SkillList-Sim-v1\[tiny\]'\]")
