import Foundation
import XCTest
@testable import Host
import ONNXProto

/// Typed C lowerings (J2O_TYPED_LOWERING): the signature string the macro writes, the host's check
/// of it against each equation, the libffi call, and packs of older layouts.
final class TypedLoweringTests: XCTestCase {
    func convert(_ pack: String, _ prims: [String] = ["sin"]) throws -> (Fixture.Result, String) {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(prims), to: dir + "/m.jaxpr")
        let r = try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/m.onnx", "--plugins", pack])
        return (r, dir + "/m.onnx")
    }

    func packOf(_ model: String) throws -> [String] {
        let m = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: model)))
        return m.graph.node.map { n in n.metadataProps.first { $0.key == "jax2onnx.pack" }?.value ?? "" }
    }

    func testSignatureParsing() throws {
        let s = try TypedSignature.parse(" x:value y:int axes:ints")
        XCTAssertEqual(s.description, "(x:value, y:int, axes:ints)")
        XCTAssertEqual(s.operandCount, 1)
        for (bad, why) in [("", "empty"), ("x:value y:integer", "unknown kind 'integer'"), ("x", "not name:kind"),
                           ("1x:value", "not name:kind"), ("y:int y:float", "names param 'y' twice")] {
            XCTAssertThrowsError(try TypedSignature.parse(bad), bad) { XCTAssertTrue("\($0)".contains(why), "\($0)") }
        }
    }

    func testTheMacroWritesTheSignatureTheLoaderReads() throws {
        let dir = try Fixture.tempDir()
        let pack = try PackLoader.load(path: try Fixture.buildPack("typed.so", in: dir, defines: ["TYPED"]), order: 0)
        XCTAssertEqual(pack.claims[0].signature?.description, "(x:value)")
        let wrong = try PackLoader.load(path: try Fixture.buildPack("wrong.so", in: dir, defines: ["TYPED_WRONG"]), order: 0)
        XCTAssertEqual(wrong.claims[0].signature?.description, "(x:value, y:value)")
    }

    func testATypedLoweringIsCalledThroughLibffi() throws {
        let dir = try Fixture.tempDir()
        let pack = try Fixture.buildPack("typed.so", in: dir, defines: ["TYPED", "PRIORITY=5", "PACK_NAME=\"Typed\""])
        let (r, model) = try convert(pack, ["sin", "exp"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try packOf(model), ["Typed@1.0.0", "Lax@0.1.0"])
    }

    func testAMismatchedSignatureIsRefusedNamingPackAndPrimitive() throws {
        let dir = try Fixture.tempDir()
        let pack = try Fixture.buildPack("wrong.so", in: dir, defines: ["TYPED_WRONG", "PRIORITY=5", "PACK_NAME=\"Wrong\""])
        let (r, model) = try convert(pack)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("pack Wrong@1.0.0"), r.stderr)
        XCTAssertTrue(r.stderr.contains("its typed signature (x:value, y:value) for 'sin' does not match the equation: it takes 2 operands, but the equation has 1"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: model))
    }

    func testATypedDeclineFallsToTheNextClaimant() throws {
        let dir = try Fixture.tempDir()
        let pack = try Fixture.buildPack("decl.so", in: dir, defines: ["TYPED_DECLINE", "PRIORITY=5"])
        let (r, model) = try convert(pack)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try packOf(model), ["Lax@0.1.0"])
    }

    func testAPackBuiltAgainstABI10StillLoadsAndLowers() throws {
        let dir = try Fixture.tempDir()
        let path = try Fixture.buildPack("old.so", in: dir, defines: ["ABI_1_0", "PRIORITY=5", "PACK_NAME=\"Old\""])
        let pack = try PackLoader.load(path: path, order: 0)
        XCTAssertEqual(pack.abiText, "1.0")
        XCTAssertEqual(pack.claims[0].dtypes, [])
        XCTAssertNil(pack.claims[0].signature)
        let (r, model) = try convert(path)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try packOf(model), ["Old@1.0.0"])
    }
}
