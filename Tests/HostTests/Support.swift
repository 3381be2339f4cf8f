import Foundation
import XCTest
@testable import Host

/// Paths and builders the tests share.
enum Fixture {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repoRoot = testsDir.deletingLastPathComponent().deletingLastPathComponent()
    static let headerDir = repoRoot.appendingPathComponent("SDK/PluginABI/include").path
    /// The build folder the tests run from; the CLI and the built-in packs live there too.
    static let buildDir = SearchPath.executableDirectory()!
    static var cli: String { buildDir + "/jax2onnx" }

    static func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "j2o-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Builds Fixtures/<source> (test_pack.c unless told) with the given -D flags into `dir/name`.
    @discardableResult
    static func buildPack(_ name: String, in dir: String, defines: [String] = [], source: String = "test_pack.c") throws -> String {
        let out = dir + "/" + name
        let r = try run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-std=c99", "-Wall", "-Werror", "-I", headerDir]
                        + defines.map { "-D" + $0 } + ["-o", out, testsDir.appendingPathComponent("Fixtures/" + source).path])
        guard r.status == 0 else { throw NSError(domain: "cc", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
        return out
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ exe: String, _ args: [String], env: [String: String]? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let env { p.environment = env }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Writes a bundle file (docs/bundle-format.md) from a JSON document and tensor blobs.
    static func writeBundle(_ json: String, tensors: [[UInt8]] = [], to path: String, version: UInt32 = 1) throws {
        var data: [UInt8] = []
        for t in tensors {
            while data.count % 64 != 0 { data.append(0) }
            data += t
        }
        let j = Array(json.utf8)
        var dataOffset = 64 + j.count
        dataOffset = (dataOffset + 63) / 64 * 64
        var file = Array("J2OBNDL".utf8) + [0]
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { file += $0 } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { file += $0 } }
        u32(version); u32(0); u64(64); u64(j.count); u64(dataOffset); u64(data.count)
        file += [UInt8](repeating: 0, count: 16)
        file += j
        file += [UInt8](repeating: 0, count: dataOffset - file.count)
        file += data
        try Data(file).write(to: URL(fileURLWithPath: path))
    }

    /// y = sin(x) over x: f32[B, 3], optionally followed by more unary equations.
    static func unaryProgram(_ prims: [String], src: Bool = true) -> String {
        var eqns: [String] = []
        var prev = 1
        for (i, p) in prims.enumerated() {
            let s = src ? ",\"src\":{\"file\":\"model.py\",\"line\":\(10 + i),\"fn\":\"f\"}" : ""
            eqns.append("{\"prim\":\"\(p)\",\"in\":[{\"var\":\(prev)}],\"out\":[{\"id\":\(prev + 1),\"aval\":{\"dtype\":\"f32\",\"shape\":[\"B\",3]}}],\"params\":{}\(s)}")
            prev += 1
        }
        return """
        {"format":"jax2onnx-bundle","version":1,"tensors":[],
         "program":{"jaxpr":{"constvars":[],"invars":[{"id":1,"aval":{"dtype":"f32","shape":["B",3]}}],
                             "outvars":[{"var":\(prev)}],"eqns":[\(eqns.joined(separator: ","))]},"consts":[]}}
        """
    }
}
