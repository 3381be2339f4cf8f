"""The differential tester's oracle accepts a difference only with a cause it can show (docs/
difftest.md): a rerun under XLA's denormal mode, an edit of the inputs a platform-defined
explanation is about, or the spread of JAX's own answer under last-bit jitter. Each explanation
is tested here on a program that needs it, and against a model that is really wrong, which it
must not excuse."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Tests/, for `import difftest`

from difftest import conditioning, ftz, oracle  # noqa: E402
from difftest.program import Program  # noqa: E402


def program(body, args, inputs, outputs, rounded=(), special=False):
    return Program(seed=0, x64=False, args=args, inputs=inputs, body=body, outputs=outputs,
                   chains={o: 2 for o in outputs}, rounded=set(rounded), special=special)


@pytest.fixture
def broken_runtime(monkeypatch):
    """ONNX Runtime's answers shifted by 1 % (and by 1 for zeros): a model that is wrong."""
    real = oracle.run_ort

    def wrong(path, inputs, ftz=False):
        outs, err = real(path, inputs, ftz=ftz)
        if outs is None:
            return outs, err
        return [o * np.asarray(1.01, o.dtype) + np.asarray(1, o.dtype) if o.dtype.kind == "f" else o
                for o in outs], err
    monkeypatch.setattr(oracle, "run_ort", wrong)


def conv_nan_weight_in_padding():
    # the second tap of output channel 1 only ever meets padding: XLA skips it (0), Conv
    # multiplies 0 by NaN
    rng = np.random.default_rng(3)
    w = rng.standard_normal((2, 1, 4)).astype(np.float32)
    w[1, 0, 1] = np.nan
    return program(["v = lax.conv_general_dilated(x, w, (2,), ((1, 1),), (1,), (2,), ('NCH', 'HIO', 'HCN'), "
                    "feature_group_count=2)"], ["x", "w"],
                   [rng.standard_normal((1, 2, 1)).astype(np.float32), w], ["v"])


@pytest.mark.skipif(not ftz.available, reason="flush-to-zero needs x86-64")
def test_flush_to_zero_mode_flushes_and_is_restored():
    tiny = np.float32(1e-44)
    with ftz.flush_to_zero():
        assert tiny * np.float32(1) == 0
    assert tiny * np.float32(1) == tiny


@pytest.mark.skipif(not ftz.available, reason="flush-to-zero needs x86-64")
def test_denormal_intermediate_is_accepted_under_ftz(cli, tmp_path):
    # nextafter(0, 1) is the smallest denormal; XLA flushes it, so lgamma sees 0 (inf) where ONNX
    # Runtime sees 1.4e-45 (103.3)
    p = program(["v = lax.lgamma(lax.nextafter(x, y))"], ["x", "y"],
                [np.array([0.0, 2.5, -0.5], np.float32), np.array([1.0, 3.0, 1.0], np.float32)], ["v"],
                rounded=["v"], special=True)
    o = oracle.check(p, cli, workdir=str(tmp_path), modes=("opt",))
    assert o.cls == "pass", o.detail
    assert any("FTZ/DAZ" in a for a in o.accepted), o.accepted


def digamma_near_pole():
    # erf(x) for x in [-2.6, -2.4] is -1 + 2e-4: one ulp of erf is a relative 3e-4 of digamma's
    # argument's distance to the pole at -1
    x = np.linspace(-2.6, -2.4, 16).astype(np.float32)
    return program(["e = lax.erf(x)", "v = lax.digamma(e)"], ["x"], [x], ["v"], rounded=["e", "v"], special=True)


def test_jitter_measures_the_condition_of_a_program():
    p = digamma_near_pole()
    want, _ = oracle.run_jax(p)
    (near_pole,) = conditioning.spread(p, want)
    assert (near_pole / np.abs(want[0]) > 1e-5).any()  # amplified far beyond 4 ulps
    q = program(["v = lax.exp(x)"], ["x"], [np.linspace(-3, 3, 16).astype(np.float32)], ["v"], rounded=["v"])
    want, _ = oracle.run_jax(q)
    (calm,) = conditioning.spread(q, want)
    assert (calm / np.abs(want[0]) < 1e-5).all()


def test_ill_conditioned_difference_is_accepted_and_a_real_error_is_not():
    p = digamma_near_pole()
    want, _ = oracle.run_jax(p)
    (width,) = conditioning.spread(p, want)
    k = int(np.argmax(width))
    nearby = want[0].copy()
    nearby[k] += np.float32(width[k])  # as far off as one jittered rerun
    problems = [oracle.compare(p, 0, nearby, want[0])]
    assert oracle.conditioning_explains(p, [nearby], want, problems)
    wrong = want[0] * np.float32(1.01)
    problems = [oracle.compare(p, 0, wrong, want[0])]
    assert problems[0] and oracle.conditioning_explains(p, [wrong], want, problems) is None


