"""The leaderboard report: ranking, anchors apart, paired differences, failures, determinism, refusals."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from teachgym.bench import stats
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
RANKING = "Ranking: teachers that ran all 3 tasks"
NOT_RANKED = "Not ranked: teachers that ran only some tasks"
ANCHORS = "Anchors, not ranked"
PER_TASK = "Per task: paired difference to uniform, then test accuracy"


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
            "examples_used": 8 * step,
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
        "agent_source": None,
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


def family_section(text: str, family: str) -> str:
    """The body of the family's ``### family`` section (its subsections included)."""
    match = re.search(rf"^### {re.escape(family)}\n(.*?)(?=^#{{1,3}} |\Z)", text, re.S | re.M)
    assert match, f"no family section {family!r}"
    return match.group(1)


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


def test_ranking_orders_teachers_and_keeps_anchors_apart(readme: str) -> None:
    ranking = table_rows(section(readme, RANKING))
    assert [row[1] for row in ranking] == ["greedy †", "uniform"]  # greedy has a failed episode
    assert [row[0] for row in ranking] == ["1", "2"]
    assert [row[5:] for row in ranking] == [
        ["3/3", "11", "1"],
        ["3/3", "12", "0"],
    ]  # tasks, episodes, failures
    assert all("oracle" not in row[1] for row in ranking)
    anchors = table_rows(section(readme, ANCHORS))
    assert [row[0] for row in anchors] == ["oracle"]
    for family, num_tasks in (("Alpha", 2), ("Beta", 1)):
        heading = f"Ranking within {family}: teachers that ran its {num_tasks} task(s)"
        ranked = table_rows(section(family_section(readme, family), heading))
        assert [row[1].split()[0] for row in ranked] == ["greedy", "uniform"], family


def test_probability_of_improvement_over_uniform(readme: str) -> None:
    greedy, uniform = table_rows(section(readme, RANKING))
    assert greedy[4].startswith("1.000 [1.000, 1.000]")  # every greedy episode beats every uniform one
    assert uniform[4] == "—"


def test_intervals_contain_their_point_estimates(readme: str) -> None:
    estimates = re.findall(r"(\d\.\d+) \[(\d\.\d+), (\d\.\d+)\]", readme)
    assert len(estimates) >= 5 + 3 + 5 + 5  # suite ranking, anchors, Alpha's and Beta's rankings
    for value, low, high in estimates:
        assert float(low) <= float(value) <= float(high)
    differences = re.findall(r"([+-]\d\.\d+) \[([+-]\d\.\d+), ([+-]\d\.\d+)\]", readme)
    assert len(differences) == 3 * 2  # greedy and oracle against uniform on each task
    for value, low, high in differences:
        assert float(low) <= float(value) <= float(high)


def test_family_tables_list_every_task_and_teacher(readme: str) -> None:
    alpha = table_rows(section(family_section(readme, "Alpha"), PER_TASK))
    # By mean test accuracy (greedy 0.78, uniform 0.62), then the anchor (oracle 0.90) apart.
    assert [(row[0], row[1]) for row in alpha] == [
        (task, agent)
        for task in ("Alpha-Sim-v0", "Alpha-Sim-v0[hard]")
        for agent in ("greedy", "uniform", "oracle (anchor)")
    ]
    assert [row[4] for row in alpha[:3]] == ["0.780", "0.620", "0.900"]  # raw test accuracy
    beta = {row[1]: row for row in table_rows(section(family_section(readme, "Beta"), PER_TASK))}
    assert beta["greedy †"][-2:] == ["3", "1"]  # 3 successful seeds, 1 failure
    assert beta["greedy †"][2:4] == ["+0.160 [+0.160, +0.160]", "3"]  # paired on the 3 seeds both ran
    assert beta["uniform"][2:4] == ["0 (baseline)", "—"]  # the baseline itself
    assert float(beta["uniform"][5]) == pytest.approx(np.mean([0.3, 0.32, 0.34, 0.36]), abs=1e-3)
    assert "![Alpha: validation accuracy by training examples taught](curves_Alpha.png)" in readme


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
    ranking = table_rows(section(text, RANKING))
    # greedy scores higher, but over 2 of the 3 tasks: it is listed apart, not ranked.
    assert [(row[0], row[1], row[5]) for row in ranking] == [("1", "uniform", "3/3")]
    assert [(row[0], row[4]) for row in table_rows(section(text, NOT_RANKED))] == [("greedy", "2/3")]
    alpha = family_section(text, "Alpha")  # ... and ranked within Alpha, whose tasks it all ran
    heading = "Ranking within Alpha: teachers that ran its 2 task(s)"
    assert [row[1] for row in table_rows(section(alpha, heading))] == ["greedy", "uniform"]
    assert "Not ranked here" not in alpha
    beta = family_section(text, "Beta")
    assert [row[1] for row in table_rows(section(beta, PER_TASK))] == ["uniform", "oracle (anchor)"]


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
    ranking = table_rows(section(text, RANKING))
    assert [row[1] for row in ranking] == ["greedy", "uniform"]
    assert [row[5:] for row in ranking] == [["3/3", "12", "0"], ["3/3", "12", "0"]]
    assert "No failed episodes." in section(text, "Failures")
    assert "- records: 36 episodes (2 superseded attempts not counted" in section(text, "Provenance")


