"""Pre-registered effects: a paper's claim as a declared contrast, run as declared and reported as
reproduced, null or reversed (``BENCHMARK.md``, "Pre-registration").

An :class:`Effect` names a task (as in a suite, e.g. ``"Curriculum-Addition-v1"``), a teacher, a
baseline, a metric computed from each episode's record (:data:`METRICS`), the direction the paper
claims and the seeds it is tested on. Effects are data next to their family: each family module
(``envs/<family>.py``) may declare ``EFFECTS``, a tuple of :class:`Effect`, and :func:`declared`
gathers them as :mod:`teachgym.bench.suites` gathers ``SUITES`` (no central list).

:func:`evaluate` computes an effect from records: the paired difference teacher - baseline over the
declared seeds both ran successfully (the same seed is the same student under both), with a 95%
Student t interval (:func:`teachgym.bench.stats.paired_difference`), and a verdict:
``reproduced`` (the interval excludes 0 in the declared direction), ``reversed`` (it excludes 0 the
other way), ``null`` (it contains 0), or ``not run`` (fewer than 2 such seeds; the result says what is
missing). :func:`write_report` writes ``DIR/EFFECTS.md`` from ``DIR/results.jsonl``;
:func:`run_effect` runs an effect from scratch through the bench runner's episodes.
"""

from __future__ import annotations

import importlib
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teachgym.bench import stats
from teachgym.bench.records import (
    effective_records,
    read_json_lines,
    read_records,
    write_json_lines,
)
from teachgym.errors import ConfigError
from teachgym.files import write_atomic

RESULTS_FILE = "results.jsonl"
#: Episodes run by ``teachgym effects DIR --run`` for effects whose task the folder's sweep did not
#: cover: one :func:`teachgym.bench.runner.episode_result` per line (not leaderboard records).
EPISODES_FILE = "effect_episodes.jsonl"
EFFECTS_FILE = "EFFECTS.md"
CONFIDENCE = 0.95
REPRODUCED, REVERSED, NULL, NOT_RUN = "reproduced", "reversed", "null", "not run"
#: Columns of the computed effects' table in ``EFFECTS.md``; the first is the name, the last the verdict.
TABLE_HEADER = (
    "Effect",
    "Paper",
    "Task",
    "Teacher - baseline",
    "Metric",
    "Direction",
    "Seeds",
    f"Difference [{CONFIDENCE:.0%} CI]",
    "Verdict",
)


# --- metrics ------------------------------------------------------------------------------------


def _family_info(record: dict[str, Any], name: str, families: str) -> Any:
    info = record.get("family_info") or {}
    if name not in info:
        raise ConfigError(
            f"record ({record['task']}, {record['agent']}, seed {record['seed']}) has no "
            f"family_info[{name!r}] (it has {sorted(info)}); that metric needs a {families} task"
        )
    return info[name]


def final_test_accuracy(record: dict[str, Any]) -> float:
    """Final test accuracy (fraction correct on the hidden test split). Higher is better."""
    return float(record["test_accuracy"])


def learning_curve_auc(record: dict[str, Any]) -> float:
    """Area under the learning curve per step: the mean over the episode's steps of the validation
    mean accuracy (``curve[i]["mean_accuracy"]``), a fraction. Higher is better: it rewards learning
    early as well as ending high."""
    curve = record.get("curve") or []
    if not curve:
        raise ConfigError(
            f"record ({record['task']}, {record['agent']}, seed {record['seed']}) has an empty curve"
        )
    return sum(float(point["mean_accuracy"]) for point in curve) / len(curve)


