"""The progress line: on stderr when asked (or on a terminal) once a conversion runs past the delay,
naming the phase and how far it got, erased at the end; never with --quiet, never in a pipe
unless asked. JAX2ONNX_PROGRESS_DELAY=0 stands in for a conversion that takes long."""

from __future__ import annotations

import os
import subprocess

import numpy as np

import jax.numpy as jnp

from jax2onnx_swift import save_bundle

RNG = np.random.default_rng(7)
WS = [RNG.normal(0, 0.3, (8, 8)).astype(np.float32) for _ in range(80)]


def deep(x):
    for w in WS:  # 80 blocks of 6 equations: past the 256 equations between clock looks
        x = x + 0.5 * jnp.tanh(x @ w + 1.0)
    return x


def convert(cli, tmp_path, *flags, delay="0"):
    bundle = save_bundle(deep, [np.ones((2, 8), np.float32)], tmp_path / "deep.jaxpr")
    env = {**os.environ, "JAX2ONNX_PROGRESS_DELAY": delay}
    return subprocess.run([cli, "convert", bundle, "-o", tmp_path / "deep.onnx", *flags],
                          capture_output=True, text=True, env=env, timeout=300)


def test_progress_names_phases_and_is_erased(cli, tmp_path):
    proc = convert(cli, tmp_path, "--progress")
    assert proc.returncode == 0, proc.stderr
    assert "lowering: " in proc.stderr and " equations)" in proc.stderr, proc.stderr
    # the line is redrawn at most ten times a second, so whether "writing" shows depends on timing;
    # the writer's byte counts are checked in ONNXWriterTests
    assert proc.stderr.endswith("\x1b[K"), repr(proc.stderr[-40:])  # erased (\r reads as \n here)


def test_no_progress_in_a_pipe_or_when_quiet(cli, tmp_path):
    for flags in [(), ("--quiet",)]:
        proc = convert(cli, tmp_path, *flags)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "", (flags, proc.stderr)


def test_no_progress_before_the_delay(cli, tmp_path):
    proc = convert(cli, tmp_path, "--progress", delay="600")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
