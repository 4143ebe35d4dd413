"""The leaderboard report: ranking, reference agents, failures, determinism and refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from teachgym.bench.records import SCHEMA, SchemaError, check_record
from teachgym.bench.report import mean_curve, render
from teachgym.errors import ConfigError

SUITE = "tiny"
COMMAND = "teachgym bench tiny --seeds 4 --out leaderboards/tiny"
#: task -> family: 2 families, 3 envs (one task is an env with keyword overrides).
ENVS = {"Alpha-Sim-v0": "Alpha", "Alpha-Sim-v0[hard]": "Alpha", "Beta-Sim-v0": "Beta"}
#: agent -> (score level, reference); the ranking must be greedy, then uniform; oracle apart.
AGENTS = {"greedy": (0.7, False), "uniform": (0.3, False), "oracle": (1.0, True)}
NUM_SEEDS = 4
FAILED = ("Beta-Sim-v0", "greedy", 3)
REPS = 200


def make_record(task: str, agent: str, seed: int) -> dict[str, Any]:
    """A schema-valid record; scores spread around the agent's level so the order is known."""
    level, reference = AGENTS[agent]
    score = min(1.0, level + 0.02 * seed)
    failed = (task, agent, seed) == FAILED
    curve = [
        {
            "step": step,
            "reward": 0.1,
            "mean_accuracy": 0.2 + 0.7 * level * step / 5 + 0.01 * seed,
            "examples_used": 8,
        }
        for step in range(6)
    ]
    record = {
        "schema": SCHEMA,
        "suite": SUITE,
        "task": task,
        "env_id": "teachgym/" + task.split("[")[0],
        "env_kwargs": {"hard": True} if "[" in task else {},
        "family": ENVS[task],
        "agent": agent,
        "seed": seed,
        "status": "failed" if failed else "ok",
        "error": "RuntimeError: the student diverged | loss=nan" if failed else None,
        "reference": reference,
        "score": None if failed else score,
        "test_accuracy": None if failed else 0.5 + 0.4 * level,
        "initial_test_accuracy": None if failed else 0.2,
        "final_accuracy": None if failed else 0.5 + 0.4 * level,
        "initial_accuracy": None if failed else 0.2,
        "validation_test_gap": None if failed else 0.0,
        "episode_return": None if failed else 1.0,
        "curve": curve[:2] if failed else curve,
        "final_profile": {"a": 0.5},
        "test_profile": {"a": 0.5},
        "examples_used": 48,
        "compute_used": 48,
        "family_info": {},
        "wall_time": 1.5,
        "version": "0.1.0",
        "git_revision": "abc1234",
        "command": COMMAND,
    }
    return check_record(record, "test record")