def steps_to_all_thresholds(record: dict[str, Any]) -> float:
    """Steps until every sub-task's validation score first reached the task's threshold (TSCL's
    measure; Curriculum's ``family_info["steps_to_threshold"]``, sub-task -> first step). A sub-task
    never reached counts as the episode's last step + 1 (censored: not within the budget). Lower is
    better, so a teacher claimed faster has direction -1."""
    reached = _family_info(record, "steps_to_threshold", "Curriculum")
    curve = record.get("curve") or []
    censored = int(curve[-1]["step"]) + 1 if curve else 1
    sub_tasks = list(record.get("final_profile") or reached)
    return float(max((int(reached.get(name, censored)) for name in sub_tasks), default=censored))


def mean_forgetting(record: dict[str, Any]) -> float:
    """Mean forgetting at the episode's end: the mean over the sub-tasks in
    ``family_info["forgetting"]`` (Rehearsal and Curriculum: the tasks arrived or trained so far) of
    the best validation accuracy since then minus the final one, a fraction. Lower is better, so a
    teacher claimed to forget less has direction -1."""
    values = _family_info(record, "forgetting", "Rehearsal or Curriculum")
    return sum(float(v) for v in values.values()) / len(values) if values else 0.0


#: Metric name -> its value for one episode's record (see each function for units and direction).
METRICS: dict[str, Callable[[dict[str, Any]], float]] = {
    "test_accuracy": final_test_accuracy,
    "auc": learning_curve_auc,
    "steps_to_threshold": steps_to_all_thresholds,
    "forgetting": mean_forgetting,
}


# --- declarations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """A paper's claim as a contrast declared before it is run.

    Attributes:
        name: unique among the declared effects, e.g. ``"tscl-window-fewer-steps-addition"``.
        paper: the claim's source, e.g. ``"Matiisen et al. 2017 (TSCL)"``.
        task: a task name as in a suite, e.g. ``"Curriculum-Addition-v1"``.
        teacher, baseline: registered teacher names; the effect is teacher - baseline.
        metric: a key of :data:`METRICS`.
        direction: +1 if the paper claims teacher above baseline on the metric, -1 if below.
        seeds: the seeds it is tested on (students shared by teacher and baseline).
        note: why these settings, and any change made after seeing a result, with its reason.
    """

    name: str
    paper: str
    task: str
    teacher: str
    baseline: str
    metric: str
    direction: int
    seeds: tuple[int, ...]
    note: str = ""

    def __post_init__(self) -> None:
        for field in ("name", "paper", "task", "teacher", "baseline"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"Effect {field}={value!r}; expected a non-empty string")
        if self.teacher == self.baseline:
            raise ConfigError(f"Effect {self.name!r}: teacher and baseline are both {self.teacher!r}")
        if self.metric not in METRICS:
            raise ConfigError(
                f"Effect {self.name!r}: metric={self.metric!r}; expected one of {sorted(METRICS)}"
            )
        if isinstance(self.direction, bool) or self.direction not in (1, -1):
            raise ConfigError(f"Effect {self.name!r}: direction={self.direction!r}; expected +1 or -1")
        seeds = self.seeds
        if (
            not isinstance(seeds, tuple)
            or len(seeds) < 2
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in seeds)
            or len(set(seeds)) != len(seeds)
        ):
            raise ConfigError(
                f"Effect {self.name!r}: seeds={seeds!r}; expected a tuple of at least 2 distinct ints >= 0"
            )


def declared() -> list[Effect]:
    """Every family's ``EFFECTS``, in family registration order; a ConfigError for an entry that is
    not an :class:`Effect` or a name declared twice."""
    from teachgym.envs import FAMILIES

    effects: list[Effect] = []
    for module_name in FAMILIES.values():
        module = importlib.import_module(f"teachgym.envs.{module_name}")
        for effect in getattr(module, "EFFECTS", ()):
            if not isinstance(effect, Effect):
                raise ConfigError(f"envs/{module_name}.py: EFFECTS holds {effect!r}; expected Effect entries")
            effects.append(effect)
    names = [effect.name for effect in effects]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(f"effects declared more than once: {twice}; effect names must be unique")
    return effects


# --- evaluation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectResult:
    """An effect computed from records.

    Attributes:
        verdict: ``reproduced``, ``reversed``, ``null`` or ``not run``.
        difference: teacher - baseline on the metric over the paired seeds (None if not run).
        seeds: the declared seeds both ran successfully, in declared order.
        missing: what is missing ("" if nothing): why it was not run, or the declared seeds left out.
    """

    effect: Effect
    verdict: str
    difference: stats.PairedDifference | None
    seeds: tuple[int, ...]
    missing: str


def verdict(difference: stats.PairedDifference, direction: int) -> str:
    """``reproduced`` if the interval lies on the ``direction`` side of 0, ``reversed`` if on the
    other side, ``null`` if it contains 0."""
    if direction * difference["low"] > 0 and direction * difference["high"] > 0:
        return REPRODUCED
    if direction * difference["low"] < 0 and direction * difference["high"] < 0:
        return REVERSED
    return NULL


def evaluate(effect: Effect, records: Iterable[dict[str, Any]]) -> EffectResult:
    """``effect`` from ``records`` (results records, or :func:`teachgym.bench.runner.episode_result`
    dicts): the paired difference over the declared seeds that both teacher and baseline ran
    successfully on the effect's task; other seeds are ignored."""
    of_task = [r for r in effective_records(records) if r["task"] == effect.task]
    ok = {(r["agent"], r["seed"]): r for r in of_task if r["status"] == "ok"}
    ran = {agent: {seed for a, seed in ok if a == agent} for agent in (effect.teacher, effect.baseline)}
    seeds = tuple(s for s in effect.seeds if all(s in ran[agent] for agent in ran))
    absent = [s for s in effect.seeds if s not in seeds]
    if len(seeds) < 2:
        lacking = [agent for agent in ran if not ran[agent] & set(effect.seeds)]
        if not of_task:
            missing = f"no records of task {effect.task}"
        elif lacking:
            what = " and ".join(lacking)
            missing = f"no successful episode of {what} on {effect.task} at the declared seeds"
        else:
            missing = f"{len(seeds)} declared seed(s) with both teachers; need at least 2"
        return EffectResult(effect, NOT_RUN, None, seeds, missing)
    metric = METRICS[effect.metric]
    teacher = [metric(ok[(effect.teacher, s)]) for s in seeds]
    baseline = [metric(ok[(effect.baseline, s)]) for s in seeds]
    difference = stats.paired_difference(teacher, baseline, confidence=CONFIDENCE)
    missing = (
        f"{len(absent)} of {len(effect.seeds)} declared seeds missing: {_seed_list(absent)}" if absent else ""
    )
    return EffectResult(effect, verdict(difference, effect.direction), difference, seeds, missing)


