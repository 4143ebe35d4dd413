"""Reliability (issue 9), faults in sweeps: a student that diverges, a teacher that raises, a worker
process that is killed (every time, or once and retried) and a Ray task that raises or loses its worker
each become failed records and the sweep goes on; the leaderboard lists every failure; a task whose
anchor episodes fail is refused with one clear error.

Complements tests/test_bench_runner.py (a raising teacher, retries, interrupted sweeps, ray vs local);
results files and bad command-line input are in tests/test_reliability.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from teachgym import students
from teachgym.agents import base as agent_base
from teachgym.agents.base import BaseTeacher, register
from teachgym.bench import records
from teachgym.bench.report import FAILURE_MARK
from teachgym.bench.runner import ANCHOR_SEEDS, Job, anchor_definition, anchor_entry, run_job, run_sweep
from teachgym.bench.suites import Task
from teachgym.cli import main
from teachgym.errors import ConfigError
from teachgym.skills import Profile

#: The pytest process: fault injectors never kill it, only worker processes.
TEST_PID = os.getpid()
TINY = Task("SkillList-Sim-v1[tiny]", "teachgym/SkillList-Sim-v1", "SkillList", {"num_steps": 3}, ("oracle",))
#: TINY with a student whose loss becomes NaN on its second lesson (see ``_DivergingStudent``).
DIVERGING = Task(
    "SkillList-Sim-v0[diverging]",
    "teachgym/SkillList-Sim-v1",
    "SkillList",
    {"num_steps": 3, "student": "diverging"},
    ("uniform",),
)


def _sweep(out: Path, tasks: list[Task], agents: list[str], seeds: int = 2, **kwargs: Any) -> list[dict]:
    return run_sweep(
        "test",
        tasks,
        out,
        agent_names=agents,
        seeds=seeds,
        command="teachgym bench test",
        quiet=True,
        **kwargs,
    )


def _write_anchors(out: Path, tasks: list[Task]) -> None:
    """Anchors for ``tasks`` as the runner stores them, so it does not run anchor episodes (a
    diverging student has no finite anchors; the episodes are what these tests are about)."""
    out.mkdir(parents=True, exist_ok=True)
    anchors = {}
    for task in tasks:
        # Separated: reference - random is 0.5 +- 0.01 over the anchor seeds.
        random = [0.25 + 0.01 * (i % 2) for i in range(len(ANCHOR_SEEDS))]
        anchors[task.name] = anchor_entry(anchor_definition(task), random, [0.75] * len(ANCHOR_SEEDS))
    (out / "anchors.json").write_text(json.dumps(anchors, indent=2, sort_keys=True) + "\n")


# --- test doubles ---------------------------------------------------------------------------------


class _DivergingStudent:
    """A simulated student whose training loss becomes NaN on its second lesson, and which says so.

    The env grades the student's answers, so a diverged network only answers at chance: the fault
    is visible to the student alone, which must raise (see the xfail test below for a real one)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lessons = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def reset(self, seed: np.random.SeedSequence) -> None:
        self.inner.reset(seed)
        self.lessons = 0

    def learn(self, batch: Any) -> int:
        self.lessons += 1
        if self.lessons == 2:
            raise FloatingPointError("training loss is nan (the student diverged)")
        return int(self.inner.learn(batch))

    def attempt(self, items: Any) -> np.ndarray:
        return np.asarray(self.inner.attempt(items))

    def assess(self, items: Any) -> Profile:
        return self.inner.assess(items)


def _build_diverging(domain: Any, num_members: int, options: Any) -> _DivergingStudent:
    return _DivergingStudent(students.make_student("simulated", domain, num_members, options))


class _RaisingTeacher(BaseTeacher):
    """Raises on its first step, every episode (a teacher bug)."""

    def __init__(self, task: object) -> None:
        pass

    def act(self, obs: Any, info: Any) -> Any:
        raise RuntimeError("teacher bug on purpose")


