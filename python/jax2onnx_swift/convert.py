"""Driving the Swift CLI: find it, hand it a bundle, report its errors."""

from __future__ import annotations

import contextlib
import os
import shutil
import secrets
import subprocess
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .bundle import save_bundle
from .functions import module_scopes

BUILD_HINT = "build it with `swift build -c release` in the repo and/or set JAX2ONNX_CLI"
# Where the wheel puts the CLI, its packs and the Swift runtime libraries.
BUNDLED = Path(__file__).resolve().parent / "_bin"


class ConversionError(RuntimeError):
    """The CLI exited non-zero. `stderr` holds its messages, `returncode` its exit code
    (1: the model could not be converted, 2: usage or I/O error)."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr: str = "",
                 cmd: list[str] | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr
        self.cmd = cmd


# What the last to_onnx call spent, in seconds: "trace", "write" (the bundle and its data file),
# "host" (the CLI) and "total". Benchmarks/conversion reads it.
last_timings: dict[str, float] = {}


def sidecar_temp_path(model_path: str) -> str:
    """Where to_onnx writes the weights for model_path: `.NAME.<16 hex>.data.tmp-PID-<16 hex>`
    beside it. The host's `--data-in-place` renames it to `NAME.<16 hex>.data` when the model
    is committed (a fresh name, so no model ever reads weights written for another); the PID
    lets a later run remove what a killed run left (as the host does for its own temporaries)."""
    folder, base = os.path.split(os.path.abspath(model_path))
    return os.path.join(folder, f".{base}.{secrets.token_hex(8)}.data.tmp-{os.getpid()}-{secrets.token_hex(8)}")


def _remove(path: str | None) -> None:
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:  # the host renamed it into place, or it was never created
            pass


class CLINotFoundError(FileNotFoundError):
    """No jax2onnx Swift binary could be found."""


def _repo_root() -> Path | None:
    """The checkout this package was loaded from (python/ lives at its top), if any."""
    here = Path(__file__).resolve().parent
    if here.parent.name == "python" and here.parent.parent.is_dir():
        return here.parent.parent
    return None


def _is_ours(exe: str) -> bool:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "jax2onnx-swift" in (out.stdout + out.stderr)


def find_cli(cli: str | os.PathLike | None = None) -> str:
    """Path of the jax2onnx Swift CLI.

    Looks at, in order: the explicit `cli`; $JAX2ONNX_CLI; the CLI installed with this package
    (pip install ./python builds it); <repo>/.build/release/jax2onnx and
    <repo>/.build/debug/jax2onnx when this package sits in the repo's python/ folder; `jax2onnx`
    on PATH, but only if `--version` says it is jax2onnx-swift (the PyPI jax2onnx installs a
    different command of the same name).
    """
    for origin, value in (("cli argument", cli), ("JAX2ONNX_CLI", os.environ.get("JAX2ONNX_CLI"))):
        if value:
            path = Path(value)
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
            raise CLINotFoundError(f"jax2onnx CLI from {origin} ({value}) is not an executable "
                                   f"file: {BUILD_HINT}")
    bundled = BUNDLED / "jax2onnx"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return str(bundled)
    repo = _repo_root()
    if repo is not None:
        for config in ("release", "debug"):
            path = repo / ".build" / config / "jax2onnx"
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    on_path = shutil.which("jax2onnx")
    if on_path and _is_ours(on_path):
        return on_path
    raise CLINotFoundError(f"jax2onnx Swift CLI not found: {BUILD_HINT}")


RETURN_MODES = ("proto", "file", "ir")
EXPORT_MODES = ("standard", "web")
# Our optimizer is where native normalization ops come from (it fuses the decomposed mean /
# variance graphs into LayerNormalization, RMSNormalization); without it the graph stays decomposed.
NORMALIZATION_MODES = {"auto": True, "prefer_native": True, "force_decomposed": False}


@contextlib.contextmanager
def _x64(enabled: bool):
    """Traces under jax_enable_x64 and puts the user's setting back afterwards."""
    if not enabled:
        yield
        return
    import jax
    before = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


def _pack_option_args(pack_options) -> list[str]:
    """{"Pack.name": v} or {"Pack": {"name": v}} -> --pack-option Pack.name=v ..."""
    out = []
    for key, value in (pack_options or {}).items():
        items = ([(f"{key}.{k}", v) for k, v in value.items()] if isinstance(value, dict)
                 else [(str(key), value)])
        for name, v in items:
            if "." not in name:
                raise ValueError(f"pack_options: {name!r} is not Pack.option (or a dict per pack)")
            text = ("true" if v else "false") if isinstance(v, bool) else str(v)
            out += ["--pack-option", f"{name}={text}"]
    return out


