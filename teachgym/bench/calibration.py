"""The calibration table of a results folder: does teaching matter on each task, measured?

A task earns its place in a suite (``BENCHMARK.md``) when, at the suite's seed count, the family's
reference teacher beats ``uniform`` and the family's naive baseline (``uniform`` unless the family
declares another, e.g. Tutor's syllabus order) beats ``random``, each by a paired 95% interval that
excludes zero and by at least :data:`MIN_EFFECT` test accuracy, and no teacher's mean is above
:data:`CEILING` nor every teacher's below :data:`FLOOR`. :func:`calibrate` checks each rule on the
records of a folder; :func:`write_table` writes ``DIR/CALIBRATION.md`` (``teachgym leaderboard``
renders it with the rest).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from teachgym.bench import records, stats
from teachgym.config import check_int
from teachgym.files import write_atomic

#: Smallest paired gain (test accuracy) that counts as teaching mattering.
MIN_EFFECT = 0.03
#: Largest paired minimum detectable effect a main task may have at its seed count (test accuracy).
MAX_MDE = 0.02
#: A task where some teacher's mean is above this is at the ceiling.
CEILING = 0.95
#: A task where every teacher's mean is below this is at the floor.
FLOOR = 0.15
CALIBRATION_FILE = "CALIBRATION.md"


@dataclass(frozen=True)
class Contrast:
    """A paired difference ``teacher - baseline`` in mean test accuracy on one task."""

    teacher: str
    baseline: str
    difference: stats.PairedDifference | None  # None when either teacher has no records

    def holds(self) -> bool:
        """The interval excludes zero on the positive side and the gain is at least MIN_EFFECT."""
        return not self.failure()

    def failure(self) -> str:
        """Why the contrast does not hold ("" when it does)."""
        d = self.difference
        if d is None:
            return f"{self.teacher} - {self.baseline} not run"
        if d["low"] <= 0:
            return f"{self.teacher} - {self.baseline} interval not above 0"
        if d["mean"] < MIN_EFFECT:
            return f"{self.teacher} - {self.baseline} = {d['mean']:+.3f} < {MIN_EFFECT}"
        return ""

    def text(self) -> str:
        d = self.difference
        if d is None:
            return f"{self.teacher} - {self.baseline}: not run"
        return f"{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


@dataclass(frozen=True)
class TaskCalibration:
    """The rules of a task, checked on its records."""

    task: str
    seeds: int
    means: dict[str, float]  # teacher -> mean test accuracy
    reference: str
    baseline: str
    reference_vs_uniform: Contrast
    baseline_vs_random: Contrast
    best: str  # the non-anchor teacher with the highest mean
    mde: float  # MDE_FACTOR x the median paired standard error against uniform

    def failures(self) -> list[str]:
        """The rules this task breaks (empty: it earns its place)."""
        broken = [c.failure() for c in (self.reference_vs_uniform, self.baseline_vs_random) if c.failure()]
        if max(self.means.values()) > CEILING:
            broken.append(f"a teacher's mean is above {CEILING} (ceiling)")
        if max(self.means.values()) < FLOOR:
            broken.append(f"every teacher's mean is below {FLOOR} (floor)")
        if self.mde > MAX_MDE:
            broken.append(f"minimum detectable effect {self.mde:.3f} > {MAX_MDE}")
        return broken


def _by_seed(task_records: list[dict[str, Any]]) -> dict[str, dict[int, float]]:
    table: dict[str, dict[int, float]] = defaultdict(dict)
    for record in task_records:
        if record["status"] == "ok":
            table[record["agent"]][record["seed"]] = float(record["test_accuracy"])
    return table


def _contrast(table: dict[str, dict[int, float]], teacher: str, baseline: str) -> Contrast:
    if teacher not in table or baseline not in table:
        return Contrast(teacher, baseline, None)
    seeds = sorted(set(table[teacher]) & set(table[baseline]))
    if len(seeds) < 2:
        return Contrast(teacher, baseline, None)
    x = [table[teacher][s] for s in seeds]
    y = [table[baseline][s] for s in seeds]
    return Contrast(teacher, baseline, stats.paired_difference(x, y))


def check(
    episodes: list[dict[str, Any]], references: dict[str, str], baselines: dict[str, str]
) -> list[TaskCalibration]:
    """Check each task of ``episodes`` (sweep records or :func:`teachgym.bench.runner.episode_result`
    dicts) against the rules; ``references``: task -> its reference teacher; ``baselines``: task ->
    the family's naive baseline (``uniform`` for tasks not named). Tasks without a reference or
    without a successful episode are left out."""
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records.effective_records(episodes):
        by_task[record["task"]].append(record)
    calibrations = []
    for task, task_records in by_task.items():
        if task not in references:  # no anchors for it (an older folder): no reference to check
            continue
        table = _by_seed(task_records)
        if not table:  # every episode of the task failed: nothing to calibrate on
            continue
        reference = references[task]
        baseline = baselines.get(task, "uniform")
        means = {agent: float(np.mean(list(seeds.values()))) for agent, seeds in table.items()}
        anchor_names = {"random", reference}
        ranked = [a for a in means if a not in anchor_names] or list(means)
        errors = [
            c.difference["standard_error"]
            for a in table
            if a != "uniform" and (c := _contrast(table, a, "uniform")).difference is not None
        ]
        calibrations.append(
            TaskCalibration(
                task=task,
                seeds=max(len(seeds) for seeds in table.values()),
                means=means,
                reference=reference,
                baseline=baseline,
                reference_vs_uniform=_contrast(table, reference, "uniform"),
                baseline_vs_random=_contrast(table, baseline, "random"),
                best=max(ranked, key=lambda a: means[a]),
                mde=stats.minimum_detectable_effect(errors) if errors else float("nan"),
            )
        )
    return calibrations


def calibrate(results_dir: Path, baselines: dict[str, str]) -> list[TaskCalibration]:
    """:func:`check` on a sweep's folder: its records, with each task's reference from ``anchors.json``."""
    anchors = json.loads((results_dir / "anchors.json").read_text(encoding="utf-8"))
    references = {task: str(entry["reference_agent"]) for task, entry in anchors.items()}
    return check(records.read_records(results_dir / "results.jsonl"), references, baselines)


def table(calibrations: list[TaskCalibration], command: str, seeds_note: str = "", notes: str = "") -> str:
    """The calibration table as Markdown (``seeds_note``: which seeds, said under the command;
    ``notes``: what was changed after seeing results and why, said under the table)."""

    def mean(c: TaskCalibration, agent: str) -> str:
        return f"{c.means[agent]:.3f}" if agent in c.means else "-"

    lines = [
        "# Calibration: does teaching matter on each task?",
        "",
        f"Regenerate with `{command}`.{' ' + seeds_note if seeds_note else ''}",
        "",
        f"A task earns its place when the reference beats `uniform` and the family's naive baseline "
        f"beats `random`, each by a paired 95% t-interval (over seeds: the same seed is the same "
        f"student under every teacher) that excludes zero and by at least {MIN_EFFECT} test accuracy; "
        f"no teacher's mean is above {CEILING} nor every teacher's below {FLOOR}; and the minimum "
        f"detectable paired effect (2.8 x the median paired standard error against `uniform`) is at "
        f"most {MAX_MDE}. Means are mean test accuracy on the hidden test split.",
        "",
        "| task | seeds | random | baseline | uniform | reference | best other teacher | "
        "reference - uniform | baseline - random | MDE | verdict |",
        "| --- | ---: | ---: | --- | ---: | --- | --- | --- | --- | ---: | --- |",
    ]
    for c in calibrations:
        failures = c.failures()
        verdict = "earns its place" if not failures else "fails: " + "; ".join(failures)
        lines.append(
            f"| {c.task} | {c.seeds} | {mean(c, 'random')} | {c.baseline} {mean(c, c.baseline)} | "
            f"{mean(c, 'uniform')} | {c.reference} {mean(c, c.reference)} | {c.best} {mean(c, c.best)} | "
            f"{c.reference_vs_uniform.text()} | {c.baseline_vs_random.text()} | {c.mde:.3f} | {verdict} |"
        )
    if notes.strip():
        lines += ["", "## Settings and choices made after seeing results", "", notes.strip()]
    return "\n".join(lines) + "\n"


def baselines_of(suite_name: str) -> dict[str, str]:
    """Task -> the family's naive baseline for the tasks of suite ``suite_name`` ({} if the suite is
    no longer declared: every task then uses ``uniform``)."""
    from teachgym.bench.suites import SUITES

    return {task.name: task.baseline for task in SUITES.get(suite_name, [])}


def write_table(results_dir: Path, baselines: dict[str, str], command: str) -> Path:
    """Write ``results_dir/CALIBRATION.md`` atomically; return its path."""
    path = results_dir / CALIBRATION_FILE
    note = "It reads this folder's records; nothing is rerun."
    write_atomic(path, table(calibrate(results_dir, baselines), command, note))
    return path


#: Seeds of calibration runs: disjoint from the benchmark's (0..N-1), the anchors' (10000-10029) and
#: training's (20000.., 1,000,000..), so choosing settings on them does not select the benchmark's.
CALIBRATION_SEEDS_START = 5000
#: Calibration seeds lie in ``[1000, 10000)``: above the benchmark's seeds (0..N-1, N <= 1000) and
#: below the anchors' (10000-10029), the PPO evaluation students' (20000..) and training's (10^6..).
CALIBRATION_SEED_RANGE = range(1_000, 10_000)
EPISODES_FILE = "calibration_episodes.jsonl"
#: Optional Markdown in the output folder, written under the table: the settings, baselines or
#: seeds chosen after seeing results, and why (BENCHMARK.md's pre-registration rule).
NOTES_FILE = "NOTES.md"


def run_candidates(
    suite_name: str,
    out: Path,
    *,
    num_seeds: int,
    command: str,
    first_seed: int = CALIBRATION_SEEDS_START,
    workers: int = 1,
    quiet: bool = True,
) -> Path:
    """Run ``random``, ``uniform``, each task's naive baseline and reference teacher on every task of
    suite ``suite_name`` (candidate settings, whether or not their anchors separate) on the seeds
    ``first_seed + i``; keep the episodes in ``out/`` :data:`EPISODES_FILE` (rerunning resumes) and
    write ``out/CALIBRATION.md``, with ``out/`` :data:`NOTES_FILE` under the table if it exists; its
    path."""
    from teachgym import agents  # type: ignore[attr-defined]  # agents/ is installed as teachgym.agents
    from teachgym.bench.runner import Job, reference_agent, run_episodes
    from teachgym.bench.suites import suite

    num_seeds = check_int("teachgym calibrate", "seeds", num_seeds, 2, 9_000)
    low, high = CALIBRATION_SEED_RANGE.start, CALIBRATION_SEED_RANGE.stop
    first_seed = check_int("teachgym calibrate", "first_seed", first_seed, low, high - num_seeds)
    tasks = suite(suite_name)
    out.mkdir(parents=True, exist_ok=True)
    path = out / EPISODES_FILE
    episodes = records.read_json_lines(path)
    done = {(e["task"], e["agent"], e["seed"]) for e in episodes if e["status"] == "ok"}
    seeds = range(first_seed, first_seed + num_seeds)
    references = {task.name: reference_agent(task) for task in tasks}
    jobs = []
    wanted_of: dict[str, list[str]] = {}
    for task in tasks:
        env = task.make()
        wanted = dict.fromkeys(["random", "uniform", task.baseline, references[task.name]])
        names = [n for n in wanted if agents.supports(n, env) and agents.builds(n, env)]
        env.close()
        wanted_of[task.name] = names
        jobs += [Job(task, n, s) for n in names for s in seeds if (task.name, n, s) not in done]
    episodes += run_episodes(jobs, workers=workers, quiet=quiet)
    records.write_json_lines(path, episodes)
    # The table is this run's: its teachers on its seeds. Episodes of teachers no longer run (an
    # earlier reference) or of other seed ranges stay in the file but do not count.
    counted = [e for e in episodes if e["seed"] in seeds and e["agent"] in wanted_of[e["task"]]]
    first, last = seeds[0], seeds[-1]
    note = (
        f"Calibration seeds {first}-{last}, disjoint from the benchmark's, the anchors' and training's; "
        f"episodes in `{EPISODES_FILE}` (the table counts only its teachers on these seeds)."
    )
    notes_path = out / NOTES_FILE
    notes = notes_path.read_text(encoding="utf-8") if notes_path.exists() else ""
    text = table(check(counted, references, {t.name: t.baseline for t in tasks}), command, note, notes)
    target = out / CALIBRATION_FILE
    write_atomic(target, text)
    return target
