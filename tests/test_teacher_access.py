"""Teachers see what a real teacher sees (BENCHMARK.md): every registered teacher is built from the
task's read-only description, never from the env; privileged references get exactly the hidden
state they declare, through a view; nothing else gets a view."""

from __future__ import annotations

import dataclasses
import gc
import inspect
import types
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import teachgym
from teachgym import agents
from teachgym.agents import base
from teachgym.agents.writer import AllocationWriter
from teachgym.errors import ConfigError, UnsupportedError
from teachgym.task import ExampleWriter, PrivilegedView, TaskDescription
from tests.conftest import make_env

#: The only teachers that read hidden state, and what they read.
PRIVILEGED = {"oracle": ("student", "domain"), "oracle-utility": ("success",)}


class _EchoLLM:
    """A stand-in language model that always writes one correct example (keeps the test offline)."""

    def complete(self, prompts: list[str], rng: np.random.Generator) -> list[str]:
        return [" What is 12 + 34?\nAnswer: 46\n\n"] * len(prompts)


def _offline_knobs(factory: Any) -> dict[str, Any]:
    """Teachers that prompt a language model get the stand-in instead of SmolLM2."""
    return {"generator": _EchoLLM()} if "generator" in inspect.signature(factory).parameters else {}


def _reachable(root: Any, limit: int = 200_000) -> set[int]:
    """Ids of the objects reachable from ``root`` through references, not following classes,
    modules and functions (shared code, not state) nor an ExampleWriter (the domain's generator,
    lent by design to the families whose action is the data)."""
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, ExampleWriter)
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        stack.extend(gc.get_referents(obj))
    return seen


def _hidden(env: gym.Env) -> dict[str, Any]:
    """What a real teacher must not reach: the env, its student, domain and engine, held-out items."""
    unwrapped = env.unwrapped
    hidden = {"env": env, "unwrapped": unwrapped, **unwrapped.privileged(), "engine": unwrapped.engine}
    for split in ("validation", "test"):
        items = unwrapped.domain.heldout(split)
        hidden.update({f"{split}.{f.name}": getattr(items, f.name) for f in dataclasses.fields(items)})
    return {name: value for name, value in hidden.items() if value is not None}


@pytest.mark.parametrize("env_id", teachgym.envs.ids())
def test_every_teacher_builds_from_the_description_alone_and_plays_a_step(env_id: str) -> None:
    env = make_env(env_id, num_steps=3)
    task = agents.describe(env)
    reachable = _reachable(task)
    leaked = [name for name, value in _hidden(env).items() if id(value) in reachable]
    assert not leaked, f"the description of {env_id} reaches {leaked}"
    for name in agents.names():
        if not agents.supports(name, task):
            continue
        registration = agents.spec(name, task.family)
        extra = _offline_knobs(registration.factory)
        if registration.privileged:
            # The view is all a privileged reference gets beyond the description.
            extra["view"] = env.unwrapped.privileged_view(registration.privileged)
        try:
            teacher = registration.factory(task, **extra)
        except UnsupportedError:  # e.g. oracle on a neural student: refused clearly
            continue
        if task.action_kind not in registration.kinds:  # an allocation teacher writing text
            teacher = AllocationWriter(teacher, task)
        teacher.reset(task.observation_space, task.action_space, seed=0)
        obs, info = env.reset(seed=0)
        action = teacher.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        teacher.observe(obs, reward, terminated, truncated, info)


def test_a_factory_receives_the_description_and_only_its_declared_view(monkeypatch) -> None:
    calls: list[tuple[str, tuple, dict]] = []

    def recorder(name: str) -> Any:
        def factory(*args: Any, **kwargs: Any) -> Any:
            calls.append((name, args, kwargs))
            return agents.as_teacher(lambda obs: None)

        return factory

    registry = {
        name: [dataclasses.replace(r, factory=recorder(name)) for r in registrations]
        for name, registrations in base._REGISTRY.items()
    }
    monkeypatch.setattr(base, "_REGISTRY", registry)
    for env_id in ("teachgym/SkillList-Sim-v0", "teachgym/Intervention-Sim-v0", "teachgym/Tutor-Sim-v0"):
        env = make_env(env_id, num_steps=3)
        for name in agents.names():
            if agents.supports(name, env):
                agents.make(name, env)
    assert {name for name, _, _ in calls} >= set(PRIVILEGED) | {"random", "weakest-skill", "bkt-mastery"}
    for name, args, kwargs in calls:
        assert not args, f"{name} got positional arguments {args}"
        assert isinstance(kwargs.pop("task"), TaskDescription)
        if name in PRIVILEGED:
            view = kwargs.pop("view")
            assert isinstance(view, PrivilegedView) and view.names == PRIVILEGED[name]
        assert not kwargs, f"{name} got {sorted(kwargs)} besides its description"


def test_only_the_declared_references_are_privileged_and_take_a_view() -> None:
    declared = {name: agents.spec(name).privileged for name in agents.names() if agents.spec(name).privileged}
    assert declared == PRIVILEGED
    for registrations in base._REGISTRY.values():
        for registration in registrations:
            parameters = inspect.signature(registration.factory).parameters
            assert next(iter(parameters)) == "task", registration
            assert ("view" in parameters) == bool(registration.privileged), registration
            assert "env" not in parameters, registration
            assert registration.reference or not registration.privileged


