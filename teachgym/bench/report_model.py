"""What a leaderboard shows, computed once from a results folder: :class:`Report` and its rows.

:mod:`teachgym.bench.report_build` fills these in; the README (:mod:`teachgym.bench.report_markdown`)
and the page (:mod:`teachgym.bench.report_page`) only format them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from teachgym.bench import stats

RESULTS_FILE = "results.jsonl"
SUITE_FILE = "suite.json"
ANCHORS_FILE = "anchors.json"
#: The teacher every paired difference and the probability of improvement compare against.
BASELINE = "uniform"
#: The teacher whose mean test accuracy scores 0: always an anchor, never ranked.
RANDOM = "random"
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Suite:
    """The runner's ``suite.json``: what was swept and the command that regenerates it."""

    name: str
    commands: tuple[str, ...]  # every command that added results, the first one first
    tasks: tuple[str, ...]  # task names (``suite.json``'s ``env_ids``), e.g. "SkillList-Sim-v0[forgetting]"
    agents: tuple[str, ...]  # as requested; may be ("all",)
    num_seeds: int


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval ``[low, high]`` (units of the estimate)."""

    value: float
    low: float
    high: float

    def text(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class TeacherRow:
    """One teacher's statistics over a set of tasks (None where it has no successful episode)."""

    agent: str
    reference: bool  # reads privileged state (records with ``reference: true``)
    iqm: Estimate | None
    mean: Estimate | None
    improvement: Estimate | None  # P(teacher > BASELINE); None for the baseline itself
    num_episodes: int  # successful episodes
    num_failures: int
    num_tasks: int  # tasks with at least one successful episode


@dataclass(frozen=True)
class TaskRow:
    """One (task, teacher) cell: raw test accuracy and the paired difference to :data:`BASELINE`."""

    family: str
    task: str
    agent: str
    anchor: bool  # random or a reference teacher: shown, never ranked
    test_accuracy: float | None  # mean over successful episodes
    difference: stats.PairedDifference | None  # teacher - BASELINE over shared seeds (>= 2), else None
    score: float | None  # mean normalized score over successful episodes
    num_episodes: int  # successful episodes
    num_failures: int


@dataclass(frozen=True)
class TaskSummary:
    """What a task can tell apart: its anchors and its minimum detectable effect."""

    family: str
    task: str
    references: tuple[str, ...]  # the reference teachers (anchors.json, or records marked reference)
    num_seeds: int  # most seeds any teacher shares with BASELINE (0: no paired difference)
    mde: float | None  # minimum detectable effect in test accuracy; None without paired differences


@dataclass(frozen=True)
class Family:
    """One family's tasks and its ranking (the non-anchor teachers that ran every one of its tasks)."""

    name: str
    tasks: tuple[str, ...]
    ranked: list[TeacherRow]
    unranked: list[str]  # non-anchor teachers that ran only some of its tasks


@dataclass(frozen=True)
class Report:
    """Everything the README and the page show, computed once."""

    suite: Suite
    rerender_command: str
    records: list[dict[str, Any]]  # one per (task, agent, seed): see records.effective_records
    agents: list[str]  # every agent in the records, sorted
    anchors: list[str]  # the anchor teachers among them, sorted
    ranked: list[TeacherRow]  # ran every task of the suite, not an anchor: by score IQM
    partial: list[TeacherRow]  # ran only some tasks, not an anchor: not ranked
    anchor_rows: list[TeacherRow]  # not ranked
    families: dict[str, Family]  # in suite order
    task_rows: list[TaskRow]
    task_summaries: list[TaskSummary]
    failures: list[dict[str, Any]]
    missing: list[tuple[str, str, int]]  # (task, agent, missing episodes) of pairs that ran
    num_records: int
    num_superseded: int
    versions: Counter[str]
    revisions: Counter[str]
    reps: int
    seed: int