def _seed_list(seeds: Sequence[int]) -> str:
    shown = ", ".join(str(s) for s in seeds[:10])
    return shown + (f", ... ({len(seeds)} in all)" if len(seeds) > 10 else "")


def evaluate_all(
    records: Sequence[dict[str, Any]], effects: Sequence[Effect] | None = None
) -> list[EffectResult]:
    """Every effect of ``effects`` (default: :func:`declared`) computed from ``records``."""
    return [evaluate(effect, records) for effect in (declared() if effects is None else effects)]


def run_effect(
    effect: Effect, *, workers: int = 1, executor: str = "local", ray_address: str | None = None
) -> EffectResult:
    """Run ``effect`` from scratch: its teacher and baseline on its task and declared seeds, each
    episode through the bench runner (:func:`teachgym.bench.runner.run_episodes`: the sweep's
    executors and thread settings); then :func:`evaluate`. A ConfigError if the task is in no suite
    or an episode fails (a pre-registered effect is run as declared, not on the seeds that worked)."""
    from teachgym.bench.runner import Job, run_episodes
    from teachgym.bench.suites import SUITES

    task = next((t for tasks in SUITES.values() for t in tasks if t.name == effect.task), None)
    if task is None:
        known = sorted({t.name for tasks in SUITES.values() for t in tasks})
        raise ConfigError(
            f"effect {effect.name!r}: task {effect.task!r} is in no suite; expected one of {known}"
        )
    jobs = [Job(task, agent, seed) for agent in (effect.teacher, effect.baseline) for seed in effect.seeds]
    results = run_episodes(jobs, workers=workers, executor=executor, ray_address=ray_address)
    failed = [r for r in results if r["status"] != "ok"]
    if failed:
        first = failed[0]
        raise ConfigError(
            f"effect {effect.name!r}: {len(failed)} episode(s) failed, e.g. {first['agent']} seed "
            f"{first['seed']}: {' '.join(str(first['error']).split())}"
        )
    return evaluate(effect, results)


