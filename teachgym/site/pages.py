"""The generated pages: one per family, in the shape Gymnasium documents its environments, a list of
the environments, and a list of the teachers.

Everything a page states is read from the code: the registered ids and their settings, the spaces and
parts of the env each id builds (:mod:`teachgym.site.facts`), the family's settings dataclass (its
fields, defaults and ``Attributes:`` docstring), the teacher registry, and the family's own Markdown
docstring for the prose (its ``## Description``, ``## Action Space`` ... ``## Version History``
sections, as Gymnasium's env classes carry them). A new family, id or teacher gets its page and its
rows with no edit here.
"""

from __future__ import annotations

from collections.abc import Iterable

import teachgym.envs as envs
from teachgym.cli_tables import agent_rows, env_rows
from teachgym.errors import SiteBuildError
from teachgym.site.docstrings import attribute_docs, field_defaults, sections, summary
from teachgym.site.facts import IdFacts, family_ids, family_module, id_facts, teachers_of, version_changes
from teachgym.site.markdown import anchor, code, keyword_arguments, table

#: Sections every family docstring has: Gymnasium's, and the papers to cite.
REQUIRED_SECTIONS = (
    "Description",
    "Action Space",
    "Observation Space",
    "Rewards",
    "Starting State",
    "Episode End",
    "Arguments",
    "References",
    "Version History",
)
#: Docstring sections the page places itself (the others follow "Episode End" in docstring order).
_PLACED = ("Description", "Why It Matters", "Arguments", "References", "Version History")
#: The suite whose ids the pages' examples prefer: the README's main job, the calibrated tasks.
EXAMPLE_SUITE = "quick"
#: The env's own keyword argument beyond the family's settings (``TeachingEnv.__init__``).
_RENDER_MODE = ("render_mode", "None", '`None` or `"ansi"` (a text rendering of the profile per step).')


def family_sections(family: str) -> dict[str, str]:
    """The Markdown sections of ``family``'s docstring, refusing one that lacks a required section."""
    found = sections(envs.family_class(family).FAMILY.__doc__)
    missing = [heading for heading in REQUIRED_SECTIONS if heading not in found]
    if missing:
        rules = envs.family_class(family).FAMILY
        raise SiteBuildError(
            f"family {family!r}: the docstring of {rules.__module__}.{rules.__name__} lacks the sections "
            f"{missing}; expected '## ' sections {list(REQUIRED_SECTIONS)}"
        )
    return found


def family_page(family: str) -> str:
    """The Markdown page of ``family`` (``envs/<family>.md``)."""
    text = family_sections(family)
    ids = [id_facts(env_id) for env_id in family_ids(family)]
    parts = [f"# {family}", family_summary(family), _overview(family, ids)]
    parts += ["## Description", text["Description"]]
    if "Why It Matters" in text:
        parts += ["### Why it matters", text["Why It Matters"]]
    parts += ["## Registered ids", *(_id_section(facts) for facts in ids)]
    for heading, body in text.items():
        if heading and heading not in _PLACED:
            parts += [f"## {heading}", body]
    parts += ["## Arguments", text["Arguments"], _arguments(family)]
    parts += ["## Teachers", _teachers(family, ids)]
    parts += ["## References", text["References"]]
    parts += ["## Version History", text["Version History"], _versions(family)]
    return "\n\n".join(part for part in parts if part) + "\n"


def family_summary(family: str) -> str:
    """The first paragraph of the family module's docstring, without its leading ``"<Family>: "``."""
    text = summary(family_module(family)).removeprefix(f"{family}: ")
    return text[:1].upper() + text[1:]


