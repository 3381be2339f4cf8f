"""Third-party packs built from nothing but a copy of SDK/: the C example (Makefile, plain cc, a
typed lowering) and the Swift template (`swift build`). They load with --plugins, override and
decline built-in lowerings, verify, install, and the models they produce match JAX."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jax
import numpy as np
import onnx
import pytest

from jax2onnx_swift import allclose, to_onnx
from jax2onnx_swift.convert import ConversionError

REPO = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(8)
# Negative, near-zero and large values: odd powers keep their sign, squares do not.
X = (RNG.standard_normal((4, 5)) * 3).astype(np.float32)
X[0, :3] = [0.0, -1e-3, 40.0]


def run(*cmd, cwd=None, env=None, check=True):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
    if check and r.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}", pytrace=False)
    return r


@pytest.fixture(scope="module")
def sdk(tmp_path_factory) -> Path:
    """A copy of SDK/ alone, in a folder that is not the SDK's usual name."""
    root = tmp_path_factory.mktemp("third-party")
    dest = root / "jax2onnx-sdk"
    shutil.copytree(REPO / "SDK", dest, ignore=shutil.ignore_patterns(".build", "*.so"))
    return dest


@pytest.fixture(scope="module")
def c_pack(sdk) -> Path:
    run("make", cwd=sdk / "Examples" / "c-pack")
    return sdk / "Examples" / "c-pack" / "libexample_pack.so"


@pytest.fixture(scope="module")
def swift_pack(sdk) -> Path:
    """The template copied out of the SDK and renamed, as its Package.swift says to."""
    if shutil.which("swift") is None:
        pytest.skip("the Swift template needs a Swift toolchain")
    dest = sdk.parent / "squares"
    shutil.copytree(sdk / "Templates" / "swift-pack", dest, ignore=shutil.ignore_patterns(".build"))
    (dest / "Sources" / "MyPack").rename(dest / "Sources" / "Squares")
    for f in (dest / "Package.swift", dest / "Sources" / "Squares" / "MyPack.swift"):
        f.write_text(f.read_text().replace("MyPack", "Squares"))
    env = dict(os.environ, JAX2ONNX_SDK=str(sdk))
    run("swift", "build", cwd=dest, env=env)
    return dest / ".build" / "debug" / "libSquares.so"


def variant(sdk: Path, name: str, edit, cflags: str = "") -> Path:
    """The C example with one change, built by its own Makefile in a sibling folder."""
    src = sdk / "Examples" / "c-pack"
    dest = sdk.parent / name
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("*.so"))
    c = dest / "example_pack.c"
    c.write_text(edit(c.read_text()))
    flags = [f"CFLAGS=-O2 -std=c99 -Wall {cflags}"] if cflags else []
    run("make", f"SDK={sdk}", *flags, cwd=dest)
    return dest / "libexample_pack.so"


def packs_in(model_path) -> list[str]:
    m = onnx.load(str(model_path))
    return sorted({p.value for n in m.graph.node for p in n.metadata_props if p.key == "jax2onnx.pack"})


def test_both_packs_verify(cli, c_pack, swift_pack):
    r = run(cli, "plugins", "verify", c_pack, swift_pack)
    assert "integer_pow  priority 10  opsets 13+  emits Mul  typed (x:value, y:int)" in r.stdout
    assert "square  priority 10  opsets 13+  emits Mul" in r.stdout
    assert r.stdout.count("  OK\n") == 2, r.stdout


def test_coverage_shows_the_overrides_as_shadowing(cli, c_pack, swift_pack):
    r = run(cli, "--coverage", "--format", "json", "--plugins", c_pack, "--plugins", swift_pack)
    claims = {p["primitive"]: [c["pack"] for c in p["claims"]] for p in json.loads(r.stdout)["primitives"]}
    # The Complex pack's claim (complex dtypes only) also outranks the built-in one.
    assert claims["integer_pow"] == ["Example@1.1.0", "Complex@0.1.0", "Lax@0.1.0"]
    assert claims["square"] == ["Squares@0.1.0", "Complex@0.1.0", "Lax@0.1.0"]
    table = run(cli, "--coverage", "--plugins", c_pack, "--plugins", swift_pack).stdout
    assert "shadowed: Lax@0.1.0" in table