# --- report -------------------------------------------------------------------------------------


def difference_text(result: EffectResult) -> str:
    """``"+0.012 [+0.003, +0.021]"``, or "—" when not run."""
    d = result.difference
    return "—" if d is None else f"{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


def contrast_text(effect: Effect) -> str:
    return f"{effect.teacher} - {effect.baseline}"


def direction_text(effect: Effect) -> str:
    return "teacher above baseline (+1)" if effect.direction > 0 else "teacher below baseline (-1)"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def markdown(results: Sequence[EffectResult], command: str) -> str:
    """The text of ``EFFECTS.md``: the computed effects, then those not run with what is missing."""
    run = [r for r in results if r.verdict != NOT_RUN]
    not_run = [r for r in results if r.verdict == NOT_RUN]
    lines = [
        "# Pre-registered effects",
        "",
        f"<!-- Generated by teachgym.bench.effects from {RESULTS_FILE} and {EPISODES_FILE}; do not edit. -->",
        "",
        "Regenerate this file:",
        "",
        "```sh",
        command,
        "```",
        "",
        "Each effect is declared next to its family (`EFFECTS` in `envs/<family>.py`) before it is run. "
        "The difference is teacher - baseline on the metric, paired by seed (the same seed is the same "
        f"student under both) over the declared seeds both ran successfully, with a {CONFIDENCE:.0%} "
        "Student t interval over those seeds. Verdict: `reproduced` when the interval excludes 0 in the "
        "declared direction, `reversed` when it excludes 0 the other way, `null` when it contains 0.",
        "",
    ]
    if run:
        lines += ["| " + " | ".join(TABLE_HEADER) + " |", "|---|---|---|---|---|---|---:|---:|---|"]
    else:
        lines += ["None computed (see Not run)."]
    for r in run:
        e = r.effect
        cells = [e.name, e.paper, e.task, contrast_text(e), e.metric, direction_text(e), str(len(r.seeds))]
        lines.append("| " + " | ".join(_md(c) for c in [*cells, difference_text(r), r.verdict]) + " |")
    lines += [""]
    partial = [r for r in run if r.missing]
    if partial:
        lines += ["Declared seeds left out (not run, or failed):", ""]
        lines += [f"- {r.effect.name}: {r.missing}" for r in partial]
        lines += [""]
    lines += ["## Not run", ""]
    if not_run:
        lines += ["| Effect | Task | Teacher - baseline | Missing |", "|---|---|---|---|"]
        for r in not_run:
            e = r.effect
            lines.append(
                "| " + " | ".join(_md(c) for c in (e.name, e.task, contrast_text(e), r.missing)) + " |"
            )
    else:
        lines += ["None: every declared effect was computed."]
    notes = [r.effect for r in results if r.effect.note]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {e.name}: {e.note}" for e in notes]
    return "\n".join([*lines, ""])


def _sweep_records(results_dir: Path) -> list[dict[str, Any]]:
    """The sweep records of ``results_dir`` ([] when it has no ``results.jsonl``)."""
    path = results_dir / RESULTS_FILE
    return read_records(path) if path.exists() else []


