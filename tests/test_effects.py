"""Pre-registered effects: metrics from records, paired verdicts, what is missing, the EFFECTS.md report,
and (slow) every declared effect run from scratch against its committed verdict."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from teachgym.bench import effects
from teachgym.bench.effects import NOT_RUN, NULL, REPRODUCED, REVERSED, Effect, evaluate, run_effect
from teachgym.bench.records import SCHEMA, check_record
from teachgym.cli import main
from teachgym.errors import ConfigError

TASK = "Curriculum-Toy-v1"
LEADERBOARDS = Path(__file__).resolve().parents[1] / "leaderboards"


def record(agent: str, seed: int, accuracy: float, *, task: str = TASK, **fields: Any) -> dict[str, Any]:
    """A schema-valid ok record of one episode with test accuracy ``accuracy``."""
    base = {
        "schema": SCHEMA, "suite": "toy", "task": task, "env_id": "teachgym/" + task, "env_kwargs": {},
        "family": "Curriculum", "agent": agent, "agent_source": None, "seed": seed, "status": "ok",
        "error": None,
        "reference": False, "score": accuracy, "test_accuracy": accuracy, "initial_test_accuracy": 0.1,
        "final_accuracy": accuracy, "initial_accuracy": 0.1, "validation_test_gap": 0.0,
        "episode_return": accuracy - 0.1,
        "curve": [{"step": s, "reward": 0.0, "mean_accuracy": accuracy, "examples_used": 8} for s in (1, 2)],
        "final_profile": {"a": accuracy, "b": accuracy}, "test_profile": {"a": accuracy, "b": accuracy},
        "examples_used": 16, "compute_used": 16, "family_info": {}, "wall_time": 0.1, "version": "0",
        "git_revision": None, "command": "teachgym bench toy",
    }  # fmt: skip
    return check_record({**base, **fields}, "test record")


def effect(
    metric: str = "test_accuracy", direction: int = 1, seeds: tuple[int, ...] = (0, 1, 2, 3)
) -> Effect:
    return Effect(
        name=f"toy-{metric}-{direction:+d}",
        paper="a test",
        task=TASK,
        teacher="smart",
        baseline="uniform",
        metric=metric,
        direction=direction,
        seeds=seeds,
    )


def pairs(gains: list[float], base: float = 0.5) -> list[dict[str, Any]]:
    """``uniform`` at ``base`` (+ a per-seed student effect) and ``smart`` ``gains[seed]`` above it."""
    out = []
    for seed, gain in enumerate(gains):
        student = 0.05 * (seed % 3)  # the same student under both teachers: cancels in the pairs
        out += [record("uniform", seed, base + student), record("smart", seed, base + student + gain)]
    return out


# --- verdicts -----------------------------------------------------------------------------------


def test_a_clear_gain_in_the_declared_direction_is_reproduced() -> None:
    result = evaluate(effect(), pairs([0.1, 0.12, 0.09, 0.11]))
    assert result.verdict == REPRODUCED and result.seeds == (0, 1, 2, 3) and result.missing == ""
    assert result.difference is not None and result.difference["mean"] == pytest.approx(0.105)
    assert result.difference["low"] > 0


def test_a_clear_loss_is_reversed() -> None:
    assert evaluate(effect(), pairs([-0.1, -0.12, -0.09, -0.11])).verdict == REVERSED


def test_an_interval_containing_zero_is_null() -> None:
    result = evaluate(effect(), pairs([0.1, -0.1, 0.05, -0.04]))
    assert result.verdict == NULL
    assert result.difference is not None and result.difference["low"] < 0 < result.difference["high"]


def test_direction_minus_one_reproduces_a_metric_that_should_fall() -> None:
    # steps_to_threshold: smart reaches the threshold on both sub-tasks 10 steps earlier, every seed.
    records = []
    for seed in range(4):
        for agent, first in (("uniform", 40 + seed), ("smart", 30 + seed)):
            info = {"steps_to_threshold": {"a": first - 5, "b": first}}
            records.append(record(agent, seed, 0.9, family_info=info))
    lower = evaluate(effect("steps_to_threshold", -1), records)
    assert lower.verdict == REPRODUCED
    assert lower.difference is not None and lower.difference["mean"] == pytest.approx(-10.0)
    # The same records against a claim that smart is slower: reversed.
    assert evaluate(effect("steps_to_threshold", +1), records).verdict == REVERSED


def test_only_the_declared_seeds_are_used() -> None:
    # Seeds 0-3 are declared (a steady +0.1); seeds 4-9 (a huge loss) were run but not declared.
    records = pairs([0.1, 0.11, 0.1, 0.11] + [-0.4] * 6)
    result = evaluate(effect(), records)
    assert result.verdict == REPRODUCED and result.seeds == (0, 1, 2, 3)
    assert result.difference is not None and result.difference["n"] == 4
    assert result.difference["mean"] == pytest.approx(0.105)


def test_declared_seeds_that_did_not_run_are_named() -> None:
    result = evaluate(effect(seeds=(0, 1, 2, 3, 7)), pairs([0.1, 0.11, 0.1, 0.11]))
    assert result.verdict == REPRODUCED and result.seeds == (0, 1, 2, 3)
    assert result.missing == "1 of 5 declared seeds missing: 7"


def test_failed_episodes_do_not_count() -> None:
    records = pairs([0.1, 0.11, 0.1, 0.11])
    failed = {**records[-1], "status": "failed", "error": "RuntimeError: x", "score": None}
    result = evaluate(effect(), [*records[:-1], failed])  # smart's seed 3 failed
    assert result.seeds == (0, 1, 2) and "3" in result.missing


@pytest.mark.parametrize(
    ("records", "missing"),
    [
        ([], f"no records of task {TASK}"),
        (
            [record("uniform", s, 0.5) for s in range(4)],
            f"no successful episode of smart on {TASK} at the declared seeds",
        ),
        (
            [record("other", s, 0.5) for s in range(4)],
            f"no successful episode of smart and uniform on {TASK} at the declared seeds",
        ),
        (pairs([0.1]), "1 declared seed(s) with both teachers; need at least 2"),
        ([record("smart", 9, 0.6), record("uniform", 9, 0.5)], None),
    ],
    ids=["no-task", "no-teacher", "neither", "one-seed", "undeclared-seeds-only"],
)
def test_missing_runs_are_not_run_and_say_what_is_missing(records: list[dict], missing: str | None) -> None:
    result = evaluate(effect(), records)
    assert result.verdict == NOT_RUN and result.difference is None
    if missing is not None:
        assert result.missing == missing
    else:
        assert "smart and uniform" in result.missing  # seed 9 ran, but it is not a declared seed


# --- metrics ------------------------------------------------------------------------------------


def test_auc_is_the_mean_validation_accuracy_over_the_steps() -> None:
    curve = [
        {"step": s, "reward": 0.0, "mean_accuracy": a, "examples_used": 8} for s, a in ((1, 0.2), (2, 0.6))
    ]
    assert effects.METRICS["auc"](record("x", 0, 0.6, curve=curve)) == pytest.approx(0.4)


def test_steps_to_threshold_counts_a_sub_task_never_reached_as_one_past_the_last_step() -> None:
    reached = record("x", 0, 0.9, family_info={"steps_to_threshold": {"a": 1, "b": 2}})
    assert effects.METRICS["steps_to_threshold"](reached) == 2.0
    censored = record("x", 0, 0.9, family_info={"steps_to_threshold": {"a": 1}})
    assert effects.METRICS["steps_to_threshold"](censored) == 3.0  # the curve's last step is 2


def test_forgetting_is_the_mean_over_the_recorded_sub_tasks() -> None:
    info = {"forgetting": {"task-0": 0.2, "task-1": 0.1, "task-2": 0.0}, "mean_forgetting": 0.15}
    assert effects.METRICS["forgetting"](record("x", 0, 0.5, family_info=info)) == pytest.approx(0.1)


def test_a_metric_without_its_family_info_is_refused_with_the_record() -> None:
    with pytest.raises(
        ConfigError, match=r"\(Curriculum-Toy-v1, x, seed 0\) has no family_info\['forgetting'\]"
    ):
        effects.METRICS["forgetting"](record("x", 0, 0.5))


# --- declarations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"metric": "speed"}, r"metric='speed'; expected one of"),
        ({"direction": 0}, r"direction=0; expected \+1 or -1"),
        ({"direction": True}, r"direction=True"),
        ({"baseline": "smart"}, r"teacher and baseline are both 'smart'"),
        ({"seeds": (0,)}, r"seeds=\(0,\); expected a tuple of at least 2 distinct ints >= 0"),
        ({"seeds": [0, 1]}, r"seeds=\[0, 1\]"),
        ({"seeds": (0, 0)}, r"seeds=\(0, 0\)"),
        ({"seeds": (0, -1)}, r"seeds=\(0, -1\)"),
        ({"task": ""}, r"task=''; expected a non-empty string"),
    ],
)
def test_bad_declarations_are_refused(changes: dict[str, Any], match: str) -> None:
    fields = {**effect().__dict__, **changes}
    with pytest.raises(ConfigError, match=match):
        Effect(**fields)


def test_effects_are_gathered_from_the_family_modules() -> None:
    from teachgym.envs import curriculum

    declared = effects.declared()
    assert all(e in declared for e in curriculum.EFFECTS) and len(curriculum.EFFECTS) >= 2
    assert len({e.name for e in declared}) == len(declared)
    tscl = {e.metric: e for e in curriculum.EFFECTS if e.teacher == "tscl-window"}
    assert tscl["steps_to_threshold"].direction == -1 and tscl["test_accuracy"].direction == +1
    assert all(e.task == "Curriculum-Addition-v0" and e.seeds == tuple(range(30)) for e in tscl.values())


def test_every_declared_effect_names_a_suite_task_and_teachers_of_its_family() -> None:
    from teachgym import agents
    from teachgym.bench.suites import SUITES

    tasks = {t.name: t for tasks in SUITES.values() for t in tasks}
    for declared in effects.declared():
        assert declared.task in tasks, f"{declared.name}: task {declared.task} is in no suite"
        family = tasks[declared.task].family
        for name in (declared.teacher, declared.baseline):
            assert family in agents.spec(name).families, f"{declared.name}: {name} does not teach {family}"


# --- the report and the command -----------------------------------------------------------------


def _write_results(directory: Path, records: list[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    return directory


def test_teachgym_effects_writes_effects_md_and_prints_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    declared = [
        effect(),
        Effect("absent", "a test", "Other-Task-v1", "smart", "uniform", "test_accuracy", 1, (0, 1), "why"),
    ]
    monkeypatch.setattr(effects, "declared", lambda: declared)
    directory = _write_results(tmp_path / "run", pairs([0.1, 0.12, 0.09, 0.11]))
    assert main(["effects", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "toy-test_accuracy-+1" in out and "reproduced" in out
    assert "not run: no records of task Other-Task-v1" in out
    assert f"wrote {directory / 'EFFECTS.md'}" in out
    text = (directory / "EFFECTS.md").read_text()
    assert f"teachgym effects {directory.as_posix()}" in text  # the regenerate command
    assert effects.read_verdicts(directory / "EFFECTS.md") == {"toy-test_accuracy-+1": REPRODUCED}
    assert "| absent | Other-Task-v1 | smart - uniform | no records of task Other-Task-v1 |" in text
    assert "- absent: why" in text
    assert sorted(p.name for p in directory.iterdir()) == ["EFFECTS.md", "results.jsonl"], "no temp file left"
    before = text
    assert main(["effects", str(directory)]) == 0
    assert (directory / "EFFECTS.md").read_text() == before, "the same results give the same file"


def test_teachgym_effects_without_results_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["effects", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no results file" in err


def test_run_effect_refuses_a_task_in_no_suite() -> None:
    with pytest.raises(ConfigError, match=r"task 'Curriculum-Toy-v1' is in no suite"):
        run_effect(effect())


# --- slow: every declared effect, from scratch ------------------------------------------------------


def _committed_verdicts() -> dict[str, tuple[str, Path]]:
    """Effect name -> (verdict, EFFECTS.md) over every committed leaderboard."""
    found: dict[str, tuple[str, Path]] = {}
    for path in sorted(LEADERBOARDS.glob("*/EFFECTS.md")):
        for name, verdict in effects.read_verdicts(path).items():
            found.setdefault(name, (verdict, path))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("declared", effects.declared(), ids=lambda e: e.name)
def test_a_declared_effect_reproduces_its_committed_verdict(declared: Effect) -> None:
    committed = _committed_verdicts().get(declared.name)
    if committed is None:
        pytest.skip(f"{declared.name}: no committed leaderboards/*/EFFECTS.md reports it; nothing to compare")
    verdict, path = committed
    result = run_effect(declared, workers=min(4, os.cpu_count() or 1))
    assert result.verdict == verdict, (
        f"{declared.name}: {result.verdict} {effects.difference_text(result)} on the declared seeds, "
        f"but {path.relative_to(LEADERBOARDS.parent)} says {verdict}"
    )
