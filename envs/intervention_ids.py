"""The Intervention family's registered ids, benchmark tasks, reference and baseline teachers and
pre-registered effects (read by the registry through :mod:`teachgym.envs.intervention`)."""

from __future__ import annotations

from typing import Any

from teachgym.bench.effects import Effect

#: ``SimulatedStudent`` options of the ``Sim`` variant. A wider zone of proximal development than the
#: data-allocation families use (3 logits, not 1): the student is taught through worked explanations
#: of the items it fails, often 1-3 logits beyond it, where unexplained practice would teach
#: nothing. Time runs in items, and ``forgetting_scale`` = 10 makes ten items the time scale of the
#: power law (as in the Tutor family): a trace keeps (1 + t/10)^-0.2 of its gain, 80% after 20 items.
SIM_LEARNER: dict[str, Any] = {"zpd_width": 3.0, "forgetting_scale": 10.0}

#: Variant name -> (version, keyword arguments). One item per step. ``Sim`` holds 60 validation and 60
#: test items per (skill, level) (1440 per split), so that one assessment's sampled answers move its
#: mean accuracy by only about 0.013 (one standard deviation).
VARIANTS: dict[str, tuple[int, dict[str, Any]]] = {
    "Sim": (
        0,
        {
            "domain": "sim",
            "student": "simulated",
            "domain_options": {"num_heldout": 60},
            "student_options": SIM_LEARNER,
            "num_steps": 60,
            "examples_per_step": 1,
        },
    ),
    "Synthetic": (
        0,
        {
            "domain": "synthetic",
            "student": "mlp",
            # An explanation (64 examples) is 2 passes of 4 minibatches: eight small Adam steps. At
            # the MLP's default rate of 0.01 (or 0.005), single-skill steps on this domain's
            # conflicting skills undo more on the other skills than they teach.
            "student_options": {"learning_rate": 0.003, "minibatch_size": 16},
            "num_steps": 60,
            "examples_per_step": 1,
            # A weak student, not a blank one: its confidence means something from the first item.
            "warmup_examples": 128,
            "explain_examples": 64,
        },
    ),
}

#: Teachers whose mean test accuracy is a score of 1: Saha et al.'s oracle intervention.
REFERENCES = ("oracle-utility",)
#: The naive baseline that must beat ``random`` (Saha et al.'s random intervention, the zero anchor):
#: explain where the student looks wrong.
BASELINE = "correct-errors"
#: Benchmark suites: suite -> [(task, variant, keyword overrides)].
SUITES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "quick": [("Intervention-Sim-v0", "Sim", {})],
    "core-v1": [("Intervention-Sim-v0", "Sim", {})],
    "core-v2": [("Intervention-Sim-v0", "Sim", {})],
    "candidates-v2": [("Intervention-Sim-v0", "Sim", {}), ("Intervention-Synthetic-v0", "Synthetic", {})],
    "candidates-v1": [("Intervention-Sim-v0", "Sim", {}), ("Intervention-Synthetic-v0", "Synthetic", {})],
    "core-v0": [("Intervention-Sim-v0", "Sim", {}), ("Intervention-Synthetic-v0", "Synthetic", {})],
}
#: Pre-registered effects: each paper's own contrast, declared as data before it is run; computed
#: by ``teachgym effects DIR`` and reported whatever it shows (teachgym.bench.effects).
EFFECTS: tuple[Effect, ...] = (
    Effect(
        name="expected-utility-beats-random-intervention",
        paper="Saha et al. 2023, Can Language Models Teach Weaker Agents?",
        task="Intervention-Sim-v0",
        teacher="mental-model",
        baseline="random",
        metric="test_accuracy",
        direction=+1,
        seeds=tuple(range(60)),
        note=(
            "Intervening where a mental model of the student expects the most utility beats random "
            "intervention at the same budget."
        ),
    ),
)