def atan2_of_folded_zeros():
    # atan2(0, 0) from constants: XLA's constant folder gives NaN, its kernel (and ONNX) 0
    return program(["z = lax.broadcasted_iota(jnp.float32, (4,), 0)",
                    "v = lax.atan2(lax.reduce_precision(z, exponent_bits=8, mantissa_bits=3), z) + x"],
                   ["x"], [np.array([0.5, -1.5, 2.0, 3.25], np.float32)], ["v"])


def conv_nan_constant_in_padding():
    # as conv_nan_weight_in_padding, with the NaN in a constant of the program
    from difftest.program import input_source
    p = conv_nan_weight_in_padding()
    x, w = p.inputs
    return program([f"w = jnp.asarray({input_source(w)})"] + p.body, ["x"], [x], ["v"])


def test_explanations_compose_when_none_is_enough_alone(cli, tmp_path):
    # a denormal input (atan2 of two denormals is NaN in XLA, of two zeros 0; FTZ/DAZ does not
    # reproduce that) and a NaN constant meeting a conv's padding: the input flush alone leaves
    # the conv, the constant edit alone leaves the atan2
    p = conv_nan_constant_in_padding()
    x = p.inputs[0].copy()
    y = np.array([1e-40, 2.0, -3.0], np.float32)
    q = program(p.body + ["u = lax.atan2(y, y)"], ["x", "y"], [x, y], ["v", "u"])
    o = oracle.check(q, cli, workdir=str(tmp_path), modes=("opt",))
    assert o.cls == "pass", o.detail
    assert any(a.startswith("conv_nonfinite_constant_at_implicit_zeros + ") and "denormal_inputs" in a
               for a in o.accepted), o.accepted


def test_composed_explanations_do_not_excuse_a_wrong_model(cli, tmp_path, broken_runtime):
    p = conv_nan_constant_in_padding()
    q = program(p.body + ["u = lax.atan2(y, y)"], ["x", "y"],
                [p.inputs[0], np.array([1e-40, 2.0, -3.0], np.float32)], ["v", "u"])
    o = oracle.check(q, cli, workdir=str(tmp_path), modes=("opt",))
    assert o.cls == "mismatch", (o.cls, o.accepted)


def igamma_of_zero_at_one():
    # a = 0 made inside the program, x = i0e(0): 1.0000001 in XLA, 0.99999994 here; XLA's igamma
    # with a = 0 is NaN below x = 1 and 1 from there on (seed 1065 of --seed 1)
    z = "lax.mul(x, np.float32(0))"
    return program([f"v = lax.igamma({z}, lax.bessel_i0e(lax.erf_inv({z})))"], ["x"],
                   [np.array([0.5, -1.5, 2.0], np.float32)], ["v"], special=True)


def test_a_widened_value_is_held_to_the_tolerance_of_what_it_carries():
    # an f32 result converted to f64 carries f32's rounding (seeds 1196, 1240 of --seed 1): its
    # output is compared at f32's tolerance, a value computed in f64 throughout at f64's
    import jax
    from difftest.generate import Gen, V
    g = Gen(np.random.default_rng(0), True, {})
    with jax.enable_x64(True):
        [y] = g.add("lax.exp(a0)", [V("a0", (3,), "f32", True, 0)], exact=False)
        [z] = g.add(f"lax.convert_element_type({y.name}, jnp.float64)", [y], exact=True)
        [w] = g.add("lax.exp(a1)", [V("a1", (3,), "f64", True, 0)], exact=False)
    assert (y.carry, z.carry, w.carry) == (None, "f32", None)
    p = program(["pass"], ["a0"], [np.zeros(3, np.float32)], [z.name, w.name])
    p = p.with_(carries={z.name: "f32"})
    assert oracle.tolerance(p, z.name, "f64") >= oracle.ULP["f32"]
    assert oracle.tolerance(p, w.name, "f64") < oracle.ULP["f32"] / 1000


# Each explanation the oracle accepts, with a program it explains: accepted on a sound model,
# no excuse for a wrong one.
EXPLAINED = [(conv_nan_weight_in_padding, "conv_nonfinite_at_implicit_zeros"),
             (atan2_of_folded_zeros, "folds_constants"),
             (conv_nan_constant_in_padding, "conv_nonfinite_constant_at_implicit_zeros"),
             (igamma_of_zero_at_one, "igamma_of_zero")]


@pytest.mark.parametrize("make, reason", EXPLAINED, ids=[r for _, r in EXPLAINED])
def test_explained_difference_is_accepted_with_its_reason(cli, tmp_path, make, reason):
    o = oracle.check(make(), cli, workdir=str(tmp_path), modes=("opt",))
    assert o.cls == "pass", o.detail
    assert any(a.startswith(reason) for a in o.accepted), o.accepted


@pytest.mark.parametrize("make, reason", EXPLAINED, ids=[r for _, r in EXPLAINED])
def test_explanation_does_not_excuse_a_wrong_model(cli, tmp_path, broken_runtime, make, reason):
    o = oracle.check(make(), cli, workdir=str(tmp_path), modes=("opt",))
    assert o.cls == "mismatch", (o.cls, o.accepted)
