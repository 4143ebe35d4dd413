"""Reliability (issue 9): results files survive concurrent writers and refuse bad lines, and bad
command-line input is refused with one line. Faults in sweeps are in tests/test_reliability_sweeps.py.

Complements tests/test_bench_runner.py (a truncated last line, a bad line refused by the reader) and
tests/test_cli.py (in-process user errors of ``teachgym run``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from teachgym.bench import records
from tests.test_reliability_sweeps import TINY, _sweep

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
        "family": "SkillList", "agent": f"writer-{writer}", "agent_source": None,
        "seed": index, "status": "ok", "error": None,
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
        r"unexpected keyword argument 'nope'; expected any of \[.*'num_steps'",
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
        r"unexpected keyword argument 'nope'",
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
    ("missing-key", r"record keys differ from schema 2: missing \['score'\]"),
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
