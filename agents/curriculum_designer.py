"""The Curriculum Designer of "Learning to Learn: How to Continuously Teach Humans and Machines"
(Singh et al., ICCV 2023, arXiv 2211.15470): a class order from inter-class feature similarity."""

from __future__ import annotations

import numpy as np

from teachgym.agents.base import register
from teachgym.agents.fixed_curricula import SequentialTeacher
from teachgym.agents.tscl import CURRICULUM_KINDS, CURRICULUM_NEEDS, num_choices
from teachgym.config import check_choice
from teachgym.errors import UnsupportedError
from teachgym.task import TaskDescription

RULES: tuple[str, ...] = ("designer", "nearest", "farthest")


def class_means(features: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Mean feature vector of each class ``0 .. num_classes - 1``, shape ``(num_classes, D)``."""
    features = np.asarray(features, dtype=np.float64).reshape(len(labels), -1)
    return np.stack([features[labels == k].mean(axis=0) for k in range(num_classes)])


def cosine_distances(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine distances ``1 - cos`` between rows (a zero row is at distance 1 from all)."""
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    distances = 1.0 - unit @ unit.T
    np.fill_diagonal(distances, 0.0)
    return np.clip(distances, 0.0, 2.0)


def designer_order(distances: np.ndarray, rule: str = "designer") -> list[int]:
    """A class order from the inter-class distance matrix (ties go to the lower index).

    Every rule starts with the most central class: the one whose distances to the other classes
    vary least. Then ``"designer"`` teaches the other classes from the most dissimilar to the first
    class to the most similar, so the curriculum ends on classes similar to the first (which rehearses
    its features late and counters its forgetting); ``"nearest"`` chains each next class as the
    remaining one closest to the previous; ``"farthest"`` as the one farthest from it.
    """
    num_classes = len(distances)
    if num_classes == 1:
        return [0]
    off_diagonal = ~np.eye(num_classes, dtype=bool)
    spread = np.array([distances[k][off_diagonal[k]].var() for k in range(num_classes)])
    first = int(np.argmin(spread))
    rest = [k for k in range(num_classes) if k != first]
    if rule == "designer":
        # Stable sort on the negated distance: farthest from the first class first, ties by index.
        return [first, *sorted(rest, key=lambda k: -distances[first, k])]
    order = [first]
    while rest:
        row = distances[order[-1], rest]
        pick = int(np.argmin(row)) if rule == "nearest" else int(np.argmax(row))
        order.append(rest.pop(pick))
    return order


@register(
    "curriculum-designer",
    kinds=CURRICULUM_KINDS,
    needs=CURRICULUM_NEEDS,
    paper="Curriculum Designer of Learning to Learn (Singh et al., ICCV 2023, arXiv 2211.15470)",
    summary="classes ordered by inter-class feature similarity of the training pool; one at a time",
)
class CurriculumDesignerTeacher(SequentialTeacher):
    """Class-incremental teaching in an order designed from inter-class feature similarity.

    The Curriculum Designer (CD) of Singh et al. computes class prototypes (mean feature vectors of a
    pretrained network), an inter-class cosine distance matrix, and ranks class orders with an
    advantage function that favours *starting with a centrally located class* (low variance of its
    distances to the others) and *ending with classes similar to the first one*, to limit forgetting
    of what was learned first. Here the features are the domain's own input features and the
    prototypes are computed from the **training pool only** (the task description's read-only
    ``training_pool``, read once at construction; the teacher never sees validation or test items):
    class ``k`` is sub-task ``k`` (the items' ``skill``). The order comes from :func:`designer_order`
    with ``rule``: ``"designer"`` (default) implements the two stated criteria (central first; then
    from the most dissimilar to the first class to the most similar); ``"nearest"`` and
    ``"farthest"`` are greedy similar-next and dissimilar-next chains, for comparing the direction.
    The paper's exact advantage function was not available to us, so ``"designer"`` follows its
    stated criteria, not its formula.

    The classes are then taught one at a time in that order exactly like ``easy-to-hard``: each until
    its validation score reaches ``threshold`` or it has had ``max_steps_per_task`` steps (0 = an
    equal share of the episode), then ``then`` (``"uniform"`` review of all classes, or ``"stay"``).

    Args:
        rule: ``"designer"`` (default), ``"nearest"`` or ``"farthest"``.
        threshold: float in [0, 1], validation score that counts as mastered (default 0.9).
        max_steps_per_task: int >= 0, step cap per class; 0 = an equal share (default 0).
        then: ``"uniform"`` (default) or ``"stay"``.

    Raises:
        UnsupportedError: the task lends no training pool with features covering every class.
    """

    name = "curriculum-designer"

    def __init__(
        self,
        task: TaskDescription,
        *,
        rule: str = "designer",
        threshold: float = 0.9,
        max_steps_per_task: int = 0,
        then: str = "uniform",
    ) -> None:
        owner = f"teacher {self.name!r}"
        self.rule = check_choice(owner, "rule", rule, RULES)
        super().__init__(task, threshold=threshold, max_steps_per_task=max_steps_per_task, then=then)
        num_classes = num_choices(task, owner)
        pool = task.training_pool
        if pool is None:
            raise UnsupportedError(
                f"{owner} orders classes by the features of the training pool, but {task.env_id} lends "
                "none (its domain has no train_pool())"
            )
        if pool.features is None:
            raise UnsupportedError(
                f"{owner} needs feature vectors, but the training pool of {task.env_id} has none"
            )
        labels = np.asarray(pool.skill).reshape(-1)
        missing = sorted(set(range(num_classes)) - set(labels.tolist()))
        if missing:
            raise UnsupportedError(
                f"{owner} needs training items of every sub-task 0..{num_classes - 1}; the pool has "
                f"none of {missing}"
            )
        self.distances = cosine_distances(class_means(pool.features, labels, num_classes))
        self.designed = designer_order(self.distances, self.rule)

    def order(self, num_tasks: int) -> list[int]:
        return list(self.designed)