def test_the_overriding_packs_lower_and_match_jax(cli, c_pack, swift_pack, tmp_path):
    def fn(a):
        return jax.lax.integer_pow(a, 3) + jax.lax.integer_pow(a, 6) * 1e-3 - jax.lax.square(a)

    out = tmp_path / "m.onnx"
    # plugins= takes a list mixing folders and files. Unoptimized, so every node still names the
    # pack that lowered it (the optimizer may merge or fold them).
    to_onnx(fn, [X], out, plugins=[c_pack.parent, swift_pack], optimize=False)
    assert packs_in(out) == ["Example@1.1.0", "Lax@0.1.0", "Squares@0.1.0"]
    ok, msg = allclose(fn, out, [X])
    assert ok, msg


@pytest.mark.parametrize("y", [-3, 0])
def test_a_declined_equation_goes_to_the_next_claimant(cli, c_pack, y, tmp_path):
    x = np.where(np.abs(X) < 0.25, 0.5, X).astype(np.float32)  # no 1/0 for the negative power

    def fn(a):
        return jax.lax.integer_pow(a, y)

    out = tmp_path / "m.onnx"
    to_onnx(fn, [x], out, plugins=[c_pack], optimize=False)
    assert packs_in(out) == ["Lax@0.1.0"]
    ok, msg = allclose(fn, out, [x])
    assert ok, msg


def test_a_pack_option_chooses_the_lowering(cli, c_pack, tmp_path):
    """The C example's max_exponent option (ABI 1.4): exponents above it go to the next claimant.
    A misspelt option or a value of the wrong kind is a usage error naming what the pack accepts."""
    from jax2onnx_swift import save_bundle

    def fn(a):
        return jax.lax.integer_pow(a, 3) - jax.lax.integer_pow(a, 6) * 1e-3

    bundle = tmp_path / "m.jaxpr"
    save_bundle(fn, [X], str(bundle))
    lowered_by = {}
    for limit in ("64", "4"):
        out = tmp_path / f"m{limit}.onnx"
        run(cli, "convert", bundle, "-o", out, "--no-optimize", "--plugins", c_pack,
            "--pack-option", f"Example.max_exponent={limit}")
        lowered_by[limit] = packs_in(out)
        import onnxruntime as ort
        sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        (got,) = sess.run(None, {sess.get_inputs()[0].name: X})
        np.testing.assert_allclose(got, np.asarray(fn(X)), rtol=1e-5, atol=1e-5)
    assert lowered_by["64"] == ["Example@1.1.0", "Lax@0.1.0"] and lowered_by["4"] == ["Example@1.1.0", "Lax@0.1.0"]
    m64, m4 = (onnx.load(str(tmp_path / f"m{k}.onnx")) for k in ("64", "4"))
    def pow_nodes(m):  # Mul nodes the example pack emitted
        return sum(1 for n in m.graph.node if n.op_type == "Mul"
                   and any(p.key == "jax2onnx.pack" and p.value.startswith("Example") for p in n.metadata_props))
    assert pow_nodes(m64) > pow_nodes(m4) > 0   # with the limit 4, x**6 left the pack
    bad = run(cli, "convert", bundle, "-o", tmp_path / "bad.onnx", "--plugins", c_pack,
              "--pack-option", "Example.max_exp=4", check=False)
    assert bad.returncode == 2 and "pack 'Example' has no option 'max_exp'; its options: max_exponent (int)" in bad.stderr
    bad = run(cli, "convert", bundle, "-o", tmp_path / "bad.onnx", "--plugins", c_pack,
              "--pack-option", "Example.max_exponent=many", check=False)
    assert bad.returncode == 2 and "option Example.max_exponent takes an int, not 'many'" in bad.stderr
    listed = json.loads(run(cli, "--coverage", "--format", "json", "--plugins", c_pack).stdout)
    example = next(p for p in listed["packs"] if p["name"] == "Example")
    assert example["options"] == [{"name": "max_exponent", "kind": "int", "default": "64",
                                   "help": "largest exponent lowered as a Mul chain; larger ones go to the next claimant"}]


