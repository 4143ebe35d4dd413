"""The sweep runner: records, resume after interrupts, failures recorded, the results file's schema."""

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
from teachgym.bench import records, runner
from teachgym.bench.runner import ANCHOR_SEEDS, EPISODE_THREADS, run_sweep
from teachgym.bench.suites import SUITES, Task, suite
from teachgym.errors import UnknownNameError

TINY = Task("SkillList-Sim-v0[tiny]", "teachgym/SkillList-Sim-v0", "SkillList", {"num_steps": 3}, ("oracle",))


class _FailingTeacher(BaseTeacher):
    """Raises on its second step (a teacher bug)."""

    def __init__(self, env: object) -> None:
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
    register("always-fails", families=("SkillList",), paper="test double", summary="raises")(_FailingTeacher)
    yield "always-fails"
    del agent_base._REGISTRY["always-fails"]


class _FlakyTeacher(BaseTeacher):
    """Raises on its first step while ``failing`` is set (a transient fault, e.g. a lost worker)."""

    failing = True

    def __init__(self, env: object) -> None:
        pass

    def act(self, obs, info):
        if _FlakyTeacher.failing:
            raise RuntimeError("transient fault on purpose")
        return self.action_space.sample()


@pytest.fixture
def flaky_teacher():
    """Registers ``flaky`` (failing until the test clears ``_FlakyTeacher.failing``) for one test."""
    register("flaky", families=("SkillList",), paper="test double", summary="fails, then works")(
        _FlakyTeacher
    )
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
    for record in results:
        assert record["status"] == "ok" and 0.0 <= record["score"] <= 1.0
        assert record["reference"] == (record["agent"] == "oracle")
        assert len(record["curve"]) == 3 and record["command"] == "teachgym bench test"
    anchors = json.loads((tmp_path / "anchors.json").read_text())[TINY.name]
    assert anchors["reference_agent"] == "oracle" and anchors["seeds"] == list(ANCHOR_SEEDS)
    assert anchors["definition"] == {
        "env_id": TINY.env_id,
        "env_kwargs": {"num_steps": 3},
        "reference_agent": "oracle",
        "seeds": list(ANCHOR_SEEDS),
    }
    assert anchors["reference"] > anchors["random"]
    size = (tmp_path / "results.jsonl").stat().st_size
    again = _sweep(tmp_path, ["uniform", "oracle"])  # the same command: nothing to do
    assert (tmp_path / "results.jsonl").stat().st_size == size and again == results
    more = _sweep(tmp_path, ["uniform", "oracle"], seeds=3)  # one more seed: only the new episodes run
    assert len(more) == 6 and more[:4] == results


def test_records_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    one = _sweep(tmp_path / "one", ["uniform", "random"])
    two = _sweep(tmp_path / "two", ["uniform", "random"], workers=2)

    def comparable(rs: list[dict]) -> list[dict]:
        return sorted(({k: v for k, v in r.items() if k != "wall_time"} for r in rs), key=records.key)

    assert comparable(one) == comparable(two)


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


def test_legacy_anchors_without_a_definition_are_kept_unless_their_seeds_or_reference_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As committed under leaderboards/: no "definition"; reference_agent and seeds are checked.
    legacy = {"random": 0.25, "reference": 0.75, "reference_agent": "oracle", "seeds": list(ANCHOR_SEEDS)}
    path = tmp_path / "anchors.json"
    path.write_text(json.dumps({TINY.name: legacy}, indent=2, sort_keys=True) + "\n")
    stored = path.read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(runner, "anchors_for", lambda task: pytest.fail("legacy anchors were recomputed"))
        _sweep(tmp_path, ["uniform"], seeds=1)
    assert path.read_bytes() == stored, "legacy anchors are trusted and not rewritten"
    path.write_text(json.dumps({TINY.name: {**legacy, "seeds": [1, 2]}}))
    _sweep(tmp_path, ["uniform"], seeds=1)
    anchors = json.loads(path.read_text())[TINY.name]
    assert anchors["seeds"] == list(ANCHOR_SEEDS) and "definition" in anchors


def test_anchors_and_episodes_run_with_the_same_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []
    run_episode = runner.run_episode

    def spy(env, teacher, seed, **kwargs):
        blas = sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
        seen.append((kwargs["agent"], seed, torch.get_num_threads(), blas))
        return run_episode(env, teacher, seed, **kwargs)

    monkeypatch.setattr(runner, "run_episode", spy)
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
    quick = {t.family for t in suite("quick")}
    assert quick == {"SkillList", "SkillTree", "Curriculum", "Rehearsal", "Intervention", "Tutor"}
    assert {t.family for t in suite("text-v0")} == {"SkillList", "OpenEnded"}
    assert set(SUITES) == {"quick", "core-v0", "text-v0", "profiling-v0"}
    for tasks in SUITES.values():
        assert len({t.name for t in tasks}) == len(tasks), "task names must be unique within a suite"
        assert all(t.references for t in tasks)
    with pytest.raises(UnknownNameError, match="unknown suite 'nope'"):
        suite("nope")


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
    process = _bench(tmp_path)
    _wait_for_records(results, 3, process)
    os.killpg(process.pid, signal_number)  # the whole group: the runner and its workers
    process.wait(timeout=60)
    interrupted = records.read_records(results, allow_truncated_tail=True)
    assert 3 <= len(interrupted) < (6 * 2 - 1) * 5, "the interrupt must land mid-sweep"
    rerun = _bench(tmp_path)
    assert rerun.wait(timeout=300) == 0
    final = records.read_records(results)
    keys = [records.key(r) for r in final]
    # Six tasks x two teachers x five seeds, less the Intervention task's `uniform` (not registered there).
    assert len(keys) == len(set(keys)) == (6 * 2 - 1) * 5
    assert all(r["status"] == "ok" for r in final), "an interrupted episode is rerun, not recorded as failed"
    assert final[: len(interrupted)] == interrupted, "resuming must keep what was already recorded"


def test_ray_and_local_executors_give_the_same_records(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    local = _sweep(tmp_path / "local", ["uniform", "oracle"])
    ray_records = _sweep(tmp_path / "ray", ["uniform", "oracle"], executor="ray")

    def comparable(rs: list[dict]) -> list[dict]:
        return sorted(({k: v for k, v in r.items() if k != "wall_time"} for r in rs), key=records.key)

    assert comparable(ray_records) == comparable(local)


def test_an_unknown_teacher_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="unknown teacher 'nobody'"):
        _sweep(tmp_path, ["uniform", "nobody"])
    assert not any(tmp_path.iterdir()), "a refused sweep must leave its folder untouched"