def test_mean_curve_aligns_episodes_by_step_and_places_them_at_the_examples_taught() -> None:
    first = [
        {"step": 1, "mean_accuracy": 0.2, "examples_used": 8},
        {"step": 2, "mean_accuracy": 0.4, "examples_used": 16},
    ]
    second = [{"step": 1, "mean_accuracy": 0.4, "examples_used": 10}]
    examples, mean, half = mean_curve([first, second])
    assert examples.tolist() == [9.0, 16.0]  # the mean over the episodes that reached the step
    assert mean.tolist() == pytest.approx([0.3, 0.4])
    assert half[0] == pytest.approx(1.959963984540054 * np.std([0.2, 0.4], ddof=1) / np.sqrt(2))
    assert half[1] == 0.0


def test_a_curve_point_without_examples_is_refused() -> None:
    with pytest.raises(ConfigError, match="no examples_used"):
        mean_curve([[{"step": 1, "mean_accuracy": 0.2}]])


# --- paired statistics and what is ranked ---------------------------------------------------------

#: Test accuracies per seed on Alpha-Sim-v0: the paired interval is worked out by hand below.
GREEDY_ACCURACY = [0.5, 0.6, 0.7, 0.8]
UNIFORM_ACCURACY = [0.4, 0.55, 0.6, 0.75]
#: Student t quantile t(0.975, 3), from a printed table.
T_975_DF3 = 3.182446305


def _with_accuracy(record: dict[str, Any], accuracy: float, score: float | None = None) -> dict[str, Any]:
    changed = {**record, "test_accuracy": accuracy}
    return check_record({**changed, "score": record["score"] if score is None else score}, "test record")


def test_paired_difference_to_uniform_and_mde_match_a_hand_computation(tmp_path: Path) -> None:
    records = [
        _with_accuracy(make_record("Alpha-Sim-v0", agent, seed), values[seed])
        for agent, values in (("greedy", GREEDY_ACCURACY), ("uniform", UNIFORM_ACCURACY))
        for seed in range(NUM_SEEDS)
    ]
    write_results(tmp_path, records)
    text = render(tmp_path, reps=REPS)[0].read_text(encoding="utf-8")
    # Differences 0.1, 0.05, 0.1, 0.05: mean 0.075; sample sd = sqrt(4 * 0.025^2 / 3) = 0.0288675;
    # standard error = sd / sqrt(4) = 0.0144338; half width = 3.1824463 * 0.0144338 = 0.0459347.
    standard_error = math.sqrt(4 * 0.025**2 / 3) / 2
    half = T_975_DF3 * standard_error
    assert (0.075 - half, 0.075 + half) == pytest.approx((0.0290653, 0.1209347), abs=1e-6)
    alpha = family_section(text, "Alpha")
    rows = {row[1]: row for row in table_rows(section(alpha, PER_TASK))}
    assert rows["greedy"][2:5] == ["+0.075 [+0.029, +0.121]", "4", "0.650"]
    assert rows["uniform"][2:5] == ["0 (baseline)", "—", "0.575"]
    # One teacher against uniform: the MDE is 2.8 x its paired standard error = 0.0404145.
    summary = table_rows(section(alpha, "What each task can detect"))
    assert summary == [["Alpha-Sim-v0", "—", "4", f"{2.8 * standard_error:.3f}"]]
    assert f"{2.8 * standard_error:.3f}" == "0.040"
    difference = stats.paired_difference(GREEDY_ACCURACY, UNIFORM_ACCURACY)
    assert (difference["low"], difference["high"]) == pytest.approx((0.075 - half, 0.075 + half), abs=1e-9)


