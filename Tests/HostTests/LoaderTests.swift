import Foundation
import XCTest
@testable import Host

final class LoaderTests: XCTestCase {
    func loadError(_ path: String) -> String {
        do {
            _ = try PackLoader.load(path: path, order: 0)
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    func testLoadsAWellFormedCPack() throws {
        let dir = try Fixture.tempDir()
        let pack = try PackLoader.load(path: try Fixture.buildPack("good.so", in: dir, defines: ["PACK_NAME=\"Good\""]), order: 0)
        XCTAssertEqual(pack.name, "Good")
        XCTAssertEqual(pack.version, "1.0.0")
        XCTAssertEqual(pack.claims.map(\.primitive), ["sin"])
        XCTAssertEqual(pack.claims[0].onnxOps, ["Sin"])
        XCTAssertEqual(pack.claims[0].minOpset, 17)
        XCTAssertNil(pack.claims[0].maxOpset)
    }

    func testRefusesAFileThatIsNotELF() throws {
        let path = try Fixture.tempDir() + "/text.so"
        try "not a library".write(toFile: path, atomically: true, encoding: .utf8)
        let e = loadError(path)
        XCTAssertTrue(e.contains("not an ELF shared library"), e)
        XCTAssertTrue(e.contains(path), e)
    }

    func testRefusesAnotherArchitecture() throws {
        let dir = try Fixture.tempDir()
        let good = try Fixture.buildPack("good.so", in: dir)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        // e_machine: pretend to be RISC-V (243), which this host is not.
        bytes[18] = 243; bytes[19] = 0
        let other = dir + "/other-arch.so"
        try Data(bytes).write(to: URL(fileURLWithPath: other))
        let e = loadError(other)
        XCTAssertTrue(e.contains("built for ELF machine 243"), e)
    }

    func testRefusesAPackWithoutTheEntrySymbol() throws {
        let dir = try Fixture.tempDir()
        let e = loadError(try Fixture.buildPack("noentry.so", in: dir, defines: ["NO_ENTRY"]))
        XCTAssertTrue(e.contains("missing entry symbol 'jax2onnx_pack'"), e)
    }

    func testRefusesAnotherABIMajorInOneLine() throws {
        let dir = try Fixture.tempDir()
        let path = try Fixture.buildPack("abi2.so", in: dir, defines: ["ABI_VERSION_VALUE=0x00020000"])
        let e = loadError(path)
        XCTAssertTrue(e.contains("got 2, this host supports \(PackLoader.supportedRange)"), e)
        XCTAssertTrue(e.contains(path), e)
        XCTAssertFalse(e.contains("\n"), e)
    }

    func testLoadsANewerMinorVersion() throws {
        let dir = try Fixture.tempDir()
        let pack = try PackLoader.load(path: try Fixture.buildPack("minor.so", in: dir, defines: ["ABI_VERSION_VALUE=0x00010007"]), order: 0)
        XCTAssertEqual(pack.abiText, "1.7")
    }

    func testConflictRulePriorityThenSearchOrder() throws {
        let dir = try Fixture.tempDir()
        let a = try PackLoader.load(path: try Fixture.buildPack("a.so", in: dir, defines: ["PACK_NAME=\"A\""]), order: 0)
        let b = try PackLoader.load(path: try Fixture.buildPack("b.so", in: dir, defines: ["PACK_NAME=\"B\""]), order: 1)
        let c = try PackLoader.load(path: try Fixture.buildPack("c.so", in: dir, defines: ["PACK_NAME=\"C\"", "PRIORITY=5"]), order: 2)
        XCTAssertEqual(Registry(packs: [a, b]).candidates("sin", opset: 23).map(\.pack.name), ["A", "B"], "a tie goes to the earlier pack")
        let bFirst = try PackLoader.load(path: dir + "/b.so", order: -1)
        XCTAssertEqual(Registry(packs: [a, bFirst]).candidates("sin", opset: 23).map(\.pack.name), ["B", "A"],
                       "search-path position decides, not the order packs are listed in")
        XCTAssertEqual(Registry(packs: [a, b, c]).candidates("sin", opset: 23).map(\.pack.name), ["C", "A", "B"], "priority beats order")
        XCTAssertTrue(Registry(packs: [a]).candidates("sin", opset: 16).isEmpty, "claims serve only their opset range")
    }

    func testSearchPathOrderAndMissingEntries() throws {
        let dir = try Fixture.tempDir()
        try Fixture.buildPack("z.so", in: dir)
        try Fixture.buildPack("a.so", in: dir)
        let files = try SearchPath(plugins: [dir], environment: [:], builtinDirectory: nil).packFiles()
        XCTAssertEqual(files.map { ($0 as NSString).lastPathComponent }, ["a.so", "z.so"])
        XCTAssertThrowsError(try SearchPath(plugins: [dir + "/nope"], environment: [:], builtinDirectory: nil).packFiles()) { e in
            XCTAssertTrue("\(e)".contains("does not exist"))
        }
        let env = try SearchPath(plugins: [], environment: ["JAX2ONNX_PLUGIN_PATH": dir], builtinDirectory: nil).packFiles()
        XCTAssertEqual(env.count, 2)
    }

    func testBuiltinPacksLoad() throws {
        let r = try Registry.load(SearchPath(plugins: [], environment: [:]))
        XCTAssertTrue(Set(r.packs.map(\.name)).isSuperset(of: ["Lax", "Control", "Indexing", "NN", "Random"]))
        XCTAssertFalse(r.candidates("dot_general", opset: 23).isEmpty)
        XCTAssertFalse(r.candidates("pjit", opset: 23).isEmpty)
    }
}
