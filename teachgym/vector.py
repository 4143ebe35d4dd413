"""The batched vector env: the teaching loop on ``N`` episodes whose students are one population.

``gymnasium.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")`` builds a
:class:`TeachingVectorEnv` for every registered id. It runs the family's loop
(:class:`teachgym.loop.TeachingLoop`) on all ``N`` episodes at once: one plan, one training call on
the population (numpy arrays for simulated learners, stacked parameters for torch networks), one
assessment of the shared validation split, arrays for the observation and ``info``.

Trajectories equal those of ``N`` single envs with the same seeds (tested per family): the single env
is the same loop on a batch of one, and member ``p`` trains and answers exactly as a one-member
student would.

Autoreset follows Gymnasium 1.x's default (``AutoresetMode.NEXT_STEP``): the step after an episode
ends resets that env, ignores its action and returns reward 0. ``reset(options={"reset_mask": m})``
resets only the envs where the bool ``(N,)`` mask ``m`` is true (the SB3 adapter uses it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from teachgym.config import check_int
from teachgym.env import TeachingEnv, describe, observation_space, privileged_view
from teachgym.errors import ConfigError, EpisodeStateError, InvalidActionError
from teachgym.loop import PROFILE_KEYS, EpisodeState, TeachingLoop, info_row
from teachgym.registry_utils import load
from teachgym.skills import Profile
from teachgym.students.members import MemberStudent
from teachgym.task import PrivilegedView, TaskDescription


class TeachingVectorEnv(VectorEnv):  # type: ignore[type-arg]
    """``num_envs`` episodes of the family of ``env_class`` with one population student.

    Args:
        env_class: the family's env class, or its ``"module:Class"`` path.
        num_envs: ``N >= 1``, envs (population members).
        **kwargs: the family's keyword arguments, the same for every env (as for ``gymnasium.make``).

    Raises:
        ConfigError: a bad ``num_envs`` or keyword argument.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "supports_reset_mask": True}

    def __init__(self, env_class: type[TeachingEnv] | str, num_envs: int, **kwargs: Any) -> None:
        self.num_envs = check_int("TeachingVectorEnv", "num_envs", num_envs, 1)
        cls = load(env_class) if isinstance(env_class, str) else env_class
        if kwargs.get("render_mode") is not None:
            raise ConfigError(f"render_mode={kwargs['render_mode']!r}: a batched vector env does not render")
        kwargs.pop("render_mode", None)
        self.rules = cls.FAMILY(**kwargs)
        self.loop = TeachingLoop(self.rules, self.num_envs)
        self.rules.check_student(self.loop.student)
        self.student = self.loop.student
        self.single_observation_space = observation_space(self.rules)
        self.single_action_space = self.rules.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**self.metadata, "family": self.rules.name}
        self.spec = None
        self.render_mode = None
        self.state: EpisodeState | None = None
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._observation: dict[str, np.ndarray] = {}
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._last_info: dict[str, Any] = {}
        self._sequence_keys = {
            key
            for key, space in self.single_observation_space.spaces.items()  # type: ignore[attr-defined]
            if isinstance(space, spaces.Sequence)
        }
        #: One view per env, with the single env's read API (``describe``, ``privileged_view``, ...).
        self.envs = [EpisodeView(self, i) for i in range(self.num_envs)]

    # ------------------------------------------------------------------ reset
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``); env ``i`` gets ``seed + i``
        (or ``seed[i]``), as in Gymnasium's vector envs."""
        options = dict(options or {})
        mask = np.ones(self.num_envs, dtype=bool)
        if "reset_mask" in options:
            mask = np.asarray(options.pop("reset_mask"))
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ConfigError(
                    f"reset_mask={mask!r} is invalid; expected a bool array of shape ({self.num_envs},)"
                )
            if self.state is None and not mask.all():
                raise ConfigError("the first reset of a vector env must reset every env (no reset_mask)")
        if options:
            raise ConfigError(f"reset() takes no options in this env, got {options!r}")
        seeds = self._seeds(seed)
        rows = np.flatnonzero(mask)
        info = self._reset_rows(rows, [seeds[i] for i in rows])
        self._autoreset[rows] = False
        self._last_info = info
        return self._observations(), _gymnasium_info(info, self.rules.skills.names)

    def _seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        if seed is None:
            return [None] * self.num_envs
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(self.num_envs)]
        seeds = list(seed)  # type: ignore[arg-type]
        if len(seeds) != self.num_envs:
            raise ConfigError(
                f"reset got {len(seeds)} seeds {seeds!r}; expected one per env ({self.num_envs})"
            )
        return seeds

    def _reset_rows(self, rows: np.ndarray, seeds: Sequence[int | None]) -> dict[str, Any]:
        """Reset the episodes ``rows``; their batched info, spread over all ``N`` envs."""
        if not len(rows):
            return {}
        previous = [self._rngs[i] for i in rows]
        state, observation, info = self._on(rows, lambda: self.loop.reset(seeds, previous))
        for j, i in enumerate(rows):
            self._rngs[i] = state.episode_rng[j]
        self.state = (
            state if self.state is None or len(rows) == self.num_envs else self.state.put(rows, state)
        )
        self._write(rows, observation)
        return _spread(info, rows, self.num_envs)

    # ------------------------------------------------------------------ step
    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One step of every env: those whose episode ended on the last step are reset instead
        (their action ignored, reward 0). An invalid action in any env is refused before any env
        changes (``InvalidActionError`` naming the env)."""
        if self.state is None:
            raise EpisodeStateError("step() called before reset()")
        actions = self._check_batch(actions)
        stepping, resetting = np.flatnonzero(~self._autoreset), np.flatnonzero(self._autoreset)
        rewards = np.zeros(self.num_envs)
        terminations = np.zeros(self.num_envs, dtype=bool)
        truncations = np.zeros(self.num_envs, dtype=bool)
        info: dict[str, Any] = {}
        if len(stepping):
            state = self.state
            sub = state if len(stepping) == self.num_envs else state.take(stepping)
            try:
                new, out = self._on(stepping, lambda: self.loop.step(sub, _rows(actions, stepping)))
            except InvalidActionError as error:
                raise _naming_env(error, stepping) from None
            self.state = new if len(stepping) == self.num_envs else state.put(stepping, new)
            self._write(stepping, out.observation)
            rewards[stepping], terminations[stepping], truncations[stepping] = (
                out.reward,
                out.terminated,
                out.truncated,
            )
            info = _spread(out.info, stepping, self.num_envs)
        if len(resetting):
            info = _merge(info, self._reset_rows(resetting, [None] * len(resetting)))
        self._autoreset = terminations | truncations
        self._last_info = info
        return (
            self._observations(),
            rewards,
            terminations,
            truncations,
            _gymnasium_info(info, self.rules.skills.names),
        )

    def _check_batch(self, actions: Any) -> Any:
        """``actions`` if it holds one action per env (an array or a sequence of ``N``); else an
        InvalidActionError (nothing changes)."""
        try:
            size = len(actions)
        except TypeError:
            size = None
        if size is not None and size != self.num_envs and not isinstance(actions, (str, bytes, dict)):
            raise InvalidActionError(
                f"vector action holds {size} actions; expected one per env ({self.num_envs}) of "
                f"{self.single_action_space}"
            )
        if size is None or isinstance(actions, (str, bytes, dict)):
            raise InvalidActionError(
                f"vector action {_short(actions)} is not a batch of {self.num_envs} actions of "
                f"{self.single_action_space}"
            )
        return actions

    def _on(self, rows: np.ndarray, call: Callable[[], Any]) -> Any:
        """``call()`` with the loop's student narrowed to the members ``rows`` (written back after)."""
        if len(rows) == self.num_envs:
            return call()
        population = self.loop.student
        sub = population.select(rows)
        self.loop.student = sub
        try:
            return call()
        finally:
            self.loop.student = population
            population.scatter(rows, sub)

    # ------------------------------------------------------------------ views
    def _write(self, rows: np.ndarray, observation: dict[str, np.ndarray]) -> None:
        if not self._observation:
            self._observation = {
                key: np.zeros((self.num_envs, *value.shape[1:]), value.dtype)
                for key, value in observation.items()
            }
        for key, value in observation.items():
            self._observation[key][rows] = value

    def _observations(self) -> dict[str, Any]:
        # A Sequence key (OpenEnded's errors) is batched as Gymnasium batches it: a tuple per env.
        sequences = self._sequence_keys
        return {
            key: tuple(value) if key in sequences else value.copy()
            for key, value in self._observation.items()
        }

    def info_of(self, index: int) -> dict[str, Any]:
        """Env ``index``'s ``info`` of the last ``reset`` or ``step``, exactly as a single env gives it
        (plain numbers, strings and dicts; profiles as ``{skill: accuracy}``)."""
        return info_row(self._last_info, index, self.rules.skills.names)

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """``getattr(env, name)(*args, **kwargs)`` (or the attribute itself) of every env's view."""
        results = []
        for env in self.envs:
            value = getattr(env, name)
            results.append(value(*args, **kwargs) if callable(value) else value)
        return tuple(results)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        """The attribute ``name`` of every env's view."""
        return tuple(getattr(env, name) for env in self.envs)


