// swift-tools-version:5.9
import Foundation
import PackageDescription

// A lowering pack in Swift. Copy this folder, rename MyPack (here and in Sources/), and run
// `swift build`; the pack is .build/debug/libMyPack.so. It needs only the SDK folder: set
// JAX2ONNX_SDK to it, or leave the copy inside the SDK where "../.." finds it.
let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let sdk = URL(fileURLWithPath: ProcessInfo.processInfo.environment["JAX2ONNX_SDK"] ?? "../..", relativeTo: here).standardizedFileURL
// SwiftPM names a path dependency after its folder.
let sdkPackage = sdk.lastPathComponent

let package = Package(
    name: "MyPack",
    products: [.library(name: "MyPack", type: .dynamic, targets: ["MyPack"])],
    dependencies: [.package(path: sdk.path)],
    targets: [
        .target(name: "MyPack", dependencies: [.product(name: "PluginKit", package: sdkPackage)]),
    ]
)
