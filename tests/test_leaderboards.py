"""The committed leaderboards: re-rendering them from their results changes nothing, and sampled
records of ``quick`` reproduce exactly when their episodes are run again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teachgym.bench import records
from teachgym.bench.report import render
from teachgym.bench.runner import Job, run_job
from teachgym.bench.suites import suite

LEADERBOARDS = Path(__file__).resolve().parents[1] / "leaderboards"
FOLDERS = sorted(p.parent for p in LEADERBOARDS.glob("*/results.jsonl"))
CALIBRATIONS = sorted(p.parent for p in LEADERBOARDS.glob("*/calibration_episodes.jsonl"))


def test_the_quick_and_core_leaderboards_are_committed() -> None:
    names = {folder.name for folder in FOLDERS}
    assert "quick" in names
    index = (LEADERBOARDS / "README.md").read_text()
    assert all(f"]({name}/" in index for name in names), "leaderboards/README.md links every leaderboard"


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_re_rendering_a_leaderboard_changes_nothing(folder: Path) -> None:
    before = {p: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    written: list[Path] = []
    try:
        written = render(folder)
        for path in written:
            assert path in before, f"render wrote {path.name}, which is not committed"
            assert path.read_bytes() == before[path], f"{path.name} differs from the committed file"
    finally:  # put back what render rewrote (never the inputs: a sweep may be appending to them)
        for path in written:
            if path in before:
                path.write_bytes(before[path])
            else:
                path.unlink()


def _sampled(results: list[dict], count: int = 3) -> list[dict]:
    """A few ranked (non-reference) ok records spread over the file, the same every time."""
    ok = [r for r in results if r["status"] == "ok" and not r["reference"]]
    return [ok[i * (len(ok) - 1) // (count - 1)] for i in range(count)]


#: What may differ between a record and its rerun: timing, the commit the code was run at, and the
#: schema version it was written in (schema-1 records are read with ``agent_source`` None).
VOLATILE = {"wall_time", "git_revision", "schema"}


def test_sampled_quick_records_reproduce_exactly() -> None:
    folder = LEADERBOARDS / "quick"
    results = records.read_records(folder / "results.jsonl")
    anchors = json.loads((folder / "anchors.json").read_text())
    tasks = {task.name: task for task in suite("quick")}
    for record in _sampled(results):
        job = Job(tasks[record["task"]], record["agent"], record["seed"])
        rerun = run_job(job, record["suite"], record["command"], anchors[record["task"]])
        if "random_accuracies" not in anchors[record["task"]]:
            # Anchors of an older teachgym (5 seeds, no per-seed accuracies): its records hold scores
            # clipped to [0, 1], which scores no longer are.
            rerun["score"] = min(1.0, max(0.0, rerun["score"]))
        differing = sorted(k for k in record if k not in VOLATILE and rerun[k] != record[k])
        assert not differing, f"{records.key(record)}: {differing} differ on rerun"


@pytest.mark.parametrize("folder", CALIBRATIONS, ids=lambda f: f.name)
def test_the_calibration_table_is_what_its_episodes_say(folder: Path, tmp_path: Path) -> None:
    """``teachgym calibrate SUITE`` resumed on the committed episodes runs nothing and writes the
    committed table again (with the folder's notes under it)."""
    from teachgym.bench.calibration import CALIBRATION_FILE, EPISODES_FILE, NOTES_FILE, run_candidates

    committed = (folder / CALIBRATION_FILE).read_text()
    (tmp_path / EPISODES_FILE).write_bytes((folder / EPISODES_FILE).read_bytes())
    if (folder / NOTES_FILE).exists():
        (tmp_path / NOTES_FILE).write_bytes((folder / NOTES_FILE).read_bytes())
    command = committed.split("Regenerate with `")[1].split("`")[0]
    suite_name = command.split()[2]  # teachgym calibrate SUITE ...
    seeds = {json.loads(line)["seed"] for line in (tmp_path / EPISODES_FILE).open()}
    path = run_candidates(suite_name, tmp_path, num_seeds=len(seeds), first_seed=min(seeds), command=command)
    assert path.read_text() == committed
    assert "earns its place" in committed


@pytest.mark.parametrize("folder", [f for f in FOLDERS if (f / "EFFECTS.md").exists()], ids=lambda f: f.name)
def test_recomputing_the_effects_changes_nothing(folder: Path) -> None:
    from teachgym.bench.effects import write_report

    path = folder / "EFFECTS.md"
    before = path.read_bytes()
    try:
        write_report(folder)
        assert path.read_bytes() == before, f"{path} differs from what its episodes give"
    finally:
        path.write_bytes(before)