class EpisodeView:
    """Env ``index`` of a vector env, with the single env's read API: what a teacher is built from
    (``describe``, ``privileged_view``) and what a runner logs (``mean_accuracy``, ``progress``)."""

    def __init__(self, vector: TeachingVectorEnv, index: int) -> None:
        self._vector, self.index = vector, index
        rules = vector.rules
        self.rules, self.config, self.domain, self.skills = rules, rules.config, rules.domain, rules.skills
        self.family, self.num_steps, self.examples_per_step = (
            rules.name,
            rules.num_steps,
            rules.examples_per_step,
        )
        self.observation_space, self.action_space = vector.single_observation_space, rules.action_space

    @property
    def spec(self) -> Any:
        """The vector env's registration (``gymnasium.make_vec`` sets it after building the env)."""
        return self._vector.spec

    @property
    def unwrapped(self) -> EpisodeView:
        return self

    def __getattr__(self, name: str) -> Any:
        """Anything else a single env shows: the family's rules and settings, the loop's objective and
        engine, and the env class's declarations (``reveals_profile``, ``extra_info_keys``, ...)."""
        if name.startswith("_"):
            raise AttributeError(name)
        for owner in (self.rules, self.rules.config, self._vector.loop):
            if hasattr(owner, name):
                return getattr(owner, name)
        raise AttributeError(f"{type(self).__name__} of {self.family} has no attribute {name!r}")

    @property
    def np_random(self) -> np.random.Generator | None:
        """The episode's generator (Gymnasium's ``np_random`` of a single env)."""
        return self._vector._rngs[self.index]

    @property
    def student(self) -> MemberStudent:
        return MemberStudent(self._vector.loop.student, self.index)

    def _state(self) -> EpisodeState:
        """The vector env's state, its validation profiles taken where a step skipped them (once for
        every env: ``EpisodeState.graded``)."""
        if self._vector.state is None:
            raise EpisodeStateError("no profile before reset()")
        self._vector.state = self._vector.loop.graded(self._vector.state)
        return self._vector.state

    @property
    def profile(self) -> Profile:
        return self._state().profile.member(self.index)

    def mean_accuracy(self) -> float:
        return float(self._vector.loop.mean_accuracy(self._state())[self.index])

    def progress(self) -> float:
        return float(self._vector.loop.progress(self._state())[self.index])

    def describe(self) -> TaskDescription:
        return describe(self.rules, self.observation_space, self.spec.id if self.spec is not None else None)

    def privileged(self) -> dict[str, Any]:
        family = self.rules.privileged(self._state, self.index, self.student)
        return {"student": self.student, "domain": self.domain, **family}

    def privileged_view(self, fields: Sequence[str]) -> PrivilegedView:
        return privileged_view(self.family, self.privileged(), fields)


