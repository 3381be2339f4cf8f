import Foundation
import XCTest
@testable import Host

final class BundleReaderTests: XCTestCase {
    func readError(_ path: String) -> String {
        do { _ = try BundleReader.read(path: path); return "read" } catch { return "\(error)" }
    }

    func testReadsProgramTensorsAndParams() throws {
        let path = try Fixture.tempDir() + "/m.jaxpr"
        let weights: [Float] = [1.5, -2, 3.25, 4]
        let json = """
        {"format":"jax2onnx-bundle","version":1,"name":"tiny","tensors":[{"dtype":"f32","shape":[2,2],"offset":0,"nbytes":16}],
         "program":{"jaxpr":{"constvars":[{"id":1,"aval":{"dtype":"f32","shape":[2,2]}}],
           "invars":[{"id":2,"aval":{"dtype":"f32","shape":["B",2]}}],"outvars":[{"var":3},{"lit":{"aval":{"dtype":"f32","shape":[]},"value":2.5}}],
           "eqns":[{"prim":"dot_general","in":[{"var":2},{"var":1}],"out":[{"id":3,"aval":{"dtype":"f32","shape":["B",2]}},{"drop":true,"aval":{"dtype":"i32","shape":[]}}],
             "params":{"dimension_numbers":[[[1],[0]],[[],[]]],"precision":null,"preferred_element_type":{"$":"dtype","v":"f32"},
                       "mode":{"$":"enum","type":"GatherScatterMode","name":"CLIP","value":1},"size":{"$":"dim","v":"2*B"},
                       "dn":{"$":"record","type":"ConvDimensionNumbers","fields":{"lhs_spec":[0,3,1,2]}},
                       "fn":{"$":"opaque","type":"function","repr":"<fn>"},"eps":1e-05,"nan":{"$":"float","v":"nan"}},
             "src":{"file":"/home/u/m.py","line":7,"fn":"forward"},"scope":"MLP/linear"}]},"consts":[{"tensor":0}]}}
        """
        try Fixture.writeBundle(json, tensors: [weights.withUnsafeBytes { Array($0) }], to: path)
        let b = try BundleReader.read(path: path)
        XCTAssertEqual(b.name, "tiny")
        XCTAssertEqual(b.tensors.count, 1)
        XCTAssertEqual(b.tensors[0].offset % 64, 0)
        XCTAssertEqual(Array(b.bytes(ofTensor: 0).bindMemory(to: Float.self)), weights)
        let j = b.program.jaxpr
        XCTAssertEqual(j.invars[0].type.shape, [.symbolic("B"), .known(2)])
        let e = j.equations[0]
        XCTAssertEqual(e.primitive, "dot_general")
        XCTAssertNil(e.outputs[1].id, "dropped output")
        XCTAssertEqual(e.source?.description, "/home/u/m.py:7 (forward)")
        XCTAssertEqual(e.scope, "MLP/linear")
        XCTAssertEqual(e.params.field("mode")?.text?.string, "CLIP")
        XCTAssertEqual(e.params.field("mode")?.int, 1)
        XCTAssertEqual(e.params.field("size")?.text?.string, "2*B")
        XCTAssertEqual(e.params.field("dn")?.typeName?.string, "ConvDimensionNumbers")
        XCTAssertEqual(e.params.field("dn")?.field("lhs_spec")?.items.map(\.int), [0, 3, 1, 2])
        XCTAssertEqual(e.params.field("eps")?.double, 1e-5)
        XCTAssertTrue(e.params.field("nan")!.double.isNaN)
        XCTAssertEqual(e.params.field("preferred_element_type")?.dtype, .f32)
        if case let .literal(lit) = j.outvars[1], case let .double(v) = lit.value { XCTAssertEqual(v, 2.5) } else { XCTFail("literal outvar") }
    }

    func testTruncatedFileIsAnError() throws {
        let dir = try Fixture.tempDir()
        let path = dir + "/m.jaxpr"
        try Fixture.writeBundle(Fixture.unaryProgram(["sin"]), tensors: [[UInt8](repeating: 7, count: 256)], to: path)
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        for cut in [10, 64, full.count / 2, full.count - 1] {
            let t = dir + "/cut\(cut).jaxpr"
            try full.prefix(cut).write(to: URL(fileURLWithPath: t))
            let e = readError(t)
            XCTAssertTrue(e.contains("malformed bundle"), "cut at \(cut): \(e)")
        }
    }

    func testTensorOutsideTheDataSection() throws {
        let path = try Fixture.tempDir() + "/m.jaxpr"
        let json = Fixture.unaryProgram(["sin"]).replacingOccurrences(
            of: "\"tensors\":[]", with: "\"tensors\":[{\"dtype\":\"f32\",\"shape\":[4],\"offset\":64,\"nbytes\":16}]")
        try Fixture.writeBundle(json, tensors: [[UInt8](repeating: 0, count: 16)], to: path)
        XCTAssertTrue(readError(path).contains("outside the 16-byte data section"), readError(path))
    }

    func testUnknownVersionAndBadMagic() throws {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(Fixture.unaryProgram(["sin"]), to: dir + "/v9.jaxpr", version: 9)
        XCTAssertTrue(readError(dir + "/v9.jaxpr").contains("bundle version 9 is not supported"))
        try Data(repeating: 0x41, count: 200).write(to: URL(fileURLWithPath: dir + "/junk.jaxpr"))
        XCTAssertTrue(readError(dir + "/junk.jaxpr").contains("bad magic"))
    }

    func testMalformedJSONNamesTheOffset() throws {
        let path = try Fixture.tempDir() + "/m.jaxpr"
        try Fixture.writeBundle("{\"format\": \"jax2onnx-bundle\", \"program\": [1, 2", to: path)
        XCTAssertTrue(readError(path).contains("invalid JSON at byte"), readError(path))
    }

    func testJSONNumbersKeepIntAndFloatApart() throws {
        XCTAssertEqual(try JSONParser.parse("[1, 1.0, -3, 2e3, \"a\\u00e9\\n\"]"),
                       .array([.int(1), .double(1), .int(-3), .double(2000), .string("aé\n")]))
    }

    func testDimExpressions() throws {
        let e = try DimExpr.parse("floordiv(2*B + T, 3) - mod(B, 2)")
        XCTAssertEqual(e.symbols, ["B", "T"])
        XCTAssertEqual(e.evaluate(["B": 5, "T": 4]), 4 - 1)
        XCTAssertEqual(try DimExpr.parse("max(B, 1)").evaluate(["B": 0]), 1)
        XCTAssertThrowsError(try DimExpr.parse("B +"))
    }
}
