// swift-tools-version:5.9
import PackageDescription

// Built-in lowering packs are dynamic libraries named libJ2OPack<Name>.so; the host finds them next
// to its executable. Each links PluginKit statically and nothing of the host.
let packs = ["Lax", "Control", "Indexing", "NN", "Random", "Complex"]

let package = Package(
    name: "jax2onnx",
    products: [
        .executable(name: "jax2onnx", targets: ["jax2onnx"]),
        .library(name: "Host", targets: ["Host"]),
    ] + packs.map { .library(name: "J2OPack\($0)", type: .dynamic, targets: ["\($0)Pack"]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        // The pack SDK (C ABI header + PluginKit) is its own package so third parties can use it alone.
        .package(path: "SDK"),
    ],
    targets: [
        // libffi, for typed C lowerings.
        .systemLibrary(name: "CFFI", path: "Sources/CFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),
        .target(
            name: "Host",
            dependencies: [.product(name: "PluginABI", package: "SDK"), "CFFI",
                           .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Sources/Host",
            // Release builds skip the runtime exclusivity checks (about 8% of a deep model's
            // conversion, mostly in the passes' graph queries); debug builds, which the tests use,
            // keep them, so an overlapping access still fails there.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        .executableTarget(
            name: "jax2onnx",
            dependencies: ["Host", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/jax2onnx"),
        .testTarget(name: "HostTests", dependencies: ["Host"], path: "Tests/HostTests", exclude: ["Fixtures"]),
    ] + packs.map { .target(name: "\($0)Pack", dependencies: [.product(name: "PluginKit", package: "SDK")], path: "Plugins/\($0)") }
)
