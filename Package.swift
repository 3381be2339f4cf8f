// swift-tools-version:5.9
import Foundation
import PackageDescription

// Built-in lowering packs are dynamic libraries named libJ2OPack<Name>.so; the host finds them next
// to its executable. Each links PluginKit statically and nothing of the host.
let packs = ["Lax", "Control", "Indexing", "NN", "Random", "Linalg", "Complex"]

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
        // The ABI header the host builds against (the canonical copy; SDK/ carries a byte-identical
        // one for third parties, checked by scripts/check-header.sh). Named apart from the SDK's
        // PluginABI module because one build cannot hold two C modules of one name.
        .target(name: "J2OPluginABI", path: "Sources/PluginABI"),
        .target(
            name: "Host",
            dependencies: ["J2OPluginABI", "CFFI"],
            path: "Sources/Host",
            // Release builds skip the runtime exclusivity checks (about 8% of a deep model's
            // conversion, mostly in the passes' graph queries); debug builds, which the tests use,
            // keep them, so an overlapping access still fails there.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // The CLI's _exit and _Exit, exported so a pack that calls them is caught by PackGuard
        // (Sources/ExitGuard/include/ExitGuard.h says why); only the executable links it.
        .target(name: "ExitGuard", path: "Sources/ExitGuard"),
        .executableTarget(
            name: "jax2onnx",
            dependencies: ["Host", "ExitGuard", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/jax2onnx",
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic-symbol=_exit", "-Xlinker", "--export-dynamic-symbol=_Exit"])]),
    ] + packs.map { .target(name: "\($0)Pack", dependencies: [.product(name: "PluginKit", package: "SDK")], path: "Plugins/\($0)") }
)

// The tests, where the checkout carries them: the Python package's sdist ships the sources the
// wheel needs and no Tests/ folder, and SwiftPM rejects a target whose folder is missing.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
if FileManager.default.fileExists(atPath: packageRoot.appendingPathComponent("Tests/HostTests").path) {
    package.targets += [
        // The generated ONNX protobuf types: only tests decode models; the host's writer is its own.
        .target(name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                path: "Tests/ONNXProto"),
        .testTarget(name: "HostTests", dependencies: ["Host", "ONNXProto"], path: "Tests/HostTests", exclude: ["Fixtures"]),
    ]
}

// The libFuzzer target (Fuzz/run.sh): only with J2O_FUZZ set, since it links libFuzzer's main and
// needs -sanitize=fuzzer, which an ordinary build must not carry.
if ProcessInfo.processInfo.environment["J2O_FUZZ"] != nil {
    package.targets.append(.executableTarget(
        name: "HostFuzz", dependencies: ["Host"], path: "Fuzz/Sources/HostFuzz",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
    package.products.append(.executable(name: "HostFuzz", targets: ["HostFuzz"]))
}