def _rows(actions: Any, rows: np.ndarray) -> Any:
    """The actions of the envs ``rows`` (all of them: the batch itself)."""
    if len(rows) == len(actions):
        return actions
    if isinstance(actions, np.ndarray):
        return actions[rows]
    return [actions[i] for i in rows]


def _spread(info: dict[str, Any], rows: np.ndarray, size: int) -> dict[str, Any]:
    """A batched info of the episodes ``rows`` as one of all ``size`` envs (masked out elsewhere)."""
    if len(rows) == size:
        return info
    out: dict[str, Any] = {}
    for key, value in info.items():
        if key.startswith("_"):
            mask = np.zeros(size, dtype=bool)
            mask[rows] = value
            out[key] = mask
        elif isinstance(value, np.ndarray):
            full = np.zeros((size, *value.shape[1:]), value.dtype)
            full[rows] = value
            out[key] = full
        else:
            full_list: list[Any] = [None] * size
            for j, i in enumerate(rows):
                full_list[i] = value[j]
            out[key] = full_list
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two spread infos of disjoint envs as one."""
    out = dict(a)
    for key, value in b.items():
        if key.startswith("_") or key not in out:
            out[key] = value if key not in out else out[key] | value
            continue
        mask = b[f"_{key}"]
        if (
            isinstance(value, np.ndarray)
            and isinstance(out[key], np.ndarray)
            and value.dtype == out[key].dtype
        ):
            merged = out[key].copy()
            merged[mask] = value[mask]
        else:
            merged = [v if m else w for v, w, m in zip(value, out[key], mask, strict=True)]  # type: ignore[assignment]
        out[key] = merged
    return out


def _gymnasium_info(info: dict[str, Any], skill_names: Sequence[str]) -> dict[str, Any]:
    """A batched info in Gymnasium's vector form: values of masked-out envs zeroed (as Gymnasium's
    ``_add_info`` leaves them), profiles as ``{skill: (N,) array, "_skill": mask}``, and per-env
    objects (strings, dicts) as object arrays."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info[f"_{key}"]
        if key in PROFILE_KEYS:  # {skill: (N,)}, rounded to 6 places as a single env's info is
            rounded = np.where(mask[:, None], np.round(np.asarray(value, dtype=np.float64), 6), 0.0)
            out[key] = {name: rounded[:, k].copy() for k, name in enumerate(skill_names)}
            out[key].update({f"_{name}": mask.copy() for name in skill_names})
        elif isinstance(value, np.ndarray) and value.dtype != object:
            out[key] = np.where(mask.reshape(-1, *[1] * (value.ndim - 1)), value, np.zeros((), value.dtype))
        elif isinstance(value, np.ndarray):  # an object array of per-env values (names): no dicts
            out[key] = np.where(mask, value, np.array(None, dtype=object))
        elif any(isinstance(item, dict) for item, keep in zip(value, mask, strict=True) if keep):
            out[key] = _nested(value, mask)  # {sub-key: (N,) values, "_sub-key": mask}, as Gymnasium's
        else:
            objects = np.empty(len(mask), dtype=object)
            for i, (item, keep) in enumerate(zip(value, mask, strict=True)):
                objects[i] = item if keep else None
            out[key] = objects
        out[f"_{key}"] = mask.copy()
    return out


def _nested(values: Sequence[Any], mask: np.ndarray) -> dict[str, Any]:
    """Per-env dicts as Gymnasium's vector envs batch a dict info value (``VectorEnv._add_info``)."""
    helper = _InfoHelper(len(mask))
    out: dict[str, Any] = {}
    for i, (item, keep) in enumerate(zip(values, mask, strict=True)):
        if keep:
            out = helper._add_info(out, item, i)  # type: ignore[misc]
    return out


class _InfoHelper:
    """What ``VectorEnv._add_info`` needs of a vector env: its number of envs."""

    _add_info = VectorEnv._add_info

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs


def _naming_env(error: InvalidActionError, rows: np.ndarray) -> InvalidActionError:
    """``error`` of the envs ``rows`` (stepped as a batch of their own) naming the vector env's index."""
    text, prefix = str(error), "env "
    marker = " of the vector env: "
    if len(rows) > 1 and text.startswith(prefix) and marker in text:
        local, rest = text[len(prefix) :].split(marker, 1)
        if local.isdigit():
            return InvalidActionError(f"env {int(rows[int(local)])}{marker}{rest}")
    return InvalidActionError(f"env {int(rows[0])}{marker}{text}") if len(rows) == 1 else error


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
