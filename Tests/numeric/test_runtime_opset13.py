"""Older opsets as targets (issue 18): every case of the table at opset 13, the oldest opset the
host accepts. A case either converts to a model that passes the full checker and matches JAX in
ONNX Runtime, or fails with exit 1 and an error that names what opset 13 lacks: the ONNX op and
the first opset that has it, or the primitive and the opsets its lowerings serve. Never a model
ORT cannot run, never an unexplained failure."""

from __future__ import annotations

import re

import pytest

import jax
import onnx

from cases import CASES
from jax2onnx_swift import allclose, to_onnx
from jax2onnx_swift.convert import ConversionError

OPSET = 13
# "emitted X, which does not exist at opset 13 (it starts at opset N ...)" or "X-13 does not accept
# T for input i ('A'), which it accepts from opset N" from the node checker, or the preflight's "P ... (claimed by Pack at opsets N+)" for a primitive served from N on.
CLEAR = re.compile(r"emitted \w+, which does not exist at opset 13 \(it starts at opset \d+|"
                   r"\w+-\d+ does not accept \w+ for input \d+ \('\w+'\), which it accepts from opset \d+|"
                   r"no lowering at opset 13:[\s\S]*claimed by [^)]*opset|"
                   r"every pack declined[\s\S]*needs opset \d+ \(\w+\)")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_at_opset_13_runs_or_names_what_is_missing(case, cli, tmp_path):
    path = tmp_path / f"{case.id}.onnx"
    with jax.enable_x64(case.x64):
        inputs = case.make_inputs()
        try:
            to_onnx(case.fn, inputs, path, opset=OPSET, strict_nan=case.strict_nan,
                    pack_options=dict(case.pack_options) or None, cli=cli)
        except ConversionError as e:
            assert e.returncode == 1, str(e)
            assert CLEAR.search(str(e)), f"unclear failure at opset {OPSET}: {e}"
            assert not path.exists()
            return
        model = onnx.load(str(path))
        assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
        onnx.checker.check_model(model, full_check=True)
        ok, message = allclose(case.fn, path, inputs, rtol=case.rtol, atol=case.atol)
        assert ok, f"{case.id} (opset {OPSET}): {message}"
