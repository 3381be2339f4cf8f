"""The numeric suite's table of cases, gathered from every `cases_*.py` beside this file.

Each theme module defines `CASES` (a list of `casekit.case(...)` rows: a JAX function, its inputs,
tolerances and the primitives it exists to exercise) and `REQUIRED` (the primitives it promises to
cover). A new theme is a new file; nothing here changes.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from casekit import Case, missing_primitives  # noqa: F401  (re-exported for the tests)

_modules = [importlib.import_module(p.stem) for p in sorted(Path(__file__).parent.glob("cases_*.py"))]

CASES: list[Case] = [c for m in _modules for c in m.CASES]
REQUIRED: list[str] = [p for m in _modules for p in getattr(m, "REQUIRED", [])]
