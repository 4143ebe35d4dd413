"""Reliability (issue 9): faults in sweeps become failed records and the sweep goes on, results files
survive concurrent writers and refuse bad lines, and bad command-line input is refused with one line.

Complements tests/test_bench_runner.py (a raising teacher, retries, a truncated last line, a bad line
refused by the reader, interrupted sweeps, ray vs local) and tests/test_cli.py (in-process user
errors of ``teachgym run``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

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
    on seed 1 the worker process is killed; other seeds run normally."""

    def make(self) -> gym.Env[Any, Any]:
        return _FaultyEnv(super().make())


class _FaultyEnv(gym.Wrapper):  # type: ignore[type-arg]
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        self.fault_seed = seed
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> Any:
        if os.getpid() != TEST_PID and self.fault_seed == 0:
            raise RuntimeError("ray task fault on purpose")
        if os.getpid() != TEST_PID and self.fault_seed == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return self.env.step(action)


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


# --- results files ----------------------------------------------------------------------------------

#: Curve points per record: each line is over 64 KiB, longer than a pipe buffer or one page cache write.
CURVE_LEN = 900
NUM_WRITERS = 4
RECORDS_PER_WRITER = 50


def _big_record(writer: int, index: int) -> dict[str, Any]:
    curve = [
        {"step": s, "reward": writer + index / 1000, "mean_accuracy": s / CURVE_LEN, "examples_used": 64 * s}
        for s in range(CURVE_LEN)
    ]
    return {
        "schema": records.SCHEMA, "suite": "test", "task": "t", "env_id": TINY.env_id, "env_kwargs": {},
        "family": "SkillList", "agent": f"writer-{writer}", "seed": index, "status": "ok", "error": None,
        "reference": False, "score": 0.5, "test_accuracy": 0.5, "initial_test_accuracy": 0.1,
        "final_accuracy": 0.5, "initial_accuracy": 0.1, "validation_test_gap": 0.0, "episode_return": 0.4,
        "curve": curve, "final_profile": {}, "test_profile": {}, "examples_used": 0, "compute_used": 0,
        "family_info": {"padding": "x" * 1000 * writer}, "wall_time": 0.1, "version": "0",
        "git_revision": None, "command": "test",
    }  # fmt: skip


def _append_many(path: Path, writer: int, start: Any) -> None:
    start.wait()
    for index in range(RECORDS_PER_WRITER):
        records.append_record(path, _big_record(writer, index))


def _repair_until(path: Path, done: Any, cuts: Any) -> None:
    """A second sweep resuming into the same folder: it repairs the file while the others write."""
    while not done.is_set():
        cuts.value += records.repair(path)
        done.wait(0.02)


