// swift-tools-version:5.9
import PackageDescription

// The pack SDK on its own: the C ABI header (PluginABI, a byte-identical copy of the project's
// canonical Sources/PluginABI, checked by scripts/check-header.sh) and the Swift wrapper
// packs are written with (PluginKit). A third party needs only this folder; the project's own packs
// use PluginKit from here by path.
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