def _overview(family: str, ids: list[IdFacts]) -> str:
    env_class = envs.family_class(family)
    hidden = "hidden (a POMDP: no profile in the observation)"
    rows = [
        ["Action kind", code(env_class.action_kind)],
        ["Student's state", "observed (the validation profile)" if env_class.reveals_profile else hidden],
        ["Env class", code(f"{env_class.__module__}.{env_class.__name__}")],
        ["Ids", ", ".join(f"[{code(f.env_id)}](#{anchor(f.env_id)})" for f in ids)],
        ["Make", code(f'gymnasium.make("{_newest(ids).env_id}")')],
    ]
    return table(["family", family], rows)


def _newest(ids: list[IdFacts]) -> IdFacts:
    """The id the page's examples use: the latest version of a variant, preferably one in the
    :data:`EXAMPLE_SUITE` (the tasks a new user runs first)."""
    latest = [f for f in ids if f.latest] or ids
    return next((f for f in latest if any(suite == EXAMPLE_SUITE for suite, _ in f.suites)), latest[0])


def _id_section(facts: IdFacts) -> str:
    skills = ", ".join(code(name) for name in facts.skills)
    levels = "level" if facts.num_levels == 1 else "levels"
    reference = code(facts.reference) if facts.reference else "none (no reference teacher builds here)"
    if len(facts.references) > 1:
        reference += f" (the first of {', '.join(code(name) for name in facts.references)} that builds here)"
    if facts.latest:
        status = "latest version of its variant"
    else:
        newest = envs.VARIANTS[facts.family][facts.variant][0]
        status = f"superseded by v{newest}, still registered (results made with it stay reproducible)"
    tasks = ", ".join(f"{code(task)} in {code(suite)}" for suite, task in facts.suites) or "none"
    rows = [
        ["Taught", f"{len(facts.skills)} skills x {facts.num_levels} {levels}: {skills}"],
        ["Domain", f"{code(facts.domain.name)}: {code(facts.domain.cls)}, {facts.domain.summary}"],
        ["Student", f"{code(facts.student.name)}: {code(facts.student.cls)}, {facts.student.summary}"],
        ["Engine", f"{code(facts.engine.name)}: {code(facts.engine.cls)}, {facts.engine.summary}"],
        ["Budget", facts.budget],
        ["Registered with", keyword_arguments(facts.kwargs)],
        ["Action space", code(facts.action_space)],
        ["Benchmark tasks", tasks],
        ["Score anchors", f"0 = {code('random')}, 1 = {reference}"],
        ["Naive baseline", code(facts.baseline)],
        ["Status", status],
    ]
    spaces = [
        [code(key) if key else "(the whole observation)", code(space)]
        for key, space in facts.observation_space.items()
    ]
    observation = table(["observation key", "space"], spaces)
    heading = f"### {facts.env_id}"
    make = f'```python\nenv = gymnasium.make("{facts.env_id}")\n```'
    return "\n\n".join([heading, make, table(["setting", "value"], rows), observation])


def _arguments(family: str) -> str:
    """The family's settings: every field of its config dataclass with its default and meaning."""
    config_class = envs.family_class(family).FAMILY.config_class
    meanings = attribute_docs(config_class)
    rows = [
        [code(name), code(repr(default)), meanings.get(name, "")]
        for name, default in field_defaults(config_class).items()
    ]
    rows.append([code(_RENDER_MODE[0]), code(_RENDER_MODE[1]), _RENDER_MODE[2]])
    owner = code(f"{config_class.__module__}.{config_class.__name__}")
    lead = f"Keyword arguments of `gymnasium.make`, with the family's defaults (read from {owner}):"
    return lead + "\n\n" + table(["argument", "default", "meaning"], rows)


