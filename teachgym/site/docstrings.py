"""Read the prose the code already holds: a family's Markdown docstring sections and a settings
dataclass's ``Attributes:`` entries, turned into Markdown for the site."""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

#: ``:class:`~a.b.C``` / ``:data:`a.b.C``` (Sphinx roles in the docstrings) -> ``C`` / ``a.b.C``.
_ROLE = re.compile(r":(?:class|data|func|meth|attr|mod):`(~?)([^`]+)`")
#: An ``Attributes:`` entry: ``name: text`` or ``name, other: text`` at the entries' indentation.
_ENTRY = re.compile(r"^(\w+(?:, \w+)*): (.*)$")


def markdown(text: str) -> str:
    """Docstring text as Markdown: Sphinx roles become code spans (``~`` keeps the last name);
    reStructuredText's double backticks are already Markdown code spans."""

    def code(match: re.Match[str]) -> str:
        target = match.group(2)
        return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"

    return _ROLE.sub(code, text)


def sections(doc: str | None) -> dict[str, str]:
    """The ``## Heading`` sections of a Markdown docstring, in order: heading -> body (Markdown).

    Text before the first heading is kept under ``""``; a docstring without headings is all ``""``.
    """
    found: dict[str, list[str]] = {"": []}
    current = ""
    for line in inspect.cleandoc(doc or "").splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            found[current] = []
        else:
            found[current].append(line)
    bodies = {heading: markdown("\n".join(lines).strip()) for heading, lines in found.items()}
    return {heading: body for heading, body in bodies.items() if body or heading}


def summary(obj: Any) -> str:
    """The first paragraph of ``obj``'s docstring, on one line, as Markdown ("" when it has none)."""
    doc = inspect.getdoc(obj) or ""
    return markdown(" ".join(doc.split("\n\n", 1)[0].split()))


def attribute_docs(cls: type) -> dict[str, str]:
    """Field name -> its meaning, from the ``Attributes:`` sections of ``cls`` and its bases (a
    subclass's entry replaces its base's). An entry ``a, b: text`` documents both fields."""
    meanings: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        meanings.update(_attributes(klass.__dict__.get("__doc__")))
    return meanings


def _attributes(doc: str | None) -> dict[str, str]:
    lines = inspect.cleandoc(doc or "").splitlines()
    if "Attributes:" not in lines:
        return {}
    entries: dict[str, list[str]] = {}
    names: list[str] = []
    indent: int | None = None
    for line in lines[lines.index("Attributes:") + 1 :]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if indent is None:
            indent = depth
        if depth < indent:  # the section ended
            break
        entry = _ENTRY.match(line.strip()) if depth == indent else None
        if entry is not None:
            names = entry.group(1).split(", ")
            for name in names:
                entries[name] = [entry.group(2)]
        else:  # a continuation line of the current entry
            for name in names:
                entries[name].append(line.strip())
    return {name: markdown(" ".join(words)) for name, words in entries.items()}


def field_defaults(cls: type) -> dict[str, Any]:
    """Field name -> default value of the dataclass ``cls`` (a ``default_factory`` is called)."""
    defaults: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = field.default_factory()
    return defaults