def folder_records(results_dir: Path) -> list[dict[str, Any]]:
    """The sweep records of ``results_dir`` (``results.jsonl``) and its effect episodes
    (:data:`EPISODES_FILE`); a ConfigError when it has neither."""
    results, episodes = results_dir / RESULTS_FILE, results_dir / EPISODES_FILE
    if not results.exists() and not episodes.exists():
        raise ConfigError(
            f"{results}: no results file; run 'teachgym bench' into {results_dir} first, or "
            f"'teachgym effects {results_dir} --run'"
        )
    return _sweep_records(results_dir) + read_json_lines(episodes)


def run_missing(
    results_dir: Path, effects: Sequence[Effect] | None = None, *, workers: int = 1, quiet: bool = True
) -> int:
    """Run the episodes of ``effects`` (default: :func:`declared`) that ``results_dir`` lacks (their
    teacher or baseline on a declared seed), saving them to :data:`EPISODES_FILE` after each effect
    (atomically: rerunning resumes); the number of episodes run."""
    from teachgym.bench.runner import Job, run_episodes
    from teachgym.bench.suites import SUITES

    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / EPISODES_FILE
    episodes = read_json_lines(path)
    have = {
        (r["task"], r["agent"], r["seed"])
        for r in effective_records([*_sweep_records(results_dir), *episodes])
        if r["status"] == "ok"
    }
    tasks = {t.name: t for tasks in SUITES.values() for t in tasks}
    ran = 0
    for effect in declared() if effects is None else effects:
        if effect.task not in tasks:
            raise ConfigError(f"effect {effect.name!r}: task {effect.task!r} is in no suite")
        jobs = [
            Job(tasks[effect.task], agent, seed)
            for agent in (effect.teacher, effect.baseline)
            for seed in effect.seeds
            if (effect.task, agent, seed) not in have
        ]
        if not jobs:
            continue
        new = run_episodes(jobs, workers=workers, quiet=quiet)
        episodes += new
        have |= {(r["task"], r["agent"], r["seed"]) for r in new if r["status"] == "ok"}
        ran += len(new)
        write_json_lines(path, episodes)
    return ran


def write_report(
    results_dir: Path, effects: Sequence[Effect] | None = None
) -> tuple[Path, list[EffectResult]]:
    """Compute every effect of ``effects`` (default: :func:`declared`) from the folder's records
    (:func:`folder_records`) and write ``results_dir/EFFECTS.md`` atomically (a temporary file, then a
    rename); the path and the results."""
    results_dir = Path(results_dir)
    records = folder_records(results_dir)
    # Imported here: family modules import this module to declare EFFECTS, and need no report code.
    from teachgym.bench.report import project_path

    results = evaluate_all(records, effects)
    ran_here = (results_dir / EPISODES_FILE).exists()
    command = f"teachgym effects {project_path(results_dir)}" + (" --run" if ran_here else "")
    text = markdown(results, command)
    out = results_dir / EFFECTS_FILE
    write_atomic(out, text)
    return out, results


def read_verdicts(path: Path) -> dict[str, str]:
    """Effect name -> verdict of the computed effects in an ``EFFECTS.md`` (those not run are absent)."""
    verdicts = {}
    for line in Path(path).read_text(encoding="utf-8").split("## Not run")[0].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if (
            line.startswith("| ")
            and len(cells) == len(TABLE_HEADER)
            and cells[-1] in (REPRODUCED, REVERSED, NULL)
        ):
            verdicts[cells[0]] = cells[-1]
    return verdicts


__all__ = [
    "EFFECTS_FILE",
    "METRICS",
    "NOT_RUN",
    "NULL",
    "REPRODUCED",
    "REVERSED",
    "Effect",
    "EffectResult",
    "declared",
    "evaluate",
    "evaluate_all",
    "final_test_accuracy",
    "learning_curve_auc",
    "markdown",
    "mean_forgetting",
    "read_verdicts",
    "run_effect",
    "steps_to_all_thresholds",
    "verdict",
    "write_report",
]
