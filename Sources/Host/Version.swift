/// The host's version, printed by `jax2onnx --version` and stamped into every model.
public let jax2onnxVersion = "0.1.0"
