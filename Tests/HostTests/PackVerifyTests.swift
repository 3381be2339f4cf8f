import Foundation
import XCTest
@testable import Host

/// `jax2onnx plugins verify` and `plugins install`, run as a user would.
final class PackVerifyTests: XCTestCase {
    func testAGoodPackPasses() throws {
        let dir = try Fixture.tempDir()
        let r = try Fixture.run(Fixture.cli, ["plugins", "verify", try Fixture.buildPack("good.so", in: dir, defines: ["TYPED"])])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("sin  priority 0  opsets 17+  emits Sin  typed (x:value)"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("  OK\n"), r.stdout)
    }

    func testCatchesAnOpThatDoesNotExist() throws {
        let dir = try Fixture.tempDir()
        let r = try Fixture.run(Fixture.cli, ["plugins", "verify", try Fixture.buildPack("bad.so", in: dir, defines: ["BAD_OP"])])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("problem: claim 'sin' lists ONNX op 'NoSuchOp', which does not exist in any ONNX opset"), r.stdout)
    }

    func testCatchesAnOpMissingFromTheClaimedOpsets() throws {
        // BitwiseAnd exists from opset 18; a claim for opsets 13-17 can never emit it.
        var notes: [String] = []
        let pack = LoadedPack(path: "/x.so", name: "X", version: "1", description: nil, abiVersion: 0x10002, order: 0)
        let claim = Claim(primitive: "and", priority: 0, minOpset: 13, maxOpset: 17, onnxOps: ["BitwiseAnd", "And"], note: nil,
                          dtypes: [], signature: nil, lower: nil, typedFunction: nil, userData: nil, pack: pack)
        let problems = PackVerifier.problems(claim, notes: &notes)
        XCTAssertEqual(problems, ["claim 'and' lists ONNX op 'BitwiseAnd', which does not exist at any opset the claim serves (13-17)"])
    }

    func testCatchesDuplicateClaims() throws {
        let dir = try Fixture.tempDir()
        let r = try Fixture.run(Fixture.cli, ["plugins", "verify", try Fixture.buildPack("dup.so", in: dir, defines: ["DUPLICATE"])])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("claims 'sin' twice for overlapping opsets (17+ and 20-22)"), r.stdout)
    }

    func testSurvivesAPackThatCrashesOnLoad() throws {
        let dir = try Fixture.tempDir()
        let r = try Fixture.run(Fixture.cli, ["plugins", "verify", try Fixture.buildPack("crash.so", in: dir, defines: ["CRASH"])])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stdout.contains("crashed (SIGSEGV, invalid memory access) while loading"), r.stdout)
    }

    func testReportsAnotherMajorAndAMalformedFile() throws {
        let dir = try Fixture.tempDir()
        let abi2 = try Fixture.buildPack("abi2.so", in: dir, defines: ["ABI_VERSION_VALUE=0x00020000"])
        let r = try Fixture.run(Fixture.cli, ["plugins", "verify", abi2])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("got 2, this host supports \(PackLoader.supportedRange)"), r.stdout)
    }

    func testInstallVerifiesCopiesAndJoinsTheSearchPath() throws {
        let dir = try Fixture.tempDir()
        var env = ProcessInfo.processInfo.environment
        env["XDG_DATA_HOME"] = dir + "/data"
        let good = try Fixture.buildPack("libmine.so", in: dir, defines: ["PACK_NAME=\"Mine\"", "PRIORITY=3"])
        let r = try Fixture.run(Fixture.cli, ["plugins", "install", good], env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/data/jax2onnx/packs/libmine.so"))
        let cov = try Fixture.run(Fixture.cli, ["--coverage"], env: env)
        XCTAssertTrue(cov.stdout.contains("shadowed: Lax@0.1.0"), cov.stdout)
        XCTAssertTrue(cov.stdout.contains("Mine@1.0.0"), cov.stdout)

        let bad = try Fixture.buildPack("libbad.so", in: dir, defines: ["BAD_OP"])
        let b = try Fixture.run(Fixture.cli, ["plugins", "install", bad], env: env)
        XCTAssertEqual(b.status, 1)
        XCTAssertTrue(b.stderr.contains("fails verification"), b.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/data/jax2onnx/packs/libbad.so"))
    }
}
