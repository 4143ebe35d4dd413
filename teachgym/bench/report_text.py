"""The wording a leaderboard's README and page share: headings, notes, column headers and cell texts.

Both formats take their words from here, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from teachgym.bench import stats
from teachgym.bench.report_model import (
    ANCHORS_FILE,
    BASELINE,
    CONFIDENCE,
    RANDOM,
    Estimate,
    Family,
    Report,
    TaskRow,
    TaskSummary,
    TeacherRow,
)

#: Marks a teacher with failed episodes in the ranked table.
FAILURE_MARK = "†"
#: The baseline's own cell in the paired-difference column.
BASELINE_DIFFERENCE = "0 (baseline)"
#: Longest error message shown in the failures table (characters); the record keeps all of it.
MAX_ERROR_CHARS = 300


def number_text(value: float | None) -> str:
    """``value`` to three decimals, or a dash when there is none."""
    return "—" if value is None else f"{value:.3f}"


def estimate_text(estimate: Estimate | None) -> str:
    """``value [low, high]`` to three decimals, or a dash when there is none."""
    return "—" if estimate is None else estimate.text()


def difference_text(difference: stats.PairedDifference | None) -> str:
    """A paired difference as ``+mean [+low, +high]`` (signed, three decimals), or a dash."""
    if difference is None:
        return "—"
    return f"{difference['mean']:+.3f} [{difference['low']:+.3f}, {difference['high']:+.3f}]"


def error_text(record: dict[str, Any]) -> str:
    """A failed record's error on one line, cut to :data:`MAX_ERROR_CHARS` characters."""
    text = " ".join(str(record["error"] or "no error message").split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def file_stem(family: str) -> str:
    """``family`` with every character unsafe in a file name replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", family)


def counts_text(counter: Counter[str]) -> str:
    """``name`` (N records), ... for each name in ``counter``, sorted by name (the provenance list)."""
    return ", ".join(f"`{name}` ({count} records)" for name, count in sorted(counter.items()))


TEACHER_COLUMNS = (
    # (data-sort key, header, type)
    ("rank", "Rank", "number"),
    ("teacher", "Teacher", "text"),
    ("score", "Score IQM [95% CI]", "number"),
    ("mean", "Score mean [95% CI]", "number"),
    ("improvement", f"P(better than {BASELINE}) [95% CI]", "number"),
    ("tasks", "Tasks", "number"),
    ("episodes", "Episodes", "number"),
    ("failures", "Failures", "number"),
)
#: The per-task columns: the paired difference to the baseline comes first after the teacher's name,
#: where a reader looks first; the raw test accuracy follows.
TASK_COLUMNS = (
    ("family", "Family", "text"),
    ("task", "Task", "text"),
    ("teacher", "Teacher", "text"),
    ("difference", f"Paired difference to {BASELINE} [95% CI]", "number"),
    ("pairs", "Paired seeds", "number"),
    ("accuracy", "Mean test accuracy", "number"),
    ("score", "Mean score", "number"),
    ("episodes", "Episodes", "number"),
    ("failures", "Failures", "number"),
)
#: The words for a column's order, by column type and direction, shown in its header.
DIRECTION_WORDS = {
    ("number", "desc"): "highest first",
    ("number", "asc"): "lowest first",
    ("text", "asc"): "A to Z",
    ("text", "desc"): "Z to A",
}
#: The arrow shown before those words.
DIRECTION_ARROWS = {"desc": "▼", "asc": "▲"}


@dataclass(frozen=True)
class Order:
    """How a table's rows are ordered: ``text``, the sentence shown with the table, and, where one
    column's values alone give the order, that column's key (of its columns) and direction."""

    text: str
    column: str | None = None
    direction: str = "desc"  # "desc" or "asc"

    @property
    def sorted_by(self) -> str | None:
        """``KEY-DIRECTION`` as the page's script writes it (e.g. ``score-desc``), or None."""
        return None if self.column is None else f"{self.column}-{self.direction}"


def sort_mark(kind: str, direction: str) -> str:
    """What the header of the column a table is sorted by ends with, e.g. ``▼ highest first``."""
    return f"{DIRECTION_ARROWS[direction]} {DIRECTION_WORDS[(kind, direction)]}"


SUMMARY_HEADER = (
    "Task",
    "Reference (anchor)",
    f"Seeds paired with {BASELINE}",
    "Minimum detectable effect (test accuracy)",
)


def teacher_cells(row: TeacherRow, rank: int | None, num_tasks: int) -> list[tuple[str, float | str | None]]:
    """(text, sort value) of each of :data:`TEACHER_COLUMNS`."""
    name = row.agent + (f" {FAILURE_MARK}" if row.num_failures else "")
    return [
        ("" if rank is None else str(rank), rank),
        (name, row.agent),
        (estimate_text(row.iqm), row.iqm.value if row.iqm else None),
        (estimate_text(row.mean), row.mean.value if row.mean else None),
        (estimate_text(row.improvement), row.improvement.value if row.improvement else None),
        (f"{row.num_tasks}/{num_tasks}", row.num_tasks),
        (str(row.num_episodes), row.num_episodes),
        (str(row.num_failures), row.num_failures),
    ]


def task_cells(row: TaskRow) -> list[tuple[str, float | str | None]]:
    """(text, sort value) of each of :data:`TASK_COLUMNS`."""
    name = row.agent + (" (anchor)" if row.anchor else "") + (f" {FAILURE_MARK}" if row.num_failures else "")
    difference = row.difference
    if row.agent == BASELINE and row.test_accuracy is not None:
        paired: tuple[str, float | None] = (BASELINE_DIFFERENCE, 0.0)  # itself, by definition
    else:
        paired = (difference_text(difference), difference["mean"] if difference else None)
    return [
        (row.family, row.family),
        (row.task, row.task),
        (name, row.agent),
        paired,
        (str(difference["n"]) if difference else "—", difference["n"] if difference else None),
        (number_text(row.test_accuracy), row.test_accuracy),
        (number_text(row.score), row.score),
        (str(row.num_episodes), row.num_episodes),
        (str(row.num_failures), row.num_failures),
    ]


def summary_cells(summary: TaskSummary) -> list[str]:
    """The texts of :data:`SUMMARY_HEADER` for one task."""
    return [
        summary.task,
        ", ".join(summary.references) or "—",
        str(summary.num_seeds) if summary.num_seeds else "—",
        number_text(summary.mde),
    ]


def section_headings(report: Report) -> dict[str, str]:
    """The section headings (shared by README and page); each table's order is in :data:`TABLE_ORDERS`."""
    num_tasks = len(report.suite.tasks)
    return {
        "ranking": f"Ranking: teachers that ran all {num_tasks} tasks",
        "partial": "Not ranked: teachers that ran only some tasks",
        "anchors": "Anchors, not ranked",
        "families": "Families",
        "tasks": f"Per task: paired difference to {BASELINE}, then test accuracy",
        "failures": "Failures",
        "provenance": "Provenance",
    }


#: By name, the tie-break of every ranking (as report_build sorts them).
_BY_NAME = "ties by teacher name, A to Z"


#: The order of each of a report's tables, as :mod:`teachgym.bench.report_build` sorts their rows
#: (shared by README and page; the page's script rewrites it when a reader sorts a table).
TABLE_ORDERS = {
    "ranking": Order(f"Sorted by score IQM, highest first; {_BY_NAME}.", "score", "desc"),
    "partial": Order("Sorted by tasks run, most first; then by teacher name, A to Z.", "tasks", "desc"),
    "anchors": Order("Sorted by teacher name, A to Z.", "teacher", "asc"),
    "tasks": Order(
        "Sorted by family and task, in the suite's order; within a task, the teachers by mean test "
        "accuracy, highest first (ties by name), then the anchors by name, A to Z; in each group, "
        "teachers without a successful episode come last, by name."
    ),
    "summary": Order("Tasks in the suite's order."),
    "failures": Order("Sorted by task (in the suite's order), then teacher name (A to Z), then seed."),
    "missing": Order("Sorted by task (in the suite's order), then teacher name, A to Z."),
}


def family_texts(report: Report, family: Family) -> dict[str, str]:
    """The headings and notes of one family's section (shared by README and page)."""
    return {
        "ranking": f"Ranking within {family.name}: teachers that ran its {len(family.tasks)} task(s)",
        "ranking_note": (
            f"Teachers that ran every task of {family.name}, anchors excluded."
            + (
                f" Not ranked here (ran only some of its tasks): {', '.join(family.unranked)}."
                if family.unranked
                else ""
            )
        ),
        "summary": "What each task can detect",
    }


def family_order(family: Family) -> Order:
    """The order of a family's ranking."""
    return Order(
        f"Sorted by score IQM over its {len(family.tasks)} task(s), highest first; {_BY_NAME}.",
        "score",
        "desc",
    )


def method_notes(report: Report) -> list[str]:
    """The paragraphs under the ranking that say how every number was computed."""
    num_tasks = len(report.suite.tasks)
    return [
        f"Per task, the first number is each teacher's paired difference to `{BASELINE}`: the mean over "
        f"the seeds both ran of (teacher - `{BASELINE}`) test accuracy, the same seed being the same "
        f"student under every teacher, with a {CONFIDENCE:.0%} Student t interval over those seeds "
        f"(`{BASELINE}`'s own row reads 0, the baseline); next to it, the teacher's mean test accuracy "
        f"(raw, over its successful seeds). Tasks without `{BASELINE}` records show "
        f"the mean only. A task's minimum detectable effect is {stats.MDE_FACTOR} x the median over its "
        f"teachers of their paired standard errors against `{BASELINE}` (a true difference that large is "
        "detected with about 80% power at the 5% level); a smaller difference is not evidence either way.",
        f"Scores are each family's normalized score: 0 = the random teacher's mean test accuracy on the "
        f"task's anchor seeds, 1 = the task's reference teacher's (`{ANCHORS_FILE}`). They are never "
        f"clipped, in the statistics or in these tables: below 0 is worse than random's mean, above 1 "
        f"better than the reference's. (Records of sweeps run before scores were unclipped hold scores "
        f"clipped to [0, 1].)",
        f"Anchors ({', '.join(f'`{a}`' for a in report.anchors) or 'none ran'}): `{RANDOM}` and each task's "
        f"reference teacher (privileged agents such as `oracle`, and the `reference_agent` of "
        f"`{ANCHORS_FILE}`) define a score's 0 and 1; they are shown, never ranked.",
        f"The ranking covers the other teachers that ran every one of the suite's {num_tasks} tasks, by "
        f"the interquartile mean (IQM) of their normalized scores over all their successful episodes, "
        f"pooled; the mean is the mean over tasks of each task's mean over seeds. Brackets are "
        f"{CONFIDENCE:.0%} percentile intervals of a stratified bootstrap (seeds resampled within each "
        f"task; {report.reps} resamples, seed {report.seed}). A teacher that ran only some tasks is not "
        "ranked here (a score pooled over some tasks is not comparable with one over all of them); its "
        "family's table ranks it among the teachers that ran the same tasks.",
        f"P(better than {BASELINE}) is the probability of improvement: the chance that an episode of the "
        f"teacher scores higher than one of `{BASELINE}` on the same task (ties count half), averaged "
        "over the tasks both ran.",
        f"{FAILURE_MARK} marks a teacher with failed episodes (see Failures); its statistics use its "
        "successful episodes only.",
    ]


def curve_note() -> str:
    """What the curves and their bands show."""
    return (
        "Curves: validation mean accuracy against the training examples taught so far, mean over seeds "
        "after each step; the band is a 95% normal-approximation interval (mean ± 1.96 standard errors "
        "over seeds). Each teacher keeps its colour, line style and marker in every plot; anchors are "
        "dashed, in grey."
    )
