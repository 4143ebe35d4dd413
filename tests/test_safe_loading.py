"""Safe loading: no pickle in results, torch weights only with ``weights_only=True`` or as
safetensors, and loading an SB3 policy documented as executing code.

The source checks parse the files with ``ast`` (not grep), so comments and docstrings that mention
pickle do not count, and aliases (``import torch as th``, ``from torch import load``) do.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import teachgym
from teachgym.bench.folder import LOCK_FILE
from teachgym.bench.runner import run_sweep
from teachgym.bench.suites import suite

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "teachgym"
#: The folders installed as ``teachgym``, ``teachgym.agents`` and ``teachgym.envs`` (pyproject.toml).
SOURCE_FOLDERS = (PACKAGE, ROOT / "agents", ROOT / "envs")
#: Modules that write results: benchmark records, anchors, suite files, ``teachgym run --out``
#: records, training metadata and evaluations.
RESULT_MODULES = (
    *sorted((PACKAGE / "bench").glob("*.py")),
    PACKAGE / "rollout.py",
    PACKAGE / "train.py",
    PACKAGE / "cli.py",
)
#: Serializers that can run code when their data is loaded.
PICKLE_MODULES = frozenset({"pickle", "_pickle", "cloudpickle", "dill", "marshal", "shelve", "joblib"})
#: Weight and object files that are (or may be) pickles; the package ships none.
PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt", ".joblib", ".dill"})
WEIGHTS = PACKAGE / "students" / "weights"


def _python_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _where(path: Path | str, node: ast.AST) -> str:
    name = path.relative_to(ROOT) if isinstance(path, Path) else path
    return f"{name}:{getattr(node, 'lineno', '?')}"


# --------------------------------------------------------------- (a) no pickle in results
def pickle_imports(tree: ast.Module, path: Path | str) -> list[str]:
    """Where ``tree`` imports a module of :data:`PICKLE_MODULES`: ``import``, ``from ... import``,
    ``__import__("...")`` and ``importlib.import_module("...")`` with a literal name."""
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = getattr(func, "id", None) or getattr(func, "attr", "")  # f(...) or m.f(...)
            if called in ("__import__", "import_module") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        found += [f"{_where(path, node)} {n}" for n in names if n.split(".")[0] in PICKLE_MODULES]
    return found


def pickling_calls(tree: ast.Module, path: Path | str) -> list[str]:
    """Where ``tree`` writes or reads a pickle without importing a pickle module: ``torch.save``,
    ``.to_pickle(...)``/``read_pickle(...)``, or any call with ``allow_pickle=True``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and ast.unparse(func) == "torch.save":
            found.append(f"{_where(path, node)} torch.save")
        if isinstance(func, ast.Attribute) and func.attr in ("to_pickle", "read_pickle"):
            found.append(f"{_where(path, node)} .{func.attr}")
        for keyword in node.keywords:
            if keyword.arg == "allow_pickle" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append(f"{_where(path, node)} allow_pickle={ast.unparse(keyword.value)}")
    return found


def test_the_pickle_scanner_finds_what_it_looks_for() -> None:
    source = (
        "import pickle\nimport cloudpickle as cp\nfrom dill import dumps\nimport importlib\n"
        "m = importlib.import_module('marshal')\ns = __import__('shelve')\nimport json, os.path\n"
        "import torch\ntorch.save(x, 'f')\nnp.save('f', a, allow_pickle=True)\ndf.to_pickle('f')\n"
        "np.load('f', allow_pickle=False)\n"
    )
    tree = ast.parse(source)
    imports = pickle_imports(tree, "snippet")
    assert [i.split()[1] for i in imports] == ["pickle", "cloudpickle", "dill", "marshal", "shelve"]
    calls = pickling_calls(tree, "snippet")
    assert [c.split()[1] for c in calls] == ["torch.save", "allow_pickle=True", ".to_pickle"]


