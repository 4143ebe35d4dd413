"""The teachgym command: lists read from the registries, runs, and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import teachgym
from teachgym import agents
from teachgym.cli import main


def test_envs_lists_every_registered_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    for env_id in teachgym.envs.ids():
        assert env_id in out
    assert "30 steps x 40 examples" in out


def test_agents_lists_every_teacher_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents"]) == 0
    out = capsys.readouterr().out
    for name in agents.names():
        assert name in out
    assert "STAT" in out and "(reference)" in out


def test_run_prints_steps_and_summary_and_writes_json(tmp_path, capsys) -> None:
    path = tmp_path / "out" / "run.jsonl"
    code = main(
        ["run", "teachgym/SkillList-Sim-v1", "--agent", "weakest-skill", "--seed", "3",
         "--episodes", "2", "--json", str(path), "--render", "ansi"]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "seed=3" in out and "seed=4" in out
    assert "test accuracy" in out and "counting" in out
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["seed"] for r in records] == [3, 4]
    assert all(r["agent"] == "weakest-skill" and len(r["curve"]) == 5 for r in records)
    assert records[0]["test_accuracy"] > records[0]["initial_test_accuracy"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "teachgym/Nope-v0", "--agent", "uniform"], "unknown env id 'teachgym/Nope-v0'"),
        (["run", "teachgym/SkillList-Sim-v1", "--agent", "nobody"], "unknown teacher 'nobody'"),
        (["run", "teachgym/SkillList-Digits-v0", "--agent", "oracle"], "oracle"),
        (["run", "teachgym/SkillList-Sim-v1", "--agent", "uniform", "--episodes", "0"], "--episodes"),
        (["run", "teachgym/SkillList-Sim-v1", "--agent", ","], "names no teacher"),
        (["run", "teachgym/SkillList-Sim-v1", "--agent", "uniform", "--json", "/"], "is a directory"),
        (["run", "teachgym/SkillList-Sim-v1", "--agent", "uniform", "--json", "/proc/x/y.jsonl"], "error"),
        (
            ["run", "teachgym/SkillList-Sim-v1", "--agent", "uniform", "--quiet", "--render", "ansi"],
            "--quiet",
        ),
    ],
)
def test_user_errors_print_one_line_and_exit_2(argv, message, capsys) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "seed=" not in captured.out  # refused before any episode ran
    err = captured.err
    assert err.startswith("teachgym: error:") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_console_script_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "teachgym.cli", "run", "teachgym/SkillList-Sim-v1", "--agent", "bogus"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("teachgym: error: unknown teacher 'bogus'")


def test_run_all_teachers_ends_with_a_summary_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "teachgym/SkillList-Digits-v0", "--agent", "all", "--episodes", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("teacher  ") :]
    for name in ("random", "uniform", "round-robin", "weakest-skill"):
        assert name in table
    assert "oracle" not in out  # it cannot teach a neural student, so 'all' leaves it out
    assert "step  " not in out  # --quiet: no per-step table


@pytest.mark.parametrize("argv", [["run"], ["bogus"], ["run", "x", "--agent", "y", "--seed", "one"]])
def test_usage_errors_are_one_line_too(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert re.match(r"teachgym( run)?: error: ", err) and err.count("\n") == 1
