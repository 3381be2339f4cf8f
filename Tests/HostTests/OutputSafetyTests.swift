import Foundation
import XCTest
@testable import Host

/// The output file scenarios: the bundle is never overwritten, temporary files are neither
/// predictable nor followed through symlinks and do not outlive a killed run, and a model is only
/// ever paired with the weights written with it, even with two conversions racing to one path.
final class OutputSafetyTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try Fixture.tempDir() }

    /// y = x + c with c: f32[n] filled with `fill`; 2^18 elements (1 MiB) land in the sidecar.
    func bundle(_ name: String, fill: Float, n: Int = 1 << 18) throws -> String {
        let path = dir + "/" + name
        let json = """
        {"format":"jax2onnx-bundle","version":1,"tensors":[{"dtype":"f32","shape":[\(n)],"offset":0,"nbytes":\(4 * n)}],
         "program":{"jaxpr":{"constvars":[{"id":1,"aval":{"dtype":"f32","shape":[\(n)]}}],
           "invars":[{"id":2,"aval":{"dtype":"f32","shape":[\(n)]}}],"outvars":[{"var":3}],
           "eqns":[{"prim":"add","in":[{"var":2},{"var":1}],"out":[{"id":3,"aval":{"dtype":"f32","shape":[\(n)]}}],"params":{}}]},
           "consts":[{"tensor":0}]}}
        """
        try Fixture.writeBundle(json, tensors: [[Float](repeating: fill, count: n).withUnsafeBytes { Array($0) }], to: path)
        return path
    }

    func convert(_ input: String, _ output: String) throws -> Fixture.Result {
        try Fixture.run(Fixture.cli, ["convert", input, "-o", output, "--no-optimize"])
    }

    /// The sidecar the model names, and the first f32 of it.
    func sidecarOf(_ model: String) throws -> (name: String, first: Float)? {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        guard let r = bytes.range(of: Data("location".utf8)) else { return nil }
        // ONNX StringStringEntryProto: key "location", then field 2 (0x12), a length, the name.
        let after = bytes[r.upperBound...]
        guard after.first == 0x12 else { return nil }
        let len = Int(after[after.startIndex + 1])
        let name = String(decoding: after[(after.startIndex + 2)..<(after.startIndex + 2 + len)], as: UTF8.self)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        return (name, data.prefix(4).withUnsafeBytes { $0.loadUnaligned(as: Float.self) })
    }

    func testRefusesAnOutputThatIsTheInput() throws {
        let input = try bundle("a.jaxpr", fill: 1)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let same = try convert(input, input)
        XCTAssertEqual(same.status, 2, same.stderr)
        XCTAssertTrue(same.stderr.contains("is the input bundle"), same.stderr)
        XCTAssertEqual(link(input, dir + "/hard.onnx"), 0)
        let hard = try convert(input, dir + "/hard.onnx")
        XCTAssertEqual(hard.status, 2, hard.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), before)
    }

    func testTemporaryNamesAreUnpredictableAndExclusive() throws {
        let a = try OutputFile(finalPath: dir + "/m.onnx"), b = try OutputFile(finalPath: dir + "/m.onnx")
        defer { a.discard(); b.discard() }
        XCTAssertNotEqual(a.tempPath, b.tempPath)
        XCTAssertTrue(a.tempPath.hasPrefix(dir + "/.m.onnx.tmp-\(getpid())-"), a.tempPath)
        // A symlink planted where the output goes is replaced, never written through.
        let victim = dir + "/victim.txt"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: victim))
        XCTAssertEqual(symlink(victim, dir + "/out.onnx"), 0)
        let r = try convert(try bundle("a.jaxpr", fill: 1, n: 4), dir + "/out.onnx")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "keep")
    }

    func testTheNextRunRemovesTemporariesOfDeadProcesses() throws {
        let gone = try Fixture.run("/bin/sh", ["-c", "echo $$"])
        let deadPID = gone.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stale = dir + "/.m.onnx.1234abcd1234abcd.data.tmp-\(deadPID)-0123456789abcdef"
        let live = dir + "/.m.onnx.tmp-\(getpid())-fedcba9876543210"
        for f in [stale, live] { try Data("x".utf8).write(to: URL(fileURLWithPath: f)) }
        let r = try convert(try bundle("a.jaxpr", fill: 1), dir + "/m.onnx")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
    }

    func testAReplacedModelTakesItsWeightsAlongAndLeavesOneSidecar() throws {
        let out = dir + "/m.onnx"
        XCTAssertEqual(try convert(try bundle("a.jaxpr", fill: 1), out).status, 0)
        XCTAssertEqual(try sidecarOf(out)?.first, 1)
        XCTAssertEqual(try convert(try bundle("b.jaxpr", fill: 2), out).status, 0)
        XCTAssertEqual(try sidecarOf(out)?.first, 2)
        let sidecars = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("m.onnx.") }
        XCTAssertEqual(sidecars, [try sidecarOf(out)!.name])
    }

    func testConcurrentWritersNeverPairAModelWithAnotherModelsWeights() throws {
        // The two models differ in their constant's length, which the model records and the
        // sidecar's size must match.
        let a = try bundle("a.jaxpr", fill: 1), b = try bundle("b.jaxpr", fill: 2, n: (1 << 18) + 16)
        let out = dir + "/m.onnx"
        for _ in 0..<4 {
            let group = DispatchGroup()
            let codes = Codes()
            for (k, input) in [a, b].enumerated() {
                DispatchQueue.global().async(group: group) {
                    codes.set(k, (try? self.convert(input, out))?.status ?? -1)
                }
            }
            group.wait()
            XCTAssertEqual(codes.values, [0, 0])
            // Whichever won, its sidecar is there and holds its own weights.
            let (name, first) = try XCTUnwrap(try sidecarOf(out))
            let model = try Data(contentsOf: URL(fileURLWithPath: out))
            let size = try FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as! Int
            let n = first == 1 ? 1 << 18 : (1 << 18) + 16
            XCTAssertEqual(size, 4 * n)
            XCTAssertNotNil(model.range(of: Data(String(4 * n).utf8)), "the model does not record its sidecar's length")
            let sidecars = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("m.onnx.") }
            XCTAssertEqual(sidecars, [name])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }, [])
        }
    }
}

private final class Codes: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Int32] = [-1, -1]
    func set(_ k: Int, _ v: Int32) { lock.lock(); values[k] = v; lock.unlock() }
}
