import Foundation
import XCTest
@testable import Host
import ONNXProto

/// The CLI as a user runs it: exit codes, one-line errors, no partial output.
final class CLITests: XCTestCase {
    func testConvertsAndWritesAValidModel() throws {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(["sin", "exp"]), to: dir + "/m.jaxpr")
        let r = try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/m.onnx"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx")))
        XCTAssertEqual(model.graph.node.map(\.opType), ["Sin", "Exp"])
        XCTAssertEqual(model.opsetImport.first?.version, 23)
        XCTAssertEqual(model.graph.input[0].type.tensorType.shape.dim[0].dimParam, "B")
        XCTAssertEqual(model.graph.output[0].type.tensorType.shape.dim[0].dimParam, "B")
        let props = Dictionary(uniqueKeysWithValues: model.graph.node[0].metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(props["jax2onnx.pack"], "Lax@0.1.0")
        XCTAssertEqual(props["jax2onnx.source"], "model.py:10 (f)")
    }

    func testUnclaimedPrimitivesAreAllListedWithLines() throws {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(["sin", "frobnicate", "exp", "quux", "frobnicate"]), to: dir + "/m.jaxpr")
        let r = try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/m.onnx"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("2 primitives have no lowering at opset 23"), r.stderr)
        XCTAssertTrue(r.stderr.contains("frobnicate  at model.py:11 (f), model.py:14 (f)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("quux        at model.py:13 (f)"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.onnx"))
    }

    func testAFailedConversionKeepsTheOldModel() throws {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(["sin"]), to: dir + "/good.jaxpr")
        try Fixture.writeBundle(Fixture.unaryProgram(["nope"]), to: dir + "/bad.jaxpr")
        XCTAssertEqual(try Fixture.run(Fixture.cli, ["convert", dir + "/good.jaxpr", "-o", dir + "/m.onnx"]).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx"))
        XCTAssertEqual(try Fixture.run(Fixture.cli, ["convert", dir + "/bad.jaxpr", "-o", dir + "/m.onnx"]).status, 1)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx")), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("tmp") }, [])
    }

    func testUsageAndIOErrorsExitTwo() throws {
        let dir = try Fixture.tempDir()
        let missing = try Fixture.run(Fixture.cli, ["convert", dir + "/absent.jaxpr", "-o", dir + "/m.onnx"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("does not exist"), missing.stderr)
        XCTAssertEqual(try Fixture.run(Fixture.cli, ["convert"]).status, 2)
        XCTAssertEqual(try Fixture.run(Fixture.cli, ["convert", "x", "-o", "y", "--bogus"]).status, 2)
        try Data(repeating: 1, count: 100).write(to: URL(fileURLWithPath: dir + "/junk.jaxpr"))
        let junk = try Fixture.run(Fixture.cli, ["convert", dir + "/junk.jaxpr", "-o", dir + "/m.onnx"])
        XCTAssertEqual(junk.status, 2)
        XCTAssertTrue(junk.stderr.hasPrefix("error: malformed bundle"), junk.stderr)
        try Fixture.writeBundle(Fixture.unaryProgram(["sin"]), to: dir + "/m.jaxpr")
        XCTAssertEqual(try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/no/such/dir/m.onnx"]).status, 2)
        XCTAssertEqual(try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/m.onnx", "--opset", "12"]).status, 2)
    }

    func testAWrongABIPackIsRefusedInOneLine() throws {
        let dir = try Fixture.tempDir()
        let pack = try Fixture.buildPack("abi2.so", in: dir, defines: ["ABI_VERSION_VALUE=0x00020000"])
        let reason = "cannot load pack '\(pack)': pack ABI version 2.0 is not supported: got 2, this host supports \(PackLoader.supportedRange)"
        // Skipped with a warning by default (the program may not need it); an error with --strict-packs.
        let r = try Fixture.run(Fixture.cli, ["--coverage", "--plugins", dir])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stderr, "warning: skipping a pack: \(reason)\n")
        let strict = try Fixture.run(Fixture.cli, ["--coverage", "--plugins", dir, "--strict-packs"])
        XCTAssertEqual(strict.status, 2)
        XCTAssertEqual(strict.stderr, "error: \(reason)\n")
    }

    func testAUserPackOverridesAndDeclinesFallBack() throws {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(["sin"]), to: dir + "/m.jaxpr")
        let packs = dir + "/packs"
        try FileManager.default.createDirectory(atPath: packs, withIntermediateDirectories: true)
        try Fixture.buildPack("mine.so", in: packs, defines: ["PACK_NAME=\"Mine\"", "PRIORITY=10", "DECLINE"])
        let cov = try Fixture.run(Fixture.cli, ["--coverage", "--plugins", packs])
        XCTAssertTrue(cov.stdout.contains("shadowed: Lax@0.1.0"), cov.stdout)
        // The user's pack wins the claim, declines, and the built-in lowering takes over.
        let r = try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/m.onnx", "--plugins", packs])
        XCTAssertEqual(r.status, 0, r.stderr)
        let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx")))
        XCTAssertEqual(model.graph.node[0].metadataProps.first { $0.key == "jax2onnx.pack" }?.value, "Lax@0.1.0")
    }

    func testAClaimIsSkippedForDtypesItDoesNotTake() throws {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(["sin"]), to: dir + "/m.jaxpr")
        try Fixture.buildPack("f64only.so", in: dir, defines: ["PACK_NAME=\"F64\"", "PRIORITY=10", "ONLY_F64"])
        let cov = try Fixture.run(Fixture.cli, ["--coverage", "--format", "json", "--plugins", dir + "/f64only.so"])
        XCTAssertTrue(cov.stdout.contains("\"pack\":\"F64@1.0.0\",\"priority\":10,\"min_opset\":17,\"max_opset\":null,\"onnx_ops\":[\"Sin\"],\"dtypes\":[\"f64\"]"), cov.stdout)
        // The program's sin is f32: the f64-only claim is passed over without being called.
        let r = try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/m.onnx", "--plugins", dir + "/f64only.so"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx")))
        XCTAssertEqual(model.graph.node[0].metadataProps.first { $0.key == "jax2onnx.pack" }?.value, "Lax@0.1.0")
    }

    func testAPackEmittingAnUnknownOpIsNamed() throws {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(["sin"]), to: dir + "/m.jaxpr")
        try Fixture.buildPack("bad.so", in: dir, defines: ["PACK_NAME=\"Bad\"", "PRIORITY=10", "BAD_OP"])
        let r = try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/m.onnx", "--plugins", dir + "/bad.so"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("pack Bad@1.0.0"), r.stderr)
        XCTAssertTrue(r.stderr.contains("'NoSuchOp', which is not an ONNX operator"), r.stderr)
        XCTAssertTrue(r.stderr.contains("at model.py:10 (f)"), r.stderr)
    }

    func testInspectListsClaimsAndMissing() throws {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(["sin", "wibble"]), to: dir + "/m.jaxpr")
        let r = try Fixture.run(Fixture.cli, ["inspect", dir + "/m.jaxpr"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("sin"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Lax@0.1.0"), r.stdout)
        XCTAssertTrue(r.stdout.contains("wibble") && r.stdout.contains("MISSING"), r.stdout)
    }
}
