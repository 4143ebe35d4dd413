"""Domains: generators and graders of examples per (skill, level).

To add a domain, write a class with the :class:`~teachgym.domains.base.Domain` protocol in this
folder and add its name to :data:`DOMAINS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from teachgym.domains.base import Domain, Items, grade_exact
from teachgym.registry_utils import call_checked, load, lookup

#: Domain name -> ``"module:Class"``; the class takes only keyword options.
DOMAINS: dict[str, str] = {
    "sim": "teachgym.domains.latent:LatentDomain",
    "digits": "teachgym.domains.digits:DigitsDomain",
    "synthetic": "teachgym.domains.synthetic:SyntheticDomain",
    "permuted-digits": "teachgym.domains.permuted:PermutedDigitsDomain",
    "addition": "teachgym.domains.addition:AdditionDomain",
    "arithmetic-text": "teachgym.domains.arithmetic_text:ArithmeticTextDomain",
}


def make_domain(name: str, options: Mapping[str, Any] | None = None) -> Domain:
    """The domain registered as ``name``, built with keyword ``options``."""
    cls = load(lookup(DOMAINS, name, "domain"))
    domain: Domain = call_checked(cls, options or {}, f"domain {name!r}")
    return domain


__all__ = ["DOMAINS", "Domain", "Items", "grade_exact", "make_domain"]