def test_a_task_without_uniform_shows_the_mean_only(tmp_path: Path) -> None:
    records = [make_record("Alpha-Sim-v0", "greedy", seed) for seed in range(NUM_SEEDS)]
    write_results(tmp_path, records)
    text = render(tmp_path, reps=REPS)[0].read_text(encoding="utf-8")
    alpha = family_section(text, "Alpha")
    assert table_rows(section(alpha, PER_TASK)) == [
        ["Alpha-Sim-v0", "greedy", "—", "—", "0.780", "0.730", "4", "0"]
    ]
    assert table_rows(section(alpha, "What each task can detect")) == [["Alpha-Sim-v0", "—", "—", "—"]]


def test_random_is_an_anchor_and_never_ranked_above_uniform(tmp_path: Path) -> None:
    # random scores (and reaches) more than uniform on every episode: still never ranked.
    records = [
        make_record(task, agent, seed)
        for task in ENVS
        for agent in ("greedy", "uniform")
        for seed in range(NUM_SEEDS)
    ]
    records += [
        _with_accuracy({**make_record(task, "uniform", seed), "agent": "random"}, 0.7, score=0.6)
        for task in ENVS
        for seed in range(NUM_SEEDS)
    ]
    write_results(tmp_path, records)
    text = render(tmp_path, reps=REPS)[0].read_text(encoding="utf-8")
    assert [row[1] for row in table_rows(section(text, RANKING))] == ["greedy †", "uniform"]
    assert [row[0] for row in table_rows(section(text, ANCHORS))] == ["random"]
    for family in ("Alpha", "Beta"):
        body = family_section(text, family)
        ranked = [row[1].split()[0] for row in table_rows(body.split("####")[1])]
        assert ranked == ["greedy", "uniform"], family
        per_task = [row[1] for row in table_rows(section(body, PER_TASK))]
        assert per_task.index("random (anchor)") > per_task.index("uniform"), family
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    for table in re.findall(r'<table id="ranking[^"]*".*?</table>', page, re.S):
        assert 'data-teacher="random"' not in table


def test_the_reference_agent_of_anchors_json_is_an_anchor(tmp_path: Path) -> None:
    write_results(tmp_path)
    # As every anchors.json, old (5 seeds) or new, records it: greedy is Alpha-Sim-v0's reference.
    anchors = {"Alpha-Sim-v0": {"random": 0.2, "reference": 0.8, "reference_agent": "greedy", "seeds": [1]}}
    (tmp_path / "anchors.json").write_text(json.dumps(anchors))
    text = render(tmp_path, reps=REPS)[0].read_text(encoding="utf-8")
    assert [row[1] for row in table_rows(section(text, RANKING))] == ["uniform"]
    assert [row[0] for row in table_rows(section(text, ANCHORS))] == ["greedy †", "oracle"]
    summary = table_rows(section(family_section(text, "Alpha"), "What each task can detect"))
    assert [row[:2] for row in summary] == [
        ["Alpha-Sim-v0", "greedy, oracle"],
        ["Alpha-Sim-v0[hard]", "oracle"],
    ]


def test_scores_are_shown_and_aggregated_unclipped(tmp_path: Path) -> None:
    scores = {"uniform": [-0.5, -0.4, -0.6, -0.3], "greedy": [1.5, 1.7, 1.6, 1.8]}
    records = [
        _with_accuracy(make_record("Alpha-Sim-v0", agent, seed), 0.5, score=scores[agent][seed])
        for agent in scores
        for seed in range(NUM_SEEDS)
    ]
    write_results(tmp_path, records)
    text = render(tmp_path, reps=REPS)[0].read_text(encoding="utf-8")
    assert table_rows(section(text, RANKING)) == []  # only Alpha-Sim-v0 ran: none ran all 3 tasks
    rows = {row[0]: row for row in table_rows(section(text, NOT_RANKED))}
    assert rows["greedy"][2].startswith("1.650 ")  # mean of 1.5, 1.7, 1.6, 1.8: above 1, kept
    assert rows["uniform"][2].startswith("-0.450 ")  # below 0, kept
    alpha = {row[1]: row for row in table_rows(section(family_section(text, "Alpha"), PER_TASK))}
    assert alpha["greedy"][5] == "1.650" and alpha["uniform"][5] == "-0.450"