def test_concurrent_writers_never_interleave_records(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    context = multiprocessing.get_context("fork")
    start, done, cuts = context.Barrier(NUM_WRITERS), context.Event(), context.Value("q", 0)
    writers = [context.Process(target=_append_many, args=(path, w, start)) for w in range(NUM_WRITERS)]
    repairer = context.Process(target=_repair_until, args=(path, done, cuts))
    repairer.start()
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
    done.set()
    repairer.join(timeout=60)
    assert [p.exitcode for p in [*writers, repairer]] == [0] * (NUM_WRITERS + 1)
    assert cuts.value == 0, "repair found a partial line: a write was not atomic to other lock holders"
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == NUM_WRITERS * RECORDS_PER_WRITER
    assert min(len(line) for line in lines[:-1]) > 64 * 1024
    written = records.read_records(path)  # every line parses and follows the schema
    assert sorted((r["agent"], r["seed"]) for r in written) == sorted(
        (f"writer-{w}", i) for w in range(NUM_WRITERS) for i in range(RECORDS_PER_WRITER)
    )
    for record in written:
        assert record == _big_record(int(record["agent"].split("-")[1]), record["seed"])
    for w in range(NUM_WRITERS):  # each writer's records in the order it wrote them
        assert [r["seed"] for r in written if r["agent"] == f"writer-{w}"] == list(range(RECORDS_PER_WRITER))


# --- bad input on the command line ------------------------------------------------------------------

SIM = "teachgym/SkillList-Sim-v1"
OUT = "{out}"  # replaced by a fresh folder per case, which a refused command must not create
TRAIN = ["train", SIM, "--steps", "10", "--out", OUT]
#: ``teachgym train`` refuses most values after importing stable-baselines3 and torch (~3 s a process
#: on an idle core): the default run keeps one case per check, the others are marked slow.


def _case(case: str, argv: list[str], message: str, *, slow: bool = False) -> Any:
    """A command line that must be refused: its ``argv`` and what stderr's one line must say (the
    value and what was expected), as a parameter set with id ``case``."""
    return pytest.param(case, argv, message, id=case, marks=[pytest.mark.slow] if slow else [])


CLI_CASES = [
    _case(
        "bench-unknown-suite",
        ["bench", "nope", "--out", OUT],
        r"unknown suite 'nope'; expected one of \[.*'quick'",
    ),
    _case(
        "bench-unknown-agent",
        ["bench", "quick", "--agents", "uniform,nobody", "--out", OUT],
        r"unknown teacher 'nobody'; expected one of \[.*'uniform'",
    ),
    _case(
        "bench-no-agent", ["bench", "quick", "--agents", ",", "--out", OUT], r"--agents ',' names no teacher"
    ),
    _case(
        "bench-seeds-0",
        ["bench", "quick", "--seeds", "0", "--out", OUT],
        r"seeds=0 is invalid; expected an int >= 1",
    ),
    _case(
        "bench-seeds-negative",
        ["bench", "quick", "--seeds", "-1", "--out", OUT],
        r"seeds=-1 is invalid; expected an int >= 1",
    ),
    _case(
        "bench-seeds-not-int",
        ["bench", "quick", "--seeds", "two", "--out", OUT],
        r"argument --seeds: invalid int value: 'two'",
    ),
    _case(
        "bench-workers-0",
        ["bench", "quick", "--workers", "0", "--out", OUT],
        r"workers=0 is invalid; expected an int >= 1",
    ),
    _case(
        "bench-executor",
        ["bench", "quick", "--executor", "nope", "--out", OUT],
        r"argument --executor: invalid choice: 'nope' \(choose from 'local', 'ray'\)",
    ),
    _case(
        "bench-ray-address",
        ["bench", "quick", "--ray-address", "x:1", "--out", OUT],
        r"--ray-address needs --executor ray",
    ),
    _case(
        "run-seed-negative",
        ["run", SIM, "--agent", "uniform", "--seed", "-1"],
        r"--seed must be >= 0, got -1",
    ),
    _case(
        "run-render",
        ["run", SIM, "--agent", "uniform", "--render", "human"],
        r"argument --render: invalid choice: 'human' \(choose from 'ansi'\)",
    ),
    _case(
        "train-algo",
        [*TRAIN, "--algo", "nope"],
        r"argument --algo: invalid choice: 'nope' \(choose from 'ppo', 'a2c', 'dqn', 'sac'\)",
    ),
    _case(
        "env-kwargs-not-json",
        [*TRAIN, "--env-kwargs", "{not json"],
        r"--env-kwargs '\{not json' is not JSON \(.*\); expected an object",
    ),
    _case(
        "env-kwargs-not-object", [*TRAIN, "--env-kwargs", "[1]"], r"--env-kwargs '\[1\]' is not a JSON object"
    ),
    _case("algo-kwargs-not-json", [*TRAIN, "--algo-kwargs", "{"], r"--algo-kwargs '\{' is not JSON"),
    _case("train-steps-negative", [*TRAIN, "--steps", "-5"], r"steps=-5 is invalid; expected an int >= 1"),
    _case("train-num-envs-0", [*TRAIN, "--num-envs", "0"], r"num_envs=0 is invalid; expected an int >= 1"),
    _case(
        "env-kwarg-unknown",
        [*TRAIN, "--env-kwargs", '{"nope": 1}'],
        r"unknown argument\(s\) \['nope'\]; expected any of \[.*'num_steps'",
    ),
    _case(
        "env-kwarg-out-of-range",
        [*TRAIN, "--env-kwargs", '{"num_steps": -3}'],
        r"num_steps=-3 is invalid; expected an int >= 1",
    ),
    _case(
        "student-option-out-of-range",
        [*TRAIN, "--env-kwargs", '{"student_options": {"learning_rate": 5}}'],
        r"learning_rate=5; expected in \[0, 1\]",
    ),
    _case(
        "unknown-student",
        [*TRAIN, "--env-kwargs", '{"student": "nobody"}'],
        r"unknown student 'nobody'; expected one of \[.*'simulated'",
    ),
    _case("leaderboard-no-folder", ["leaderboard", OUT], r"suite.json: no suite file"),
    _case(
        "train-unknown-env",
        ["train", "teachgym/Nope-v0", "--steps", "10", "--out", OUT],
        r"unknown env id 'teachgym/Nope-v0'",
        slow=True,
    ),
    _case(
        "train-seed-negative",
        [*TRAIN, "--seed", "-1"],
        r"seed=-1 is invalid; expected an int >= 0",
        slow=True,
    ),
    _case(
        "env-kwarg-wrong-type",
        [*TRAIN, "--env-kwargs", '{"num_steps": "x"}'],
        r"num_steps='x' has type str; expected int",
        slow=True,
    ),
    _case(
        "env-kwarg-nan",
        [*TRAIN, "--env-kwargs", '{"examples_per_step": NaN}'],
        r"examples_per_step=nan",
        slow=True,
    ),
    _case(
        "student-option-unknown",
        [*TRAIN, "--env-kwargs", '{"student_options": {"nope": 1}}'],
        r"unknown argument\(s\) \['nope'\]",
        slow=True,
    ),
    _case(
        "unknown-domain",
        [*TRAIN, "--env-kwargs", '{"domain": "nowhere"}'],
        r"unknown domain 'nowhere'",
        slow=True,
    ),
]


def _damage(lines: list[str], case: str) -> tuple[list[str], int]:
    """``lines`` of a good results file with one line broken as ``case`` says; the broken line's number."""
    if case == "not-json":
        return [lines[0], "{" + lines[1], *lines[2:]], 2
    if case == "truncated":
        return [*lines[:-1], lines[-1][:50]], len(lines)
    record = json.loads(lines[1])
    if case == "missing-key":
        del record["score"]
    elif case == "wrong-type":
        record["seed"] = "1"
    elif case == "bad-status":
        record["status"] = "maybe"
    elif case == "nan-score":
        record["score"] = float("nan")
    return [lines[0], json.dumps(record) + "\n", *lines[2:]], 2


#: (case, what the error says after ``results.jsonl:LINE: ``).
BAD_RESULTS = [
    ("missing-key", r"record keys differ from schema 1: missing \['score'\]"),
    ("wrong-type", r"seed='1' has type str; expected \['int'\]"),
    ("bad-status", r"status='maybe'; expected one of \('ok', 'failed'\)"),
    ("not-json", r"not JSON"),
    ("truncated", r"truncated last line"),
]


class CliRun(NamedTuple):
    out: Path  # the case's --out folder (or the results folder of a leaderboard case)
    process: subprocess.CompletedProcess[str]
    line: int  # the broken line of a leaderboard case's results file (0 for the others)


def _run_cli(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "teachgym.cli", *argv]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)


