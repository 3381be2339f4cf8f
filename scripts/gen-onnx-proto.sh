#!/usr/bin/env bash
# Regenerates Tests/ONNXProto/onnx.pb.swift (test support: the tests decode models with it; the host writes its own) from the onnx.proto shipped in the onnx wheel.
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift built from swift-protobuf:
#   git clone https://github.com/apple/swift-protobuf && cd swift-protobuf && git checkout 1.39.0 \
#     && swift build -c release --product protoc-gen-swift
# then PROTOC_GEN_SWIFT=/path/to/.build/release/protoc-gen-swift scripts/gen-onnx-proto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
proto_dir=$("$py" -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')
plugin=${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT to a protoc-gen-swift binary}
out=Tests/ONNXProto
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp "$proto_dir/onnx.proto" "$tmp/onnx.proto"
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public -I "$tmp" --swift_out="$out" "$tmp/onnx.proto"
echo "wrote $out/onnx.pb.swift from $proto_dir/onnx.proto"