def test_a_mismatched_typed_signature_is_refused(cli, sdk, tmp_path):
    # The typed lowering names its exponent param `exponent`, but JAX calls it `y`; the macro keeps
    # prototype and signature in step, so the rename reaches both and only the host can notice.
    bad = variant(sdk, "renamed-param", lambda s: s, cflags="-Dy=exponent")
    with pytest.raises(ConversionError) as e:
        to_onnx(lambda a: jax.lax.integer_pow(a, 3), [X], tmp_path / "m.onnx", plugins=[bad])
    msg = str(e.value)
    assert "pack Example@1.1.0" in msg
    assert ("its typed signature (x:value, exponent:int) for 'integer_pow' does not match the equation: "
            "the equation has no param 'exponent' (it has y)") in msg
    assert not (tmp_path / "m.onnx").exists()


def test_verify_catches_an_unknown_op_and_a_crash_on_load(cli, sdk):
    unknown = variant(sdk, "unknown-op", lambda s: s.replace('{"Mul", NULL}', '{"Multiply", NULL}'))
    r = run(cli, "plugins", "verify", unknown, check=False)
    assert r.returncode == 1
    assert "problem: claim 'integer_pow' lists ONNX op 'Multiply', which does not exist in any ONNX opset" in r.stdout

    crash = variant(sdk, "crashes", lambda s: s + "\n#include <stdlib.h>\n"
                    "__attribute__((constructor)) static void crash_on_load(void) { abort(); }\n")
    r = run(cli, "plugins", "verify", crash, check=False)
    assert r.returncode == 1
    # One line naming the pack's path, what happened and when (the host does not go on after it).
    assert f"pack at {crash} aborted (SIGABRT) while loading" in r.stdout


def test_install_puts_the_pack_on_the_search_path(cli, c_pack, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    r = run(cli, "plugins", "install", c_pack)
    assert "installed Example@1.1.0" in r.stdout
    assert (tmp_path / "data" / "jax2onnx" / "packs" / "libexample_pack.so").is_file()
    assert "shadowed: Lax@0.1.0" in run(cli, "--coverage").stdout

    def fn(a):
        return jax.lax.integer_pow(a, 5)

    out = tmp_path / "m.onnx"
    to_onnx(fn, [X], out)  # no plugins=: the installed pack is found on its own
    assert packs_in(out) == ["Example@1.1.0"]
    ok, msg = allclose(fn, out, [X])
    assert ok, msg


def test_typed_lowerings_receive_int_bool_and_list_params(cli, tmp_path):
    """Each typed kind reaches the C function through libffi with the equation's values."""
    pack = tmp_path / "libtyped_kinds.so"
    run("cc", "-shared", "-fPIC", "-std=c99", "-Wall", "-Werror", "-I", REPO / "SDK" / "PluginABI" / "include",
        "-o", pack, REPO / "Tests" / "HostTests" / "Fixtures" / "typed_kinds.c")
    x = RNG.standard_normal((3, 4, 5)).astype(np.float32)

    def fn(a):
        return (jax.numpy.sum(a, axis=(0, 2)), jax.lax.cumsum(a, axis=1), jax.lax.cumsum(a, axis=2, reverse=True))

    out = tmp_path / "m.onnx"
    to_onnx(fn, [x], out, plugins=[pack])
    assert packs_in(out) == ["TypedKinds@1.0.0"]
    ok, msg = allclose(fn, out, [x])
    assert ok, msg