def test_a_privileged_teacher_is_refused_a_description_alone() -> None:
    env = gym.make("teachgym/SkillList-Sim-v0")
    task = agents.describe(env)
    with pytest.raises(UnsupportedError, match=r"'oracle' reads the hidden state \['student', 'domain'\]"):
        agents.make("oracle", task)
    assert not agents.builds("oracle", task) and agents.builds("oracle", env)
    assert "oracle" not in agents.runnable(task) and "oracle" in agents.runnable(env)
    assert agents.builds("weakest-skill", task)
    with pytest.raises(ConfigError, match="TaskDescription"):
        agents.make("uniform", {"family": "SkillList"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"options \['sharpness'\] are envs"):
        agents.make("weakest-skill", task, sharpness=env)


def test_register_refuses_a_factory_that_asks_for_anything_else() -> None:
    def register(**extra: Any) -> Any:
        return agents.register("_test-access", kinds=("allocation",), paper="-", summary="-", **extra)

    class TakesTheEnv(agents.BaseTeacher):
        def __init__(self, env: gym.Env) -> None:
            pass

    class TakesAView(agents.BaseTeacher):
        def __init__(self, task: TaskDescription, *, view: PrivilegedView) -> None:
            pass

    class TakesTheTask(agents.BaseTeacher):
        def __init__(self, task: TaskDescription) -> None:
            pass

    class TakesTheEnvToo(agents.BaseTeacher):
        def __init__(self, task: TaskDescription, *, env: gym.Env | None = None) -> None:
            pass

    with pytest.raises(ConfigError, match=r"TakesTheEnv.*expected \(task, \*, knobs\.\.\.\)"):
        register()(TakesTheEnv)
    with pytest.raises(ConfigError, match="TakesTheEnvToo"):
        register()(TakesTheEnvToo)  # an env as a knob
    with pytest.raises(ConfigError, match="TakesAView"):
        register()(TakesAView)  # a view without declaring what it reads
    with pytest.raises(ConfigError, match="TakesTheTask"):
        register(reference=True, privileged=("student",))(TakesTheTask)  # declares, takes no view
    with pytest.raises(ConfigError, match="reference=True"):
        register(privileged=("student",))
    assert "_test-access" not in agents.names()


def test_the_description_is_read_only_and_a_copy() -> None:
    env = gym.make("teachgym/Curriculum-ClassIncremental-Digits-v0")
    task = agents.describe(env)
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.num_steps = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        task.settings["ordered"] = True  # type: ignore[index]
    with pytest.raises(TypeError):
        task.skill_names[0] = "x"  # type: ignore[index]
    pool = task.training_pool
    assert pool is not None and pool.features is not None
    with pytest.raises(ValueError, match="read-only"):
        pool.features[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        pool.skill[0] = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        pool.skill = np.zeros(1)  # type: ignore[misc]
    domain_pool = env.unwrapped.domain.train_pool()
    assert not np.shares_memory(pool.features, domain_pool.features)
    task.action_space.n = 99  # a copy: changing it changes nothing in the env
    assert env.action_space.n == 10

    tree = agents.describe(gym.make("teachgym/Tutor-Sim-v0"))
    assert tree.prerequisites and tree.settings["history_length"] == 10
    with pytest.raises(TypeError):
        tree.prerequisites["x"] = ()  # type: ignore[index]
    nested = TaskDescription(**{**_fields(tree), "settings": {"a": {"b": [1, 2]}, "c": np.zeros(2)}})
    with pytest.raises(TypeError):
        nested.settings["a"]["b"] = ()
    assert nested.settings["a"]["b"] == (1, 2)
    with pytest.raises(ValueError, match="read-only"):
        nested.settings["c"][0] = 1.0


def _fields(task: TaskDescription) -> dict[str, Any]:
    return {f.name: getattr(task, f.name) for f in dataclasses.fields(task)}


def test_a_view_holds_exactly_the_declared_state() -> None:
    env = gym.make("teachgym/Intervention-Sim-v0")
    view = env.unwrapped.privileged_view(("success",))
    env.reset(seed=0)
    assert view.names == ("success",) and "student" not in view
    assert view["success"]().shape == (4,)
    with pytest.raises(UnsupportedError, match="'student' was not declared"):
        view["student"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(UnsupportedError, match=r"no hidden state \['answers'\]"):
        env.unwrapped.privileged_view(("answers",))
    skill_list = gym.make("teachgym/SkillList-Sim-v0")
    with pytest.raises(UnsupportedError, match="success"):
        skill_list.unwrapped.privileged_view(("success",))


def test_only_the_data_writing_family_lends_an_example_writer() -> None:
    for env_id in teachgym.envs.ids():
        if env_id.startswith("teachgym/OpenEnded"):
            continue  # its language-model student is slow to build; checked below with quick settings
        assert gym.make(env_id).unwrapped.describe().example_writer is None, env_id
    task = agents.describe(make_env("teachgym/OpenEnded-ArithmeticText-v0"))
    assert task.example_writer is not None
    examples = task.example_writer.generate(np.array([0, 1]), np.array([0, 0]), np.random.default_rng(0))
    assert len(examples) == 2
