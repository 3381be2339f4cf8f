"""Differences the oracle accepts because JAX leaves the result to the platform. Each rule says
why; docs/difftest.md lists them. A rule only fires when the differing elements are exactly the
ones the rule is about: everything else in the output must still match."""

from __future__ import annotations

import numpy as np

# (name, reason) pairs; a rule function returns True when it explains the whole difference
RULES = []


def rule(reason):
    def wrap(fn):
        RULES.append((fn.__name__, reason, fn))
        return fn
    return wrap


def accepted_difference(p, k, got, want):
    """A reason string when a documented platform-defined rule explains the difference."""
    for name, reason, fn in RULES:
        if fn(p, k, got, want):
            return f"{name}: {reason}"
    return None