def write_results(directory: Path, records: list[dict[str, Any]] | None = None) -> Path:
    """A results folder of the tiny suite (all episodes unless ``records`` is given)."""
    directory.mkdir(parents=True, exist_ok=True)
    if records is None:
        records = [make_record(e, a, s) for e in ENVS for a in AGENTS for s in range(NUM_SEEDS)]
    # As the runner writes it: every command, the task names as env_ids, agents as requested.
    suite = {
        "suite": SUITE,
        "command": COMMAND,
        "commands": [COMMAND],
        "env_ids": list(ENVS),
        "tasks": {
            task: {"env_id": "teachgym/" + task.split("[")[0], "family": f} for task, f in ENVS.items()
        },
        "agents": ["all"],
        "seeds": NUM_SEEDS,
    }
    (directory / "suite.json").write_text(json.dumps(suite, sort_keys=True))
    (directory / "results.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    return directory


def section(text: str, title: str) -> str:
    """The body of the Markdown section ``title`` (up to the next heading of the same or higher level)."""
    match = re.search(rf"^(#+) {re.escape(title)}\n(.*?)(?=^#+ |\Z)", text, re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(2)


def table_rows(text: str) -> list[list[str]]:
    """Cells of every Markdown table body row in ``text``."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and not re.match(r"^\|[-:|]+\|$", line):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return [row for row in rows[1:] if row] if rows else []


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    directory = write_results(tmp_path_factory.mktemp("tiny"))
    return directory, render(directory, reps=REPS, seed=0)


@pytest.fixture(scope="module")
def readme(rendered: tuple[Path, list[Path]]) -> str:
    return (rendered[0] / "README.md").read_text(encoding="utf-8")


def test_render_writes_readme_one_png_per_family_and_page(rendered: tuple[Path, list[Path]]) -> None:
    directory, paths = rendered
    names = [path.name for path in paths]
    assert names == ["README.md", "curves_Alpha.png", "curves_Beta.png", "index.html"]
    for name in ("curves_Alpha.png", "curves_Beta.png"):
        assert (directory / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ranking_orders_teachers_and_keeps_reference_apart(readme: str) -> None:
    ranking = table_rows(section(readme, "Ranking"))
    assert [row[1] for row in ranking] == ["greedy †", "uniform"]  # greedy has a failed episode
    assert [row[0] for row in ranking] == ["1", "2"]
    assert [row[5:] for row in ranking] == [
        ["3/3", "11", "1"],
        ["3/3", "12", "0"],
    ]  # tasks, episodes, failures
    assert "oracle" not in section(readme, "Ranking")
    references = table_rows(section(readme, "Reference agents (not ranked)"))
    assert [row[0] for row in references] == ["oracle"]


def test_probability_of_improvement_over_uniform(readme: str) -> None:
    greedy, uniform = table_rows(section(readme, "Ranking"))
    assert greedy[4].startswith("1.000 [1.000, 1.000]")  # every greedy episode beats every uniform one
    assert uniform[4] == "—"


def test_intervals_contain_their_point_estimates(readme: str) -> None:
    estimates = re.findall(r"(\d\.\d+) \[(\d\.\d+), (\d\.\d+)\]", readme)
    assert len(estimates) >= 3 * 2 + 3 * 3  # ranking (IQM, mean, P) and per-env IQMs
    for value, low, high in estimates:
        assert float(low) <= float(value) <= float(high)


def test_family_tables_list_every_env_and_teacher(readme: str) -> None:
    alpha = table_rows(section(readme, "Alpha"))
    assert [(row[0], row[1]) for row in alpha] == [
        (task, agent)
        for task in ("Alpha-Sim-v0", "Alpha-Sim-v0[hard]")
        for agent in ("greedy", "oracle (reference)", "uniform")
    ]
    beta = {row[1]: row for row in table_rows(section(readme, "Beta"))}
    assert beta["greedy †"][-2:] == ["3", "1"]  # 3 successful seeds, 1 failure
    assert float(beta["uniform"][2]) == pytest.approx(np.mean([0.3, 0.32, 0.34, 0.36]), abs=1e-3)
    assert "![Alpha: validation accuracy per step](curves_Alpha.png)" in readme


def test_failures_are_listed_with_env_agent_seed_and_error(readme: str) -> None:
    failures = table_rows(section(readme, "Failures"))
    assert failures == [["Beta-Sim-v0", "greedy", "3", "RuntimeError: the student diverged \\| loss=nan"]]


def test_readme_names_both_commands_and_provenance(readme: str, rendered: tuple[Path, list[Path]]) -> None:
    assert readme.startswith("# Leaderboard: tiny\n")
    assert COMMAND in readme
    assert f"teachgym leaderboard {rendered[0].as_posix()}" in readme
    provenance = section(readme, "Provenance")
    assert "`0.1.0` (36 records)" in provenance
    assert "`abc1234` (36 records)" in provenance


def test_rendering_twice_gives_identical_bytes(rendered: tuple[Path, list[Path]]) -> None:
    directory, paths = rendered
    before = {path.name: path.read_bytes() for path in paths}
    again = render(directory, reps=REPS, seed=0)
    assert {path.name: path.read_bytes() for path in again} == before


def test_page_is_self_contained_with_one_row_per_teacher(rendered: tuple[Path, list[Path]]) -> None:
    page = (rendered[0] / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    ranking = re.search(r'<table id="ranking".*?</table>', page, re.S)
    assert ranking
    assert re.findall(r'<tr data-teacher="([^"]+)"', ranking.group(0)) == ["greedy", "uniform"]
    assert len(re.findall(r"<th data-sort=", ranking.group(0))) == 8
    assert page.count('src="data:image/png;base64,') == 2


def test_a_bad_line_is_refused_with_its_number(tmp_path: Path) -> None:
    records = [make_record("Alpha-Sim-v0", "uniform", seed) for seed in range(3)]
    del records[2]["score"]
    write_results(tmp_path, records)
    with pytest.raises(SchemaError, match=r"results\.jsonl:3: "):
        render(tmp_path, reps=REPS)


def test_an_empty_results_file_is_refused(tmp_path: Path) -> None:
    write_results(tmp_path, [])
    with pytest.raises(ConfigError, match="holds no records"):
        render(tmp_path, reps=REPS)


def test_records_of_an_undeclared_task_are_refused(tmp_path: Path) -> None:
    record = make_record("Alpha-Sim-v0", "uniform", 0)
    record["task"] = "Gamma-Sim-v0"
    write_results(tmp_path, [record])
    with pytest.raises(ConfigError, match="Gamma-Sim-v0"):
        render(tmp_path, reps=REPS)


def test_an_incomplete_sweep_lists_missing_episodes_and_partial_teachers(tmp_path: Path) -> None:
    # greedy did not run on Beta (as for a teacher that does not support a family): not "missing".
    records = [
        make_record(task, agent, seed)
        for task in ENVS
        for agent in AGENTS
        for seed in range(NUM_SEEDS)
        if not (agent == "greedy" and task == "Beta-Sim-v0")
    ]
    write_results(tmp_path, records[:-1])  # the last oracle seed on Beta is missing
    text = render(tmp_path, reps=REPS)[0].read_text(encoding="utf-8")
    assert table_rows(text.split("Missing episodes")[1]) == [["Beta-Sim-v0", "oracle", "1"]]
    assert "No failed episodes." in text
    ranking = table_rows(section(text, "Ranking"))
    # Coverage first: greedy scores higher, but over 2 of the 3 tasks, so uniform (3/3) ranks above it.
    assert [(row[0], row[1], row[5]) for row in ranking] == [("1", "uniform", "3/3"), ("2", "greedy", "2/3")]
    assert "see the Tasks column): greedy." in text


def test_each_episode_counts_once_by_its_successful_record(tmp_path: Path) -> None:
    records = [
        make_record(task, agent, seed) for task in ENVS for agent in AGENTS for seed in range(NUM_SEEDS)
    ]
    retry = {**make_record(*FAILED), "status": "ok", "error": None, "score": 0.5, "test_accuracy": 0.8}
    late_failure = {**make_record(*FAILED), "task": "Alpha-Sim-v0", "agent": "uniform", "seed": 0}
    # Appended: a rerun's successful retry of the failed episode, then a failed attempt of an episode
    # that had already succeeded (a concurrent sweep); neither episode may count twice or as failed.
    write_results(tmp_path, [*records, check_record(retry, "retry"), check_record(late_failure, "late")])
    text = render(tmp_path, reps=REPS)[0].read_text(encoding="utf-8")
    ranking = table_rows(section(text, "Ranking"))
    assert [row[1] for row in ranking] == ["greedy", "uniform"]
    assert [row[5:] for row in ranking] == [["3/3", "12", "0"], ["3/3", "12", "0"]]
    assert "No failed episodes." in section(text, "Failures")
    assert "- records: 36 episodes (2 superseded attempts not counted" in section(text, "Provenance")


def test_mean_curve_aligns_episodes_by_step() -> None:
    first = [{"step": 0, "mean_accuracy": 0.2}, {"step": 1, "mean_accuracy": 0.4}]
    second = [{"step": 0, "mean_accuracy": 0.4}]
    steps, mean, half = mean_curve([first, second])
    assert steps.tolist() == [0, 1]
    assert mean.tolist() == pytest.approx([0.3, 0.4])
    assert half[0] == pytest.approx(1.959963984540054 * np.std([0.2, 0.4], ddof=1) / np.sqrt(2))
    assert half[1] == 0.0