def _check_choice(what: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def to_onnx(fn, inputs, input_params=None, model_name=None, opset: int = 23, *,
            enable_double_precision: bool = False, record_primitive_calls_file=None,
            return_mode: str = "proto", output_path=None, inputs_as_nchw=None,
            outputs_as_nchw=None, input_names=None, output_names=None,
            export_mode: str = "standard", normalization_mode: str = "auto",
            plugins=None, optimize: bool | None = None, strict_nan: bool = False,
            pack_options=None, cli=None, web: bool | None = None,
            functions: str = "decorated", target: str | None = None, check_runtime: bool = False):
    """Converts fn, traced on inputs, to ONNX with the Swift CLI; jax2onnx 0.17's signature.

    inputs: one entry per positional argument (arrays of any dtype, ShapeDtypeStruct /
    ShapedArray with int, string or symbolic dims, objects with .shape and .dtype, shape tuples
    with string dims, pytrees of those; see inputs.py). input_params: name -> value, passed to
    fn as keywords and made named graph inputs after the positional ones (see trace.py).

    return_mode: "proto" (default) returns an onnx.ModelProto, "file" returns output_path,
    "ir" an onnx_ir.Model. output_path, when given, is written in every mode. The older form
    to_onnx(fn, inputs, "out.onnx") writes the file and returns its path.

    opset, model_name (default: the function's or module's name), input_names (positional
    inputs; params keep their keys), output_names, export_mode ("web": one self-contained file),
    inputs_as_nchw / outputs_as_nchw (indices of rank-4 inputs/outputs whose model side is NCHW
    while the program is NHWC), enable_double_precision (trace under x64; shape tuples become
    float64; the global setting is restored), record_primitive_calls_file (one line per
    equation: index, depth, primitive, params, source line, pack), normalization_mode
    ("auto"/"prefer_native": the optimizer fuses native normalization ops; "force_decomposed":
    no optimizer). Ours: plugins (pack folders), optimize, strict_nan, pack_options
    ({"Pack.option": value}), cli (path of the CLI), functions ("decorated": onnx_function calls
    become ONNX local functions; "auto": every module too; "none": a flat graph; see
    docs/functions.md), target (the runtime the model must run in: "ort-cpu", the default,
    "ort-web", or "onnx" for the spec alone; docs/runtime-profiles.md), check_runtime (load and
    run the model in ONNX Runtime at several sizes per symbolic dim; a failure raises
    ConversionError).
    Raises ConversionError with the CLI's stderr on failure.
    """
    legacy_path = isinstance(input_params, (str, os.PathLike))
    if legacy_path:  # to_onnx(fn, inputs, "out.onnx"): the form before input_params existed
        if output_path is not None:
            raise TypeError("output path given twice (third argument and output_path)")
        output_path, input_params = input_params, None
        return_mode = "file"
    if input_params is not None and not isinstance(input_params, Mapping):
        raise TypeError(f"input_params must be a mapping name -> value, got "
                        f"{type(input_params).__name__}")
    _check_choice("return_mode", return_mode, RETURN_MODES)
    _check_choice("export_mode", export_mode, EXPORT_MODES)
    _check_choice("normalization_mode", normalization_mode, tuple(NORMALIZATION_MODES))
    _check_choice("functions", functions, ("auto", "decorated", "none"))
    if return_mode == "file" and output_path is None:
        raise ValueError('return_mode="file" needs output_path')
    if optimize is None:
        optimize = NORMALIZATION_MODES[normalization_mode]
    if web is None:
        web = export_mode == "web"
    if return_mode == "proto":
        _require("onnx", 'return_mode="proto" (the default)')
    elif return_mode == "ir":
        _require("onnx_ir", 'return_mode="ir"')
    if isinstance(plugins, (str, os.PathLike)):
        plugins = [plugins]
    exe = find_cli(cli)
    pack_args = [arg for p in plugins or () for arg in ("--plugins", os.fspath(p))]

    started = time.perf_counter()
    last_timings.clear()
    with tempfile.TemporaryDirectory(prefix="jax2onnx-") as tmp:
        model_path = os.fspath(output_path) if output_path is not None else os.path.join(tmp, "model.onnx")
        bundle = os.path.join(tmp, "model.jaxpr")
        # With a sidecar, the weights are written once, straight beside the model, and the host
        # adopts that file as the sidecar; the temp folder holds only the graph. --web models
        # carry their weights inside, so their bundle keeps its data.
        data_file: list[str | None] = [None]
        # A --web model holds its weights, so they go to a memory file the CLI inherits instead:
        # written to disk once, into the model (what memory they take, the 2 GiB model limit
        # bounds). Where there are no memory files, they stay in the bundle.
        memory = [None]

        def export(given_only: bool) -> None:
            _remove(data_file[0])
            # (The primitive record re-reads the bundle after the host ran, so it keeps its data.)
            # (An output folder that is missing or read-only is the CLI's to report, as always.)
            in_place = not web and record_primitive_calls_file is None and os.access(
                os.path.dirname(os.path.abspath(model_path)), os.W_OK | os.X_OK)
            data_file[0] = sidecar_temp_path(model_path) if in_place else None
            target_file = data_file[0]
            if web and record_primitive_calls_file is None and hasattr(os, "memfd_create"):
                if memory[0] is not None:
                    os.close(memory[0])
                memory[0] = os.memfd_create("jax2onnx-weights")
                target_file = memory[0]
            times: dict[str, float] = {}
            with _x64(enable_double_precision), module_scopes(fn, functions == "auto"):
                save_bundle(fn, inputs, bundle, input_names=input_names,
                            output_names=output_names, name=model_name,
                            input_params=input_params, inputs_as_nchw=inputs_as_nchw,
                            outputs_as_nchw=outputs_as_nchw, given_only=given_only,
                            float_dtype=np.float64 if enable_double_precision else np.float32,
                            data_file=target_file, timings=times)
            for k, v in times.items():
                last_timings[k] = last_timings.get(k, 0.0) + v

        def run_host(cmd: list[str]) -> None:
            t0 = time.perf_counter()
            try:
                _run(cmd, pass_fds=() if memory[0] is None else (memory[0],))
            finally:
                last_timings["host"] = last_timings.get("host", 0.0) + time.perf_counter() - t0

        try:
            _export_and_convert(export, run_host, exe, bundle, model_path, opset, pack_args,
                                functions, target, web, optimize, strict_nan, pack_options,
                                input_params, not web and record_primitive_calls_file is None)
        finally:
            # After a success the host has renamed the data file; after a failure it is ours to
            # remove (the host removes it too, but not when it never ran or was killed).
            _remove(data_file[0])
            if memory[0] is not None:
                os.close(memory[0])
        last_timings["total"] = time.perf_counter() - started
        if check_runtime:
            # Load and run the written model in ONNX Runtime at several sizes per symbolic dim; a
            # model that fails there is a conversion error, not a file left for the user to find.
            from .validate import validate
            validate(model_path, target=target or ("ort-web" if web else "ort-cpu"))
        if record_primitive_calls_file is not None:
            from .record import write_record
            write_record(record_primitive_calls_file, bundle,
                         [exe, "inspect", bundle, "--opset", str(int(opset))] + pack_args)
        if return_mode == "file":
            return model_path
        if return_mode == "ir":
            import onnx_ir
            return onnx_ir.load(model_path)
        import onnx
        return onnx.load(model_path)  # external data is read in while the folder still exists


def _export_and_convert(export, run_host, exe, bundle, model_path, opset, pack_args, functions,
                        target, web, optimize, strict_nan, pack_options, input_params,
                        data_in_place) -> None:
    export(False)
    cmd = [exe, "convert", bundle, "-o", model_path, "--opset", str(int(opset))] + pack_args
    if functions != "decorated":  # the CLI's default
        cmd += ["--functions", functions]
    if target is not None:
        cmd += ["--target", target]
    if web:
        cmd.append("--web")
    elif data_in_place:
        cmd.append("--data-in-place")
    if not optimize:
        cmd.append("--no-optimize")
    if strict_nan:
        cmd.append("--strict-nan")
    cmd += _pack_option_args(pack_options)
    try:
        run_host(cmd)
    except ConversionError as first:
        flags = [k for k, v in (input_params or {}).items() if _is_flag(v)]
        if not flags:
            raise
        # The graph for a flag value the caller did not ask for may need a lowering that
        # is missing (dropout's random draws of a symbolic size); the asked-for value alone
        # may still convert.
        export(True)
        try:
            run_host(cmd)
        except ConversionError:
            raise first from None
        warnings.warn(
            f"input_params {', '.join(map(repr, flags))}: the model for the other value "
            f"could not be converted ({first.stderr.strip().splitlines()[-1][:300]}); the "
            f"model computes {', '.join(f'{k}={input_params[k]!r}' for k in flags)} "
            f"whatever the input says", stacklevel=3)


def _is_flag(value) -> bool:
    arr = np.asarray(value)
    return arr.dtype == np.bool_ and arr.shape == ()


def _require(module: str, why: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise ImportError(f"{why} needs the {module!r} package: pip install {module.replace('_', '-')}"
                          ) from None


def _run(cmd: list[str], pass_fds=()) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, pass_fds=pass_fds)
    if proc.returncode != 0:
        how = (f"crashed (signal {-proc.returncode})" if proc.returncode < 0
               else f"failed (exit {proc.returncode})")
        raise ConversionError(
            f"jax2onnx {cmd[1]} {how}:\n{proc.stderr.strip()}",
            returncode=proc.returncode, stderr=proc.stderr, cmd=cmd)
    return proc
