"""The sweep runner: records, anchors (30 seeds, run by the sweep's executor, refused when not separated),
resume after interrupts, failures recorded, the results file's schema."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from teachgym.agents import base as agent_base
from teachgym.agents.base import BaseTeacher, register
from teachgym.bench import episodes, population, records, runner
from teachgym.bench.runner import ANCHOR_SEEDS, EPISODE_THREADS, anchor_definition, anchor_entry, run_sweep
from teachgym.bench.suites import SUITES, Task, suite
from teachgym.env import TeachingEnv
from teachgym.errors import ConfigError, UnknownNameError

TINY = Task("SkillList-Sim-v0[tiny]", "teachgym/SkillList-Sim-v0", "SkillList", {"num_steps": 3}, ("oracle",))


class _FailingTeacher(BaseTeacher):
    """Raises on its second step (a teacher bug)."""

    def __init__(self, task: object) -> None:
        pass

    def reset(self, observation_space, action_space, *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.steps = 0

    def act(self, obs, info):
        self.steps += 1
        if self.steps == 2:
            raise RuntimeError("teacher bug on purpose")
        return self.action_space.sample()


@pytest.fixture
def failing_teacher():
    """Registers ``always-fails`` for one test only (other tests list every registered teacher)."""
    register("always-fails", kinds=("allocation",), paper="test double", summary="raises")(_FailingTeacher)
    yield "always-fails"
    del agent_base._REGISTRY["always-fails"]


class _FlakyTeacher(BaseTeacher):
    """Raises on its first step while ``failing`` is set (a transient fault, e.g. a lost worker)."""

    failing = True

    def __init__(self, task: object) -> None:
        pass

    def act(self, obs, info):
        if _FlakyTeacher.failing:
            raise RuntimeError("transient fault on purpose")
        return self.action_space.sample()


@pytest.fixture
def flaky_teacher():
    """Registers ``flaky`` (failing until the test clears ``_FlakyTeacher.failing``) for one test."""
    register("flaky", kinds=("allocation",), paper="test double", summary="fails, then works")(_FlakyTeacher)
    _FlakyTeacher.failing = True
    yield "flaky"
    del agent_base._REGISTRY["flaky"]


def _sweep(
    out: Path, agents: list[str], seeds: int = 2, task: Task = TINY, quiet: bool = True, **kwargs: object
) -> list[dict]:
    return run_sweep(
        "test",
        [task],
        out,
        agent_names=agents,
        seeds=seeds,
        command="teachgym bench test",
        quiet=quiet,
        **kwargs,
    )


def test_a_sweep_writes_one_valid_record_per_episode_and_resumes(tmp_path: Path) -> None:
    results = _sweep(tmp_path, ["uniform", "oracle"])
    assert sorted(records.key(r) for r in results) == [
        (TINY.name, agent, seed) for agent in ("oracle", "uniform") for seed in (0, 1)
    ]
    anchors = json.loads((tmp_path / "anchors.json").read_text())[TINY.name]
    for record in results:
        # Unclipped: (accuracy - random's anchor mean) / (reference's - random's), wherever it lands.
        span = anchors["reference"] - anchors["random"]
        assert record["status"] == "ok"
        assert record["score"] == pytest.approx((record["test_accuracy"] - anchors["random"]) / span)
        assert record["reference"] == (record["agent"] == "oracle")
        assert len(record["curve"]) == 3 and record["command"] == "teachgym bench test"
    assert anchors["reference_agent"] == "oracle" and anchors["seeds"] == list(ANCHOR_SEEDS)
    assert anchors["definition"] == {
        "env_id": TINY.env_id,
        "env_kwargs": {"num_steps": 3},
        "reference_agent": "oracle",
        "seeds": list(ANCHOR_SEEDS),
    }
    # Per-seed accuracies, their means, and the paired interval of reference - random over the seeds.
    random, reference = anchors["random_accuracies"], anchors["reference_accuracies"]
    assert len(random) == len(reference) == len(ANCHOR_SEEDS) == 30
    assert anchors["random"] == pytest.approx(sum(random) / 30)
    assert anchors["reference"] == pytest.approx(sum(reference) / 30)
    difference = anchors["difference"]
    assert difference["n"] == 30 and difference["confidence"] == 0.95
    assert difference["mean"] == pytest.approx(anchors["reference"] - anchors["random"])
    assert 0.0 < difference["low"] < difference["mean"] < difference["high"]
    size = (tmp_path / "results.jsonl").stat().st_size
    again = _sweep(tmp_path, ["uniform", "oracle"])  # the same command: nothing to do
    assert (tmp_path / "results.jsonl").stat().st_size == size and again == results
    more = _sweep(tmp_path, ["uniform", "oracle"], seeds=3)  # one more seed: only the new episodes run
    assert len(more) == 6 and more[:4] == results


def test_records_and_anchors_do_not_depend_on_the_number_of_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _sweep(tmp_path / "one", ["uniform", "random"])
    in_driver = []
    run_episode = episodes.run_episode

    def spy(env, teacher, seed, **kwargs):
        in_driver.append(seed)  # a worker's calls land in the worker's copy of this list
        return run_episode(env, teacher, seed, **kwargs)

    monkeypatch.setattr(episodes, "run_episode", spy)
    two = _sweep(tmp_path / "two", ["uniform", "random"], workers=2)
    assert in_driver == [], "with workers, anchor episodes run in the worker pool, not in the driver"

    def comparable(rs: list[dict]) -> list[dict]:
        return sorted(({k: v for k, v in r.items() if k != "wall_time"} for r in rs), key=records.key)

    assert comparable(one) == comparable(two)
    assert (tmp_path / "one" / "anchors.json").read_bytes() == (
        tmp_path / "two" / "anchors.json"
    ).read_bytes()


def test_a_failing_teacher_gives_a_failed_record_and_the_sweep_goes_on(
    tmp_path: Path, failing_teacher
) -> None:
    results = _sweep(tmp_path, ["always-fails", "uniform"])
    failed = [r for r in results if r["status"] == "failed"]
    assert len(failed) == 2 and {r["agent"] for r in failed} == {"always-fails"}
    assert all("RuntimeError: teacher bug on purpose" in r["error"] and r["score"] is None for r in failed)
    assert sum(r["status"] == "ok" for r in results) == 2


def test_a_rerun_retries_failed_episodes_and_counts_each_once(tmp_path: Path, flaky_teacher) -> None:
    path = tmp_path / "results.jsonl"
    first = _sweep(tmp_path, [flaky_teacher, "uniform"])
    assert (
        sorted((r["agent"], r["status"]) for r in first)
        == [("flaky", "failed")] * 2 + [("uniform", "ok")] * 2
    )
    written = path.read_bytes()
    _FlakyTeacher.failing = False  # the fault is gone: the same command retries the failed episodes
    second = _sweep(tmp_path, [flaky_teacher, "uniform"])
    assert path.read_bytes().startswith(written), "a retry appends; it never rewrites the file"
    assert len(records.read_records(path)) == 6  # 4 first attempts + 2 retries, uniform not rerun
    assert sorted(records.key(r) for r in second) == sorted(records.key(r) for r in first)
    assert all(r["status"] == "ok" for r in second), "a successful retry supersedes the failed record"
    _FlakyTeacher.failing = True  # every episode has a successful record now: nothing runs
    assert _sweep(tmp_path, [flaky_teacher, "uniform"]) == second
    assert len(records.read_records(path)) == 6


def test_the_effective_record_is_the_successful_one_else_the_latest_failure() -> None:
    def attempt(seed: int, status: str, number: int) -> dict:
        return {"task": "t", "agent": "a", "seed": seed, "status": status, "attempt": number}

    written = [
        attempt(0, "failed", 1),
        attempt(1, "failed", 2),
        attempt(0, "ok", 3),  # a retry succeeded
        attempt(0, "failed", 4),  # a later failure (a concurrent sweep) does not undo it
        attempt(1, "failed", 5),  # failed again: the latest failure counts
        attempt(2, "ok", 6),
    ]
    effective = records.effective_records(written)
    assert [(r["seed"], r["attempt"]) for r in effective] == [(0, 3), (1, 5), (2, 6)]


def test_anchors_are_recomputed_when_the_task_definition_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "anchors.json"
    _sweep(tmp_path, ["uniform"])
    stored = path.read_bytes()
    _sweep(tmp_path, ["uniform"], quiet=False)  # same definition: kept, no notice
    assert path.read_bytes() == stored and "anchors:" not in capsys.readouterr().err
    longer = Task(TINY.name, TINY.env_id, TINY.family, {"num_steps": 4}, TINY.references)
    _sweep(tmp_path, ["uniform"], task=longer, quiet=False)
    notice = [line for line in capsys.readouterr().err.splitlines() if line.startswith("anchors:")]
    assert notice == [
        f"anchors: {TINY.name}: env_kwargs changed since anchors.json was written; recomputing "
        "(records already in results.jsonl keep their scores)"
    ]
    anchors = json.loads(path.read_text())[TINY.name]
    assert anchors["definition"]["env_kwargs"] == {"num_steps": 4}
    assert anchors != json.loads(stored)[TINY.name]


def test_legacy_five_seed_anchors_are_stale_and_recomputed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As committed under leaderboards/: no "definition", 5 seeds, no per-seed accuracies.
    legacy = {
        "random": 0.25,
        "reference": 0.75,
        "reference_agent": "oracle",
        "seeds": list(range(10_000, 10_005)),
    }
    path = tmp_path / "anchors.json"
    path.write_text(json.dumps({TINY.name: legacy}, indent=2, sort_keys=True) + "\n")
    _sweep(tmp_path, ["uniform"], seeds=1, quiet=False)
    assert f"anchors: {TINY.name}: seeds changed since anchors.json was written" in capsys.readouterr().err
    anchors = json.loads(path.read_text())[TINY.name]
    assert anchors["seeds"] == list(ANCHOR_SEEDS) and len(anchors["random_accuracies"]) == 30


def test_current_anchors_are_kept_and_anchors_without_per_seed_accuracies_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "anchors.json"
    current = anchor_entry(anchor_definition(TINY), [0.2 + 0.001 * i for i in range(30)], [0.6] * 30)
    path.write_text(json.dumps({TINY.name: current}, indent=2, sort_keys=True) + "\n")
    stored = path.read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(runner, "measure_anchors", lambda *args: pytest.fail("current anchors were recomputed"))
        results = _sweep(tmp_path, ["uniform"], seeds=1)
    assert path.read_bytes() == stored, "current anchors are kept as they are"
    expected = (results[0]["test_accuracy"] - current["random"]) / (current["reference"] - current["random"])
    assert results[0]["score"] == pytest.approx(expected), "scores use the stored anchors"
    # The same definition without per-seed accuracies: separation cannot be checked, so recomputed.
    bare = {k: v for k, v in current.items() if not k.endswith("_accuracies")}
    path.write_text(json.dumps({TINY.name: bare}))
    _sweep(tmp_path, ["uniform"], seeds=1, quiet=False)
    assert f"anchors: {TINY.name}: anchors.json holds no per-seed accuracies" in capsys.readouterr().err
    assert len(json.loads(path.read_text())[TINY.name]["reference_accuracies"]) == 30


def test_anchors_and_episodes_run_with_the_same_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []
    run_episode = episodes.run_episode

    run_population = population.run_population

    def threads() -> tuple[int, list[int]]:
        blas = sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
        return torch.get_num_threads(), blas

    def spy(env, teacher, seed, **kwargs):  # anchors: single episodes
        seen.append((kwargs["agent"], seed, *threads()))
        return run_episode(env, teacher, seed, **kwargs)

    def population_spy(task, agent, seeds):  # a sweep's episodes: populations of seeds
        seen.extend((agent, seed, *threads()) for seed in seeds)
        return run_population(task, agent, seeds)

    monkeypatch.setattr(episodes, "run_episode", spy)
    monkeypatch.setattr(population, "run_population", population_spy)
    previous = torch.get_num_threads()
    torch.set_num_threads(EPISODE_THREADS + 1)  # a driver that runs more threads than episodes do
    try:
        with threadpool_limits(limits=EPISODE_THREADS + 1):
            _sweep(tmp_path, ["uniform"])
            assert torch.get_num_threads() == EPISODE_THREADS + 1, "the driver's setting is restored"
    finally:
        torch.set_num_threads(previous)
    anchor_runs = [s for s in seen if s[1] in ANCHOR_SEEDS]
    assert len(anchor_runs) == 2 * len(ANCHOR_SEEDS) and len(seen) == len(anchor_runs) + 2
    assert {(threads, tuple(blas)) for *_, threads, blas in seen} == {(EPISODE_THREADS, (EPISODE_THREADS,))}


def test_anchor_seeds_are_30_and_disjoint_from_every_other_seed_range() -> None:
    seeds = ANCHOR_SEEDS
    assert seeds == tuple(range(10_000, 10_030))
    # Benchmark seeds are 0..N-1 (N up to 100 is normal), teachgym train's evaluation students
    # 20000.. and its training students 1,000,000 x (seed + 1)...
    assert min(ANCHOR_SEEDS) >= 1_000 and max(ANCHOR_SEEDS) < 20_000


def test_scores_are_not_clipped() -> None:
    # 0 at random's anchor mean (0.4), 1 at the reference's (0.6), linear beyond both.
    assert TeachingEnv.score(0.4, 0.4, 0.6) == 0.0
    assert TeachingEnv.score(0.6, 0.4, 0.6) == pytest.approx(1.0)
    assert TeachingEnv.score(0.1, 0.4, 0.6) == pytest.approx(-1.5)
    assert TeachingEnv.score(0.9, 0.4, 0.6) == pytest.approx(2.5)


def test_a_task_whose_anchors_are_not_separated_is_refused(tmp_path: Path) -> None:
    # Its reference is `random` itself: reference - random is exactly 0 on every seed.
    flat = Task("SkillList-Sim-v0[flat]", TINY.env_id, TINY.family, {"num_steps": 3}, ("random",))
    with pytest.raises(ConfigError) as error:
        run_sweep("test", [TINY, flat], tmp_path, agent_names=["uniform"], seeds=1, command="c", quiet=True)
    message = str(error.value)
    assert "\n" not in message and message.startswith("anchors not separated")
    assert (
        f"task {flat.name!r}: random - random test accuracy = +0.0000, 95% interval [+0.0000, +0.0000]"
        in (message)
    )
    assert "over 30 seeds" in message and TINY.name not in message
    assert not (tmp_path / "results.jsonl").exists(), "no episode of a refused sweep runs"
    stored = json.loads((tmp_path / "anchors.json").read_text())
    assert set(stored) == {TINY.name, flat.name}, "measured anchors are kept, refused or not"


def test_separation_needs_the_interval_above_zero_not_just_a_higher_mean() -> None:
    definition = {"env_id": "x", "env_kwargs": {}, "reference_agent": "oracle", "seeds": list(range(4))}
    # reference - random = 0.1, -0.05, 0.1, -0.05: mean +0.025 > 0, but the interval contains 0.
    noisy = anchor_entry(definition, [0.5, 0.6, 0.5, 0.6], [0.6, 0.55, 0.6, 0.55])
    assert noisy["reference"] > noisy["random"]
    assert "task 'noisy': oracle - random test accuracy = +0.0250" in (
        runner.separation_problem("noisy", noisy) or ""
    )
    separated = anchor_entry(definition, [0.5, 0.6, 0.5, 0.6], [0.6, 0.65, 0.6, 0.7])
    assert runner.separation_problem("separated", separated) is None


def _write_separated_anchors(out: Path, tasks: list[Task]) -> None:
    """Current, separated anchors for ``tasks``, so that a sweep runs no anchor episode."""
    out.mkdir(parents=True, exist_ok=True)
    entries = {
        task.name: anchor_entry(anchor_definition(task), [0.3 + 0.001 * i for i in range(30)], [0.6] * 30)
        for task in tasks
    }
    (out / "anchors.json").write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")


def test_a_truncated_last_line_is_repaired_on_resume_with_a_warning(tmp_path: Path) -> None:
    _sweep(tmp_path, ["uniform"])
    path = tmp_path / "results.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:40])  # power lost mid-write
    with pytest.raises(records.SchemaError, match=r"results.jsonl:2: truncated"):
        records.read_records(path)
    with pytest.warns(UserWarning, match="cut a truncated last line"):
        results = _sweep(tmp_path, ["uniform"])
    assert sorted(records.key(r) for r in results) == [(TINY.name, "uniform", 0), (TINY.name, "uniform", 1)]


def test_a_line_that_breaks_the_schema_is_refused_with_its_number(tmp_path: Path) -> None:
    _sweep(tmp_path, ["uniform"])
    path = tmp_path / "results.jsonl"
    good = path.read_text().splitlines()
    bad = json.loads(good[0])
    del bad["score"]
    path.write_text("\n".join([good[0], json.dumps(bad), good[1]]) + "\n")
    with pytest.raises(records.SchemaError, match=r"results.jsonl:2: .*missing \['score'\]"):
        records.read_records(path)
    path.write_text(good[0] + "\nnot json\n")
    with pytest.raises(records.SchemaError, match=r"results.jsonl:2: not JSON"):
        records.read_records(path)


def test_suites_are_gathered_from_the_families() -> None:
    # quick is the latest core suite's calibrated tasks (fewer seeds): a new user's first leaderboard
    # ranks teachers only where teaching measurably matters.
    assert [t.name for t in suite("quick")] == [t.name for t in suite("core-v2")]
    # core-v2 is core-v1 with Tutor-Sim-v1 (issue 15's dynamics) in place of Tutor-Sim-v0.
    changed = {t.name for t in suite("core-v1")} ^ {t.name for t in suite("core-v2")}
    assert changed == {"Tutor-Sim-v0", "Tutor-Sim-v1"}
    assert {t.family for t in suite("text-v0")} == {"SkillList", "OpenEnded"}
    assert {"quick", "core-v1", "core-v0", "text-v0", "profiling-v0"} <= set(SUITES)
    assert {t.env_id for t in suite("core-v0")} != {t.env_id for t in suite("core-v1")}
    for tasks in SUITES.values():
        assert len({t.name for t in tasks}) == len(tasks), "task names must be unique within a suite"
        assert all(t.references for t in tasks)
    with pytest.raises(UnknownNameError, match="unknown suite 'nope'"):
        suite("nope")


def test_a_suite_task_names_a_registered_version() -> None:
    from teachgym.bench.suites import _version_in

    assert _version_in("SkillList-Sim-v1[forgetting]", "SkillList", "Sim") == 1
    assert _version_in("SkillList-Sim-v0", "SkillList", "Sim") == 0
    with pytest.raises(
        ConfigError, match=r"'SkillList-Sim-v7' must be named 'SkillList-Sim-v<N>\[...\]' with N in \[0, 1\]"
    ):
        _version_in("SkillList-Sim-v7", "SkillList", "Sim")


def test_calibrated_suites_run_enough_seeds_by_default() -> None:
    from teachgym.bench.suites import FALLBACK_SEEDS, default_seeds

    assert default_seeds("core-v1") == 100
    assert default_seeds("core-v0") == FALLBACK_SEEDS
    with pytest.raises(UnknownNameError):
        default_seeds("nope")


def _bench(out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "teachgym.cli", "bench", "quick", "--agents", "uniform,random"]
    command += ["--seeds", "5", "--out", str(out), "--quiet", "--workers", "2"]
    return subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)


def _wait_for_records(path: Path, count: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_text().count("\n") >= count:
            return
        time.sleep(0.05)


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_sweep_resumes_with_every_episode_exactly_once(
    tmp_path: Path, signal_number: int
) -> None:
    results = tmp_path / "results.jsonl"
    _write_separated_anchors(tmp_path, suite("quick"))  # the interrupt is meant for the episodes
    # Every task x (uniform, random) x five seeds, less the pairs a task does not support.
    total = 5 * sum(len(runner.supported_agents(task, ["uniform", "random"])) for task in suite("quick"))
    process = _bench(tmp_path)
    _wait_for_records(results, 3, process)
    os.killpg(process.pid, signal_number)  # the whole group: the runner and its workers
    process.wait(timeout=60)
    interrupted = records.read_records(results, allow_truncated_tail=True)
    assert 3 <= len(interrupted) < total, "the interrupt must land mid-sweep"
    rerun = _bench(tmp_path)
    assert rerun.wait(timeout=300) == 0
    final = records.read_records(results)
    keys = [records.key(r) for r in final]
    assert len(keys) == len(set(keys)) == total
    assert all(r["status"] == "ok" for r in final), "an interrupted episode is rerun, not recorded as failed"
    assert final[: len(interrupted)] == interrupted, "resuming must keep what was already recorded"


def test_ray_and_local_executors_give_the_same_records(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    local = _sweep(tmp_path / "local", ["uniform", "oracle"])
    ray_records = _sweep(tmp_path / "ray", ["uniform", "oracle"], executor="ray")

    def comparable(rs: list[dict]) -> list[dict]:
        return sorted(({k: v for k, v in r.items() if k != "wall_time"} for r in rs), key=records.key)

    assert comparable(ray_records) == comparable(local)
    # The anchor episodes ran as Ray tasks too, with the same results.
    ray_anchors, local_anchors = (tmp_path / name / "anchors.json" for name in ("ray", "local"))
    assert ray_anchors.read_bytes() == local_anchors.read_bytes()


def test_an_unknown_teacher_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="unknown teacher 'nobody'"):
        _sweep(tmp_path, ["uniform", "nobody"])
    assert not any(tmp_path.iterdir()), "a refused sweep must leave its folder untouched"
