// swift-tools-version:5.9
import PackageDescription

// The pack SDK on its own: the C ABI header (PluginABI, the canonical copy) and the Swift wrapper
// packs are written with (PluginKit). A third party needs only this folder; the host consumes it by
// path, so there is one of each.
let package = Package(
    name: "jax2onnx-sdk",
    products: [
        .library(name: "PluginABI", targets: ["PluginABI"]),
        .library(name: "PluginKit", targets: ["PluginKit"]),
    ],
    targets: [
        .target(name: "PluginABI", path: "PluginABI"),
        .target(name: "PluginKit", dependencies: ["PluginABI"], path: "PluginKit/Sources/PluginKit"),
    ]
)
