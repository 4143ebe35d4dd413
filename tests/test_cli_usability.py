"""The command line as a new user meets it: names suggested for typos, bare ids, filtered and wrapped
teacher lists, budgets as the envs spend them, honest progress, and a quiet exit on a closed pipe."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import teachgym
from teachgym import agents
from teachgym.bench.suites import suite
from teachgym.cli import BROKEN_PIPE_STATUS, main
from teachgym.cli_tables import env_rows, format_table
from teachgym.errors import UnknownNameError
from teachgym.progress import Progress
from teachgym.registry_utils import lookup, suggestion

ROOT = Path(__file__).resolve().parents[1]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("teachgym: error:") and err.count("\n") == 1, err
    return err


# ---------------------------------------------------------------- did you mean


def test_suggestion_names_the_closest_known_name_or_nothing() -> None:
    assert suggestion("unifrom", ["uniform", "random"]) == " (did you mean 'uniform'?)"
    assert suggestion("TUTOR", ["Tutor", "SkillList"]) == " (did you mean 'Tutor'?)"  # any case
    assert suggestion("zzz", ["uniform", "random"]) == ""
    # A mapping compares its keys and suggests the matching value (bare ids in, full ids out).
    assert suggestion("Tutr-Sim-v0", {"Tutor-Sim-v0": "teachgym/Tutor-Sim-v0"}) == (
        " (did you mean 'teachgym/Tutor-Sim-v0'?)"
    )


def test_lookup_keeps_its_wording_and_adds_the_suggestion() -> None:
    table = {"uniform": 1, "random": 2}
    with pytest.raises(UnknownNameError, match=r"^unknown teacher 'nobody'; expected one of \['random'"):
        lookup(table, "nobody", "teacher")
    with pytest.raises(UnknownNameError) as error:
        lookup(table, "unifrom", "teacher")
    assert str(error.value) == (
        "unknown teacher 'unifrom' (did you mean 'uniform'?); expected one of ['random', 'uniform']"
    )


def test_registries_suggest_teachers_and_suites() -> None:
    with pytest.raises(
        UnknownNameError, match=r"unknown teacher 'weakest' \(did you mean 'weakest-skill'\?\)"
    ):
        agents.spec("weakest")
    with pytest.raises(UnknownNameError, match=r"unknown suite 'quik' \(did you mean 'quick'\?\)"):
        suite("quik")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "teachgym/SkilList-Sim-v1", "--agent", "uniform"],
            "unknown env id 'teachgym/SkilList-Sim-v1' (did you mean 'teachgym/SkillList-Sim-v1'?)",
        ),
        (
            ["run", "skilllist-sim-v1", "--agent", "uniform"],
            "(did you mean 'teachgym/SkillList-Sim-v1'?)",
        ),
        (
            ["run", "SkillList-Sim-v1", "--agent", "uniform,unifrom"],
            "unknown teacher 'unifrom' (did you mean 'uniform'?)",
        ),
        (["agents", "--family", "tutr"], "unknown family 'tutr' (did you mean 'Tutor'?)"),
    ],
)
def test_cli_suggests_the_name_meant(argv: list[str], message: str, capsys) -> None:
    assert main(argv) == 2
    err = _one_line_error(capsys)
    assert message in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "quik"], "unknown suite 'quik' (did you mean 'quick'?)"),
        (["bench", "quick", "--agents", "unifrom"], "unknown teacher 'unifrom' (did you mean 'uniform'?)"),
    ],
)
def test_bench_suggests_suites_and_teachers_before_writing(argv, message, tmp_path: Path, capsys) -> None:
    out = tmp_path / "results"
    assert main([*argv, "--out", str(out), "--quiet"]) == 2
    assert message in _one_line_error(capsys)
    assert not (out / "results.jsonl").exists()


def test_train_suggests_the_env_id(tmp_path: Path, capsys) -> None:
    pytest.importorskip("stable_baselines3")
    argv = ["train", "SkillList-Sim-v7", "--steps", "8", "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    assert "unknown env id 'SkillList-Sim-v7' (did you mean 'teachgym/SkillList-Sim-" in _one_line_error(
        capsys
    )
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- bare ids


def test_a_bare_id_runs_as_its_namespaced_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "SkillList-Sim-v1", "--agent", "uniform", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "# teachgym/SkillList-Sim-v1  teacher=uniform  seed=0" in out and "test accuracy" in out


def test_resolve_id_adds_only_the_namespace_and_gymnasium_is_unchanged() -> None:
    resolve_id = teachgym.envs.resolve_id
    assert resolve_id("teachgym/Tutor-Sim-v0") == resolve_id("Tutor-Sim-v0") == "teachgym/Tutor-Sim-v0"
    with pytest.raises(UnknownNameError, match="unknown env id 'Tutor-Sim'"):
        resolve_id("Tutor-Sim")  # no version: not guessed
    with pytest.raises(gym.error.Error):
        gym.make("SkillList-Sim-v1")  # gymnasium.make keeps its own rules


def test_train_takes_a_bare_id(tmp_path: Path) -> None:
    pytest.importorskip("stable_baselines3")
    from teachgym.train import TrainArgs, check_args

    checked = check_args(TrainArgs("SkillList-Sim-v1", tmp_path / "x", steps=8))
    assert checked.env_id == "teachgym/SkillList-Sim-v1"  # what teacher.json records


# ---------------------------------------------------------------- agents --family, wrapped


def _listed_names(out: str) -> set[str]:
    """The teacher names in the first column of a text table (a name's "(reference)" may wrap)."""
    lines = [line for line in out.splitlines()[1:] if line and not line[0].isspace()]
    return {line.split()[0] for line in lines} - {"(reference)"}


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_agents_family_filters_and_wraps_to_the_terminal(columns: int, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["agents", "--family", "Tutor"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= columns
    expected = {name for name in agents.names() if "Tutor" in agents.spec(name).families}
    assert "bkt-mastery" in expected and "tscl-naive" not in expected
    assert _listed_names(out) == expected


def test_every_agent_line_fits_the_fallback_width(monkeypatch, capsys) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal under pytest: the fallback, 100
    assert main(["agents"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert _listed_names(out) == set(agents.names())


def test_format_table_wraps_cells_and_keeps_every_word() -> None:
    rows = [{"name": "long-teacher-name", "what": "word " * 40}, {"name": "b", "what": "short"}]
    text = format_table(rows, width=40)
    assert max(len(line) for line in text.splitlines()) <= 40
    assert text.split().count("word") == 40 and "long-teacher-name" in text
    assert format_table(rows) == format_table(rows, width=1000)  # wide enough: one line per row


# ---------------------------------------------------------------- budgets


@pytest.mark.filterwarnings("ignore:.*out of date:DeprecationWarning")
def test_envs_budget_is_what_the_env_spends(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["envs"]) == 0
    tutor = next(line for line in capsys.readouterr().out.splitlines() if "teachgym/Tutor-Sim-v0 " in line)
    assert tutor.endswith("150 steps x 1 example")
    for row in env_rows():
        if row["domain"] != "sim":  # the quick ones: built to compare with the env itself
            continue
        env = gym.make(row["id"]).unwrapped
        assert row["budget"].startswith(f"{env.num_steps} steps x {env.examples_per_step} example"), row


# ---------------------------------------------------------------- progress


def test_progress_never_shows_nan_nor_more_than_the_total() -> None:
    stream = io.StringIO()  # not a terminal: whole lines, as in a CI log
    progress = Progress(5000, unit="step", stream=stream)
    progress.advance_to(0, "starting")
    progress.advance_to(5120, "past the end")  # SB3 ends its last rollout past the total
    progress.finish("5120 steps trained (5000 requested)")
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and "nan" not in stream.getvalue()
    assert lines[0].startswith("[0/5000]") and "ETA ?" in lines[0]
    assert lines[-1].startswith("[5000/5000] 100%") and lines[-1].endswith(
        "5120 steps trained (5000 requested)"
    )


def test_training_labels_say_what_is_known() -> None:
    pytest.importorskip("stable_baselines3")
    from teachgym.train import status_text, trained_text

    assert status_text(0, [], None, None) == "episodes 0  mean return -  eval validation - (best -)"
    assert "nan" not in status_text(3, [float("nan")], float("nan"), 0.5)
    assert status_text(2, [0.5, 0.1], 0.7, 0.75).endswith("+0.300  eval validation 0.700 (best 0.750)")
    assert trained_text(5120, 5000) == "5120 steps trained (5000 requested)"
    assert trained_text(5000, 5000) == "5000 steps trained"


# ---------------------------------------------------------------- closed pipe


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "teachgym.cli", *args]


def test_a_closed_pipe_ends_quietly() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first line is written
    try:
        result = subprocess.run(
            _cli("agents"), stdout=write_end, stderr=subprocess.PIPE, text=True, check=False
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == BROKEN_PIPE_STATUS


def test_head_reads_one_line_and_nothing_is_printed_on_stderr() -> None:
    command = f"{shlex.join(_cli('agents'))} | head -1; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False, cwd=ROOT)
    assert result.stdout.split() == ["name", "families", "follows", "what", "it", "does"]
    assert result.stderr == ""
    assert result.returncode in (0, BROKEN_PIPE_STATUS)  # 0 when it finished before head left