def _selected_cases(request: pytest.FixtureRequest, test: Any) -> list[str]:
    """The ``case`` parameters of the selected (not deselected) runs of ``test``."""
    return [
        item.callspec.params["case"]
        for item in request.session.items
        if getattr(item, "originalname", None) == test.__name__ and hasattr(item, "callspec")
    ]


@pytest.fixture(scope="module")
def cli_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliRun]:
    """Every selected command line of the two tests below, run as subprocesses, three at a time (each
    is mostly interpreter start-up): case -> its run."""
    root = tmp_path_factory.mktemp("cli")
    jobs: dict[str, tuple[list[str], Path, int]] = {}
    argvs = {case.values[0]: case.values[1] for case in CLI_CASES}
    for case in _selected_cases(request, test_bad_command_lines_are_refused_with_one_line):
        argv = argvs[case]
        jobs[case] = ([arg.replace(OUT, str(root / case)) for arg in argv], root / case, 0)
    bad = _selected_cases(
        request, test_a_leaderboard_of_a_broken_results_file_is_refused_with_the_line_number
    )
    if bad:
        good = root / "good"
        _sweep(good, [TINY], ["uniform", "random"], seeds=2)  # a results folder to break
        lines = (good / "results.jsonl").read_text().splitlines(keepends=True)
        for case in bad:
            folder = root / f"leaderboard-{case}"
            shutil.copytree(good, folder)
            damaged, line = _damage(lines, case)
            (folder / "results.jsonl").write_text("".join(damaged))
            jobs[f"leaderboard-{case}"] = (["leaderboard", str(folder)], folder, line)
    with ThreadPoolExecutor(max_workers=3) as pool:
        processes = pool.map(_run_cli, [argv for argv, _, _ in jobs.values()])
        return {
            case: CliRun(out, process, line)
            for (case, (_, out, line)), process in zip(jobs.items(), processes, strict=True)
        }


def _assert_one_line_refusal(process: subprocess.CompletedProcess[str], message: str) -> None:
    assert process.returncode == 2, (process.returncode, process.stderr[-2000:])
    assert "Traceback" not in process.stderr, process.stderr[-2000:]
    assert process.stderr.count("\n") == 1 and process.stderr.endswith("\n"), process.stderr
    assert re.match(r"teachgym( \w+)?: error: ", process.stderr), process.stderr
    assert re.search(message, process.stderr), process.stderr
    assert process.stdout == "", "refused before doing anything"


@pytest.mark.parametrize(("case", "argv", "message"), CLI_CASES)
def test_bad_command_lines_are_refused_with_one_line(
    cli_runs: dict[str, CliRun], case: str, argv: list[str], message: str
) -> None:
    run = cli_runs[case]
    _assert_one_line_refusal(run.process, message)
    assert not run.out.exists(), f"a refused command created {run.out}"


@pytest.mark.parametrize(("case", "message"), BAD_RESULTS, ids=[c[0] for c in BAD_RESULTS])
def test_a_leaderboard_of_a_broken_results_file_is_refused_with_the_line_number(
    cli_runs: dict[str, CliRun], case: str, message: str
) -> None:
    run = cli_runs[f"leaderboard-{case}"]
    _assert_one_line_refusal(run.process, rf"results\.jsonl:{run.line}: {message}")
    assert not (run.out / "README.md").exists(), "nothing is rendered"
