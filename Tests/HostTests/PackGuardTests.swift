import Foundation
import XCTest
@testable import Host

/// Packs that crash, hang, exit or cannot load, run through the CLI as a user would meet them:
/// each ends with exit 1 or 2 and one line naming the pack, never a signal or a silent exit code.
final class PackGuardTests: XCTestCase {
    var dir = ""
    var bundle = ""

    override func setUpWithError() throws {
        dir = try Fixture.tempDir()
        bundle = dir + "/sin.jaxpr"
        try Fixture.writeBundle(Fixture.unaryProgram(["sin"]), to: bundle)
    }

    func hostile(_ mode: String) throws -> String {
        try Fixture.buildPack(mode + ".so", in: dir, defines: [mode], source: "hostile_pack.c")
    }

    func convert(_ pack: String, _ extra: [String] = []) throws -> Fixture.Result {
        try Fixture.run(Fixture.cli, ["convert", bundle, "-o", dir + "/out.onnx", "--plugins", pack] + extra)
    }

    /// The one line on stderr, after checking the exit code.
    func assertOneLine(_ r: Fixture.Result, contains parts: [String], status: Int32 = 1,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr, file: file, line: line)
        for p in parts { XCTAssertTrue(r.stderr.contains(p), "missing '\(p)' in: \(r.stderr)", file: file, line: line) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out.onnx"), file: file, line: line)
    }

    func testASegfaultInALoweringNamesPackPathPrimitiveAndEquation() throws {
        let pack = try hostile("LOWER_SEGV")
        assertOneLine(try convert(pack), contains: ["pack Hostile@6.6.6 (\(pack))", "SIGSEGV", "lowering 'sin' at equation 0"])
    }

    func testAnArithmeticFaultInALowering() throws {
        assertOneLine(try convert(try hostile("LOWER_FPE")), contains: ["Hostile@6.6.6", "SIGFPE", "'sin'"])
    }

    func testALoweringThatNeverReturnsHitsThePackTimeout() throws {
        assertOneLine(try convert(try hostile("LOWER_LOOP"), ["--pack-timeout", "1"]),
                      contains: ["Hostile@6.6.6", "did not return within --pack-timeout", "'sin'", "(1 s)"])
    }

    func testAnEntryThatNeverReturnsHitsThePackTimeout() throws {
        let pack = try hostile("ENTRY_LOOP")
        assertOneLine(try convert(pack, ["--pack-timeout", "1"]), contains: ["pack at \(pack)", "while loading"])
    }

    func testAnEntryThatCallsExitIsCaught() throws {
        let pack = try hostile("ENTRY_EXIT")
        assertOneLine(try convert(pack), contains: ["pack at \(pack) called exit while loading"])
    }

    func testAnEntryReturningGarbageOrAConstructorThatCrashes() throws {
        for mode in ["ENTRY_GARBAGE", "CTOR_SEGV"] {
            let pack = try hostile(mode)
            assertOneLine(try convert(pack), contains: ["pack at \(pack) crashed (SIGSEGV"])
        }
    }

    func testATruncatedPackIsSkippedWithAWarningAndStrictPacksRefusesIt() throws {
        let good = try Fixture.buildPack("good.so", in: dir)
        let data = try Data(contentsOf: URL(fileURLWithPath: good))
        let cut = dir + "/truncated.so"
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        // The program needs only sin, which the built-in packs lower: the broken file is skipped.
        let r = try convert(cut)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: skipping a pack: cannot load pack '\(cut)': truncated"), r.stderr)
        let strict = try convert(cut, ["--strict-packs"])
        XCTAssertEqual(strict.status, 2, strict.stderr)
        XCTAssertTrue(strict.stderr.contains("truncated"), strict.stderr)
    }

    func testASkippedPackIsNamedWhenTheProgramNeedsAPrimitiveNoOneClaims() throws {
        let cut = dir + "/broken.so"
        try Data([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 12)).write(to: URL(fileURLWithPath: cut))
        try Fixture.writeBundle(Fixture.unaryProgram(["no_such_primitive"]), to: bundle)
        let r = try convert(cut)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("no_such_primitive"), r.stderr)
        XCTAssertTrue(r.stderr.contains("skipped (it might have claimed them): cannot load pack '\(cut)'"), r.stderr)
    }

    func testVerifyRunsEachLoweringSoInstallRefusesOneThatCrashes() throws {
        var env = ProcessInfo.processInfo.environment
        env["XDG_DATA_HOME"] = dir + "/data"
        let pack = try hostile("LOWER_SEGV")
        let v = try Fixture.run(Fixture.cli, ["plugins", "verify", pack])
        XCTAssertEqual(v.status, 1, v.stdout)
        XCTAssertTrue(v.stdout.contains("crashed (SIGSEGV, invalid memory access) while lowering 'sin'"), v.stdout)
        let i = try Fixture.run(Fixture.cli, ["plugins", "install", pack], env: env)
        XCTAssertEqual(i.status, 1, i.stderr)
        XCTAssertTrue(i.stderr.contains("fails verification"), i.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/data/jax2onnx/packs/LOWER_SEGV.so"))
    }

    func testALoweringOrAConstructorThatCallsUnderscoreExitIsCaught() throws {
        // _exit skips atexit; the CLI's own _exit (which the pack's call binds to) names the pack.
        let lowering = try hostile("LOWER_EXIT")
        assertOneLine(try convert(lowering), contains: ["pack Hostile@6.6.6 (\(lowering)) called exit while lowering 'sin' at equation 0"])
        let ctor = try hostile("CTOR_EXIT")
        assertOneLine(try convert(ctor), contains: ["pack at \(ctor) called exit while loading"])
    }

    func testVerifyNamesALoweringThatExitsTheProcess() throws {
        let v = try Fixture.run(Fixture.cli, ["plugins", "verify", try hostile("LOWER_EXIT")])
        XCTAssertEqual(v.status, 1, v.stdout)
        XCTAssertTrue(v.stdout.contains("verification failed while lowering 'sin' with 0 operands: jax2onnx: error: pack Hostile@6.6.6"), v.stdout)
        XCTAssertTrue(v.stdout.contains("called exit while lowering 'sin' at equation 0"), v.stdout)
    }

    func testTheBuiltInPacksSurviveTheirGeneratedEquations() throws {
        for name in ["Lax", "Control", "Indexing", "NN", "Random", "Linalg", "Complex"] {
            let r = try Fixture.run(Fixture.cli, ["plugins", "verify", Fixture.buildDir + "/libJ2OPack\(name).so"])
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        }
    }
}