class _KillingTeacher(BaseTeacher):
    """Kills its own process (SIGKILL: a worker lost to the OOM killer) on its second step."""

    def __init__(self, task: object) -> None:
        pass

    def reset(self, observation_space: Any, action_space: Any, *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.steps = 0

    def act(self, obs: Any, info: Any) -> Any:
        self.steps += 1
        if self.steps == 2:
            if os.getpid() == TEST_PID:
                raise RuntimeError("the killing teacher ran in the test process; it only runs in workers")
            os.kill(os.getpid(), signal.SIGKILL)
        return self.action_space.sample()


@pytest.fixture
def test_doubles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Registers the ``diverging`` student and the ``raises`` and ``kills-worker`` teachers for one
    test (other tests list every registered teacher)."""
    monkeypatch.setitem(students.STUDENTS, "diverging", ("latent", _build_diverging))
    for name, cls in (("raises", _RaisingTeacher), ("kills-worker", _KillingTeacher)):
        register(name, kinds=("allocation",), paper="test double", summary=name)(cls)
    yield
    for name in ("raises", "kills-worker"):
        del agent_base._REGISTRY[name]


def _statuses(results: list[dict]) -> list[tuple[str, str, int, str]]:
    return sorted((r["task"], r["agent"], r["seed"], r["status"]) for r in results)


# --- faults in sweeps -----------------------------------------------------------------------------


def test_a_diverged_student_gives_failed_records_and_the_leaderboard_lists_them(
    tmp_path: Path, test_doubles: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_anchors(tmp_path, [DIVERGING, TINY])
    results = _sweep(tmp_path, [DIVERGING, TINY], ["uniform", "raises"])
    failed = [(task.name, "raises") for task in (DIVERGING, TINY)] + [(DIVERGING.name, "uniform")]
    assert _statuses(results) == sorted(
        [(task, agent, seed, "failed") for task, agent in failed for seed in (0, 1)]
        + [(TINY.name, "uniform", seed, "ok") for seed in (0, 1)]
    ), "every fault is recorded, and the sweep went on to the healthy episodes"
    for record in results:
        if record["status"] == "failed":
            assert record["score"] is None and record["test_accuracy"] is None
    diverged = [r for r in results if r["task"] == DIVERGING.name and r["agent"] == "uniform"]
    assert all(r["error"].startswith("FloatingPointError: training loss is nan") for r in diverged)
    raised = [r for r in results if r["agent"] == "raises"]
    assert all(r["error"].startswith("RuntimeError: teacher bug on purpose") for r in raised)

    # The leaderboard lists every failure and marks the teachers; none is dropped, not even a teacher
    # without a single successful episode, nor a task where every episode failed.
    assert main(["leaderboard", str(tmp_path)]) == 0
    capsys.readouterr()
    readme = (tmp_path / "README.md").read_text()
    rows = [_table_row(line) for line in readme.splitlines() if line.startswith("| ")]
    by_teacher = {row[0]: row for row in rows}  # the tables of teachers that are not ranked
    mark = f" {FAILURE_MARK}"
    # uniform is DIVERGING's reference (an anchor, listed apart); raises ran no task successfully.
    assert by_teacher["uniform" + mark][-3:] == ["1/2", "2", "2"]  # tasks, episodes, failures
    assert by_teacher["raises" + mark][-3:] == ["0/2", "0", "4"]
    by_task = {tuple(row[:2]): row for row in rows}
    for agent in ("uniform (anchor)", "raises"):
        assert by_task[(DIVERGING.name, agent + mark)][-2:] == ["0", "2"]  # episodes, failures
    failures = readme[readme.index("## Failures") :]
    for record in (r for r in results if r["status"] == "failed"):
        row = [record["task"], record["agent"], str(record["seed"]), record["error"]]
        assert f"| {' | '.join(row)} |" in failures, row
    page = (tmp_path / "index.html").read_text()
    assert "FloatingPointError: training loss is nan" in page and "teacher bug on purpose" in page


def _table_row(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_a_real_student_whose_loss_diverges_gives_a_failed_record() -> None:
    """An MLP student with a learning rate of 1e30 diverges; its optimizer refuses the NaN loss, so
    the episode is recorded as failed with the error rather than scored at chance."""
    task = Task(
        "SkillList-Digits-v0[lr=1e30]",
        "teachgym/SkillList-Digits-v0",
        "SkillList",
        {"num_steps": 2, "student_options": {"learning_rate": 1e30}},
        ("weakest-skill",),
    )
    record = run_job(Job(task, "uniform", 0), "test", "test", {"random": 0.1, "reference": 0.9})
    assert record["status"] == "failed", record.get("test_accuracy")
    assert "FloatingPointError" in record["error"] and "diverged" in record["error"]


def test_a_worker_killed_mid_episode_fails_only_its_own_episodes(tmp_path: Path, test_doubles: None) -> None:
    results = _sweep(tmp_path, [TINY], ["kills-worker", "uniform", "random"], seeds=2, workers=2)
    assert _statuses(results) == sorted(
        [(TINY.name, "kills-worker", seed, "failed") for seed in (0, 1)]
        + [(TINY.name, agent, seed, "ok") for agent in ("uniform", "random") for seed in (0, 1)]
    )
    killed = [r for r in results if r["status"] == "failed"]
    for record in killed:
        assert record["error"].startswith(
            "BrokenProcessPool: the worker process died while running this episode alone"
        ), record["error"]
    all_records = records.read_records(tmp_path / "results.jsonl")
    assert len(all_records) == len(results), "each episode is recorded once"


class _KillsOnceTeacher(_KillingTeacher):
    """Kills its worker on an episode's second step, the first time only (``MARKER`` records it): a
    transient fault, e.g. the OOM killer, that a retry survives."""

    MARKER: Path | None = None

    def act(self, obs: Any, info: Any) -> Any:
        self.steps += 1
        marker = _KillsOnceTeacher.MARKER
        if self.steps == 2 and marker is not None and not marker.exists():
            if os.getpid() == TEST_PID:
                raise RuntimeError("the killing teacher ran in the test process; it only runs in workers")
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return self.action_space.sample()


def test_a_worker_killed_once_is_retried_and_nothing_is_recorded_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "killed-once"
    monkeypatch.setattr(_KillsOnceTeacher, "MARKER", marker)
    register("kills-once", kinds=("allocation",), paper="test double", summary="kills once")(
        _KillsOnceTeacher
    )
    try:
        results = _sweep(tmp_path / "out", [TINY], ["kills-once", "uniform"], seeds=2, workers=2)
    finally:
        del agent_base._REGISTRY["kills-once"]
    assert marker.exists(), "the worker was killed"
    assert _statuses(results) == [(TINY.name, a, s, "ok") for a in ("kills-once", "uniform") for s in (0, 1)]
    assert len(records.read_records(tmp_path / "out" / "results.jsonl")) == 4


def test_a_task_whose_anchor_episodes_fail_is_refused_with_one_clear_error(
    tmp_path: Path, test_doubles: None
) -> None:
    with pytest.raises(ConfigError) as error:
        _sweep(tmp_path, [TINY, DIVERGING], ["uniform"])
    message = str(error.value)
    assert message.startswith(f"task {DIVERGING.name!r}: its anchor episode ('random' teacher, seed 10000)")
    assert "FloatingPointError: training loss is nan" in message and "\n" not in message
    anchors = json.loads((tmp_path / "anchors.json").read_text())
    assert list(anchors) == [TINY.name], "no anchors are stored for the task that failed"
    assert not (tmp_path / "results.jsonl").exists()


class _FaultyTask(Task):
    """A task whose env faults in Ray workers (never in the test process): on seed 0 a step raises,
    on seed 1 the worker process is killed; other seeds run normally. A population (the seeds of a
    sweep's (task, teacher) pair, run together) faults as soon as it holds such a seed."""

    def make(self) -> gym.Env[Any, Any]:
        return _FaultyEnv(super().make())

    def make_population(self, size: int) -> Any:
        vector = super().make_population(size)
        reset, step = vector.reset, vector.step

        def faulty_reset(*, seed: Any = None, options: Any = None) -> Any:
            vector.fault_seeds = list(seed)
            return reset(seed=seed, options=options)

        def faulty_step(actions: Any) -> Any:
            for seed in vector.fault_seeds:
                _fault(seed)
            return step(actions)

        vector.reset, vector.step = faulty_reset, faulty_step
        return vector


class _FaultyEnv(gym.Wrapper):  # type: ignore[type-arg]
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        self.fault_seed = seed
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> Any:
        _fault(self.fault_seed)
        return self.env.step(action)


def _fault(seed: int | None) -> None:
    if os.getpid() != TEST_PID and seed == 0:
        raise RuntimeError("ray task fault on purpose")
    if os.getpid() != TEST_PID and seed == 1:
        os.kill(os.getpid(), signal.SIGKILL)


def test_ray_tasks_that_raise_or_lose_their_worker_give_failed_records(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from ray import cloudpickle

    task = _FaultyTask(TINY.name, TINY.env_id, TINY.family, TINY.kwargs, TINY.references)
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)  # Ray workers cannot import this test module
    try:
        results = _sweep(tmp_path, [task], ["uniform"], seeds=3, executor="ray")
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    assert not ray.is_initialized(), "the runner shuts down the Ray instance it started"
    assert _statuses(results) == [
        (TINY.name, "uniform", 0, "failed"),
        (TINY.name, "uniform", 1, "failed"),
        (TINY.name, "uniform", 2, "ok"),
    ]
    error = {r["seed"]: r["error"] for r in results}  # records come in the order episodes finished
    assert error[0].startswith("RuntimeError: ray task fault on purpose")
    assert re.match(r"WorkerCrashedError: The worker died unexpectedly", error[1]), error[1]