def _teachers(family: str, ids: list[IdFacts]) -> str:
    """The registered teachers that act on the family, with the paper each follows."""
    roles: dict[str, list[str]] = {}
    for facts in ids:
        if facts.reference:
            roles.setdefault(facts.reference, []).append(f"reference (score 1) of {code(facts.env_id)}")
        roles.setdefault(facts.baseline, []).append(f"naive baseline of {code(facts.env_id)}")
    rows = []
    for teacher in teachers_of(family):
        notes = ["upper reference, never ranked"] if teacher.reference else []
        if teacher.privileged:
            notes.append("reads hidden state: " + ", ".join(code(f) for f in teacher.privileged))
        notes += _merged(roles.get(teacher.name, []), every=[code(f.env_id) for f in ids])
        rows.append([code(teacher.name), teacher.paper, teacher.summary, "; ".join(notes)])
    newest = _newest(ids).env_id
    lead = (
        f"Teachers from the registry that act on this family (by its action kind "
        f"{code(envs.family_class(family).action_kind)} and observation keys). Run one with "
        f"{code(f'teachgym run {newest} --agent NAME')}; the "
        "[tutorial](../tutorial.md) writes one of your own."
    )
    return lead + "\n\n" + table(["teacher", "follows", "what it does", "role"], rows)


def _merged(roles: Iterable[str], every: list[str]) -> list[str]:
    """``["reference of `a`", "reference of `b`"]`` -> ``["reference of `a`, `b`"]``, and
    ``"... of every id"`` where the subjects are all of ``every``."""
    grouped: dict[str, list[str]] = {}
    for role in roles:
        kind, _, subject = role.partition(" of ")
        grouped.setdefault(kind, []).append(subject)
    return [
        f"{kind} of {'every id' if len(every) > 1 and subjects == every else ', '.join(subjects)}"
        for kind, subjects in grouped.items()
    ]


def _versions(family: str) -> str:
    """Each variant's registered versions and the keyword arguments each version changed."""
    lines = []
    for variant, versions in version_changes(family).items():
        for version, changed in versions:
            name = code(envs.env_id(family, variant, version))
            if not changed:
                first = version == versions[0][0]
                lines.append(f"- {name}: {'first version' if first else 'the same keyword arguments'}")
                continue
            diffs = ", ".join(f"{code(k)} {before!r} → {after!r}" for k, (before, after) in changed.items())
            lines.append(f"- {name}: {diffs}")
    lead = "Registered versions, read from the family's `VARIANTS` table (what each version changed):"
    return lead + "\n\n" + "\n".join(lines)


def family_link(family: str) -> str:
    """A Markdown link to ``family``'s page from a page at the site's root."""
    return f"[{family}](envs/{family}.md)"


def envs_page() -> str:
    """``envs/index.md``: every family with its summary, and every registered id."""
    families = [[f"[{family}]({family}.md)", family_summary(family)] for family in envs.FAMILIES]
    # Each id links to its section of its family's page (the family is in the id).
    columns = ("domain", "student", "engine", "budget")
    rows = [
        [f"[{code(r['id'])}]({r['family']}.md#{anchor(r['id'])})", *(r[key] for key in columns)]
        for r in env_rows()
    ]
    header = ["id", *columns]
    return (
        "\n\n".join(
            [
                "# Environments",
                "Every family and every registered id, read from the Gymnasium registry. Each family's page "
                "describes it as Gymnasium documents its environments: spaces printed from the env, "
                "reward, start, end, arguments, the teachers that fit, the papers to cite, and versions.",
                table(["family", "summary"], families),
                "## Registered ids",
                table(header, rows),
            ]
        )
        + "\n"
    )


def teachers_page() -> str:
    """``teachers.md``: every registered teacher, the families it acts on, and its paper."""
    rows = []
    for row in agent_rows():
        families = [family_link(name) for name in row["families"].split(", ") if name]
        rows.append([code(row["name"]), ", ".join(families), row["follows"], row["what it does"]])
    lead = (
        "Every registered teacher (`teachgym agents`), read from `teachgym.agents`. A teacher acts on "
        "every family whose action kind it handles and whose observation has the keys it needs. "
        "Yours need not be registered: see [Write your first teacher](tutorial.md)."
    )
    body = table(["teacher", "families", "follows", "what it does"], rows)
    return "\n\n".join(["# Teachers", lead, body]) + "\n"