@pytest.mark.parametrize("path", RESULT_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_that_write_results_do_not_pickle(path: Path) -> None:
    tree = _parse(path)
    assert pickle_imports(tree, path) == []
    assert pickling_calls(tree, path) == []


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not plain JSON")


def _plain_json(value: Any) -> bool:
    """Whether ``value`` is made of JSON types only (str keys; no tuples, numpy scalars, bytes)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_json(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_a_sweep_writes_only_plain_json(tmp_path: Path) -> None:
    """A tiny sweep (the ``quick`` suite's SkillList-Sim-v1 task, one teacher, one seed): every file
    it writes is UTF-8 JSON or JSON Lines without NaN or infinities, and the records it returns are
    what the results file holds."""
    task = next(t for t in suite("quick") if t.name == "SkillList-Sim-v1")
    command = "teachgym bench quick --agents uniform --seeds 1"
    results = run_sweep(
        "quick", [task], tmp_path, agent_names=["uniform"], seeds=1, command=command, quiet=True
    )
    assert [(r["agent"], r["status"]) for r in results] == [("uniform", "ok")]
    lock = tmp_path / LOCK_FILE  # the sweep's lock: the holder's pid as text, nothing to load
    assert lock.read_text().strip().isdigit()
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p != lock)
    assert {p.name for p in files} >= {"results.jsonl", "anchors.json", "suite.json"}
    stored: list[Any] = []
    for path in files:
        assert path.suffix in (".json", ".jsonl"), f"{path.name}: not a JSON file"
        data = path.read_bytes()
        assert not data.startswith(b"\x80"), f"{path.name} starts like a pickle (protocol >= 2)"
        text = data.decode("utf-8")
        if path.suffix == ".jsonl":
            values = [json.loads(line, parse_constant=_reject_constant) for line in text.splitlines()]
        else:
            values = [json.loads(text, parse_constant=_reject_constant)]
        assert values and all(_plain_json(v) for v in values), path.name
        if path.name == "results.jsonl":
            stored = values
    assert stored == results and all(_plain_json(r) for r in results)


# --------------------------------------------------------------- (b) torch weights
def torch_load_calls(tree: ast.Module) -> list[ast.Call]:
    """Calls of ``torch.load`` in ``tree``, under any alias (``import torch as th``,
    ``from torch import load as f``, ``torch.serialization.load``)."""
    modules, functions = {"torch"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "torch"}
        elif isinstance(node, ast.ImportFrom) and node.module in ("torch", "torch.serialization"):
            functions |= {a.asname or a.name for a in node.names if a.name == "load"}
            modules |= {a.asname or a.name for a in node.names if a.name == "serialization"}
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in functions:
            calls.append(node)
        elif isinstance(func, ast.Attribute) and func.attr == "load":
            owner = func.value
            module = (
                owner.value if isinstance(owner, ast.Attribute) and owner.attr == "serialization" else owner
            )
            if isinstance(module, ast.Name) and module.id in modules:
                calls.append(node)
    return calls


def weights_only(call: ast.Call) -> bool:
    """Whether ``call`` passes ``weights_only=True`` literally (a ``**kwargs`` does not count)."""
    return any(
        k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


def test_the_torch_load_scanner_finds_every_alias() -> None:
    source = (
        "import torch\nimport torch as th\nfrom torch import load as read\nfrom torch import serialization\n"
        "torch.load('a')\nth.load('b', weights_only=True)\nread('c', weights_only=False)\n"
        "serialization.load('d', **options)\ntorch.serialization.load('e', weights_only=True)\n"
        "json.load(f)\nnp.load('f')\n"
    )
    calls = torch_load_calls(ast.parse(source))
    assert [c.args[0].value for c in calls] == ["a", "b", "c", "d", "e"]  # type: ignore[attr-defined]
    assert [weights_only(c) for c in calls] == [False, True, False, False, True]


def test_every_torch_load_passes_weights_only_true() -> None:
    unsafe = [
        f"{p.relative_to(ROOT)}:{call.lineno} {ast.unparse(call)}"
        for p in _python_files(*SOURCE_FOLDERS)
        for call in torch_load_calls(_parse(p))
        if not weights_only(call)
    ]
    assert unsafe == []


def test_no_from_pretrained_call_turns_safe_loading_off() -> None:
    """Hugging Face checkpoints are loaded with transformers' defaults (safetensors first, else
    ``torch.load(weights_only=True)``, no remote code); no call overrides them."""
    safe = {"weights_only": True, "use_safetensors": True, "trust_remote_code": False}
    found = [
        f"{_where(path, node)} {k.arg}={ast.unparse(k.value)}"
        for path in _python_files(*SOURCE_FOLDERS)
        for node in ast.walk(_parse(path))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "from_pretrained"
        for k in node.keywords
        if k.arg in safe and not (isinstance(k.value, ast.Constant) and k.value.value is safe[k.arg])
    ]
    assert found == []


def _safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file (8-byte little-endian length, then that many bytes of
    JSON), checked against the file's size; read without the safetensors package."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    assert tensors, f"{path}: no tensors"
    end = max(v["data_offsets"][1] for v in tensors.values())
    assert 8 + length + end == len(data), f"{path}: size does not match the header"
    return header


def test_shipped_weights_are_safetensors() -> None:
    files = sorted(p for p in WEIGHTS.rglob("*") if p.is_file())
    models = [p for p in files if p.suffix == ".safetensors"]
    assert models, f"no .safetensors under {WEIGHTS}"
    assert {p.suffix for p in files} <= {".safetensors", ".json"}, [p.name for p in files]
    for path in models:
        assert _safetensors_header(path)
    for folder in {p.parent for p in files}:
        assert (folder / "model.safetensors").is_file(), f"{folder}: no model.safetensors"


def test_no_pickle_weight_files_are_shipped() -> None:
    shipped = [p for folder in SOURCE_FOLDERS for p in folder.rglob("*") if p.is_file()]
    pickles = [str(p.relative_to(ROOT)) for p in shipped if p.suffix in PICKLE_SUFFIXES]
    assert pickles == []


def test_package_data_lists_no_pickle_files() -> None:
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = [
        pattern
        for patterns in config["tool"]["setuptools"].get("package-data", {}).values()
        for pattern in patterns
    ]
    assert patterns
    for pattern in patterns:
        # Weights as safetensors, and text: JSON, the page's script and style, the docs site's
        # configuration and pages.
        assert pattern.endswith((".safetensors", ".json", "py.typed", ".css", ".js", ".yml", ".md")), pattern


def test_the_shipped_language_model_loads_without_torch_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tiny model (its safetensors) loads while ``torch.load`` raises: no pickle is read."""
    pytest.importorskip("transformers")
    from teachgym import lm

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load called while loading the shipped model")

    monkeypatch.setattr(torch, "load", refuse)
    config, state, _ = lm._load.__wrapped__(str(lm.TINY_MODEL_DIR))
    assert state and config.model_type == "gpt2"


# --------------------------------------------------------------- (c) SB3 policies run code
EXECUTES_CODE = re.compile(r"\bexecut(?:es|e|ing)\s+(?:arbitrary\s+)?code\b")


def _normalized(text: str) -> str:
    """Lower case, Markdown/reST emphasis and code marks removed, whitespace collapsed."""
    return " ".join(re.sub(r"[*_`]", "", text).lower().split())


def _warns_of_code_execution(text: str) -> bool:
    return bool(EXECUTES_CODE.search(_normalized(text))) and "trust" in _normalized(text)


def test_the_warning_matcher() -> None:
    assert _warns_of_code_execution("loading one *executes code* from it. Load only\n files you trust")
    assert _warns_of_code_execution("**Loading an SB3 zip Executes Code stored in it**: trusted only")
    assert not _warns_of_code_execution("loading one executes code from it")  # says nothing of trust
    assert not _warns_of_code_execution("an executed codec; use files you trust")


def test_load_teacher_documents_code_execution() -> None:
    from teachgym.agents import sb3

    assert _warns_of_code_execution(inspect.getdoc(sb3.load_teacher) or "")
    assert _warns_of_code_execution(sb3.__doc__ or "")


def test_the_readme_documents_code_execution_for_sb3_policies() -> None:
    paragraphs = re.split(r"\n\s*\n", (ROOT / "README.md").read_text())
    warnings = [
        p
        for p in paragraphs
        if _warns_of_code_execution(p) and re.search(r"sb3|stable-baselines3", p, re.IGNORECASE)
    ]
    assert warnings, "README.md: no paragraph says that loading an SB3 policy executes code"


def test_the_scanned_folders_are_the_imported_packages() -> None:
    """The source folders scanned above are the ones this interpreter imports."""
    from teachgym import agents, envs

    for module, folder in ((teachgym, PACKAGE), (agents, ROOT / "agents"), (envs, ROOT / "envs")):
        assert Path(module.__file__).resolve().parent == folder
