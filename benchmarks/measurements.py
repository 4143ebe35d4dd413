"""What the benchmark scripts share: the JSON record, the machine record and the command line.

A script defines measurements ``name -> function(quick) -> iterator of records`` and calls
:func:`run`; it prints a table and, with ``--json PATH``, writes JSON Lines: a ``meta`` record
(command, machine, versions), then one ``{"name", "value", "unit", "baseline", "ratio", "detail"}``
record per figure, with the target in ``detail["target"]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import teachgym

Record = dict[str, Any]
Measurement = Callable[[bool], Iterator[Record]]


def record(
    name: str, value: float, unit: str, baseline: float | None = None, same_unit: bool = True, **detail: Any
) -> Record:
    """One JSON record; ``ratio = value / baseline`` when both are given in ``unit``."""
    ratio = value / baseline if baseline and same_unit else None
    return dict(name=name, value=value, unit=unit, baseline=baseline, ratio=ratio, detail=detail)


def _number(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(doc: str, measurements: dict[str, Measurement], *, quick_help: str, show_load: bool = False) -> None:
    """Parse ``[--quick] [--json PATH] [--only NAME,...]``, run the chosen measurements on one torch
    thread, print each record as it comes and rewrite ``--json`` after every one (a long run that
    fails keeps what it measured). ``show_load`` prints and records the load average, for runs whose
    wall-clock figures other processes can disturb."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", type=Path, help="write JSON Lines records here")
    parser.add_argument("--only", default=",".join(measurements), help="measurements, comma-separated")
    args = parser.parse_args()
    selected = [name for name in args.only.split(",") if name]
    unknown = sorted(set(selected) - set(measurements))
    if unknown:
        parser.error(f"--only got unknown measurement(s) {unknown}; expected any of {list(measurements)}")
    torch.set_num_threads(1)
    meta = {
        "command": shlex.join(["python", *sys.argv]),
        "cpu_count": os.cpu_count(),
        **({"load_average_1_5_15": list(os.getloadavg())} if show_load else {}),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "teachgym": teachgym.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "quick": args.quick,
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    records: list[Record] = [record("meta", None, None, **meta)]  # type: ignore[arg-type]
    print(f"command: {meta['command']}")
    print(f"machine: {meta['cpu_count']} CPUs, torch {meta['torch']} on {meta['torch_threads']} thread(s)")
    if show_load:
        print(f"load average at start: {_load()}")
    print(f"{'name':<60} {'value':>10} {'unit':<12} {'baseline':>10} {'ratio':>8}  target")
    for name in selected:
        for row in measurements[name](args.quick):
            print(
                f"{row['name']:<60} {_number(row['value']):>10} {row['unit']:<12} "
                f"{_number(row['baseline']):>10} {_number(row['ratio']):>8}  {row['detail']['target']}",
                flush=True,
            )
            records.append(row)
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text("".join(json.dumps(r) + "\n" for r in records))
    if show_load:
        print(f"load average at end: {_load()}")
