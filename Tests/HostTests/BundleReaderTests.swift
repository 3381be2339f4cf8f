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

    /// Version 2 with the data-file flag: the header's data section lies in the file the JSON's
    /// "data_file" names, relative to the bundle's folder.
    func testReadsConstantsFromASeparateDataFile() throws {
        let dir = try Fixture.tempDir()
        let weights: [Float] = [0.5, -1, 2, 8]
        let json = """
        {"format":"jax2onnx-bundle","version":2,"data_file":"m.data","tensors":[{"dtype":"f32","shape":[4],"offset":64,"nbytes":16}],
         "program":{"jaxpr":{"constvars":[{"id":1,"aval":{"dtype":"f32","shape":[4]}}],"invars":[],"outvars":[{"var":1}],"eqns":[]},"consts":[{"tensor":0}]}}
        """
        func write(flags: UInt32, version: UInt32 = 2, dataLength: Int = 80) throws {
            var file = Array("J2OBNDL".utf8) + [0]
            func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { file += $0 } }
            func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { file += $0 } }
            u32(version); u32(flags); u64(64); u64(json.utf8.count); u64(0); u64(dataLength)
            file += [UInt8](repeating: 0, count: 16) + Array(json.utf8)
            try Data(file).write(to: URL(fileURLWithPath: dir + "/m.jaxpr"))
        }
        let data = [UInt8](repeating: 9, count: 64) + weights.withUnsafeBytes { Array($0) }
        try Data(data).write(to: URL(fileURLWithPath: dir + "/m.data"))
        try write(flags: 1)
        let b = try BundleReader.read(path: dir + "/m.jaxpr")
        XCTAssertTrue(b.hasSeparateDataFile)
        XCTAssertEqual(Array(b.bytes(ofTensor: 0).bindMemory(to: Float.self)), weights)

        try write(flags: 1, dataLength: 4096)
        XCTAssertTrue(readError(dir + "/m.jaxpr").contains("outside the 80-byte data file"), readError(dir + "/m.jaxpr"))
        try write(flags: 1, version: 1)
        XCTAssertTrue(readError(dir + "/m.jaxpr").contains("unknown header flags"), readError(dir + "/m.jaxpr"))
        try FileManager.default.removeItem(atPath: dir + "/m.data")
        try write(flags: 1)
        XCTAssertTrue(readError(dir + "/m.jaxpr").contains("cannot open"), readError(dir + "/m.jaxpr"))
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
        var bytes = Array("[1, 1.0, -3, 2e3, -9223372036854775808, 9223372036854775808, \"a\\u00e9\\n\"]".utf8)
        try bytes.withUnsafeMutableBufferPointer { buf in
            var c = JSONCursor(UnsafeBufferPointer(buf), arena: ByteArena())
            var numbers: [String] = []
            try c.beginArray()
            var first = true
            while try c.nextElement(&first) {
                if try c.peek() == UInt8(ascii: "\"") {
                    XCTAssertEqual(try c.string().text, "a\u{e9}\n")
                    continue
                }
                switch try c.number() {
                case let .int(v): numbers.append("int \(v)")
                case let .double(v): numbers.append("double \(v)")
                }
            }
            XCTAssertTrue(c.atEnd())
            XCTAssertEqual(numbers, ["int 1", "double 1.0", "int -3", "double 2000.0", "int -9223372036854775808",
                                     "double 9.223372036854776e+18"])
        }
    }

    /// A program with one `sin` equation whose parts can be swapped out to test one thing each.
    func unaryBundle(_ eqn: String = #"{"prim":"sin","in":[{"var":1}],"out":[{"id":2,"aval":{"dtype":"f32","shape":["B",3]}}],"params":{}}"#,
                     outvar: String = #"{"var":2}"#) -> String {
        """
        {"format":"jax2onnx-bundle","version":1,"tensors":[],
         "program":{"jaxpr":{"constvars":[],"invars":[{"id":1,"aval":{"dtype":"f32","shape":["B",3]}}],
                             "outvars":[\(outvar)],"eqns":[\(eqn)]},"consts":[]}}
        """
    }

    func testErrorsNameTheirPlaceInTheProgram() throws {
        let dir = try Fixture.tempDir()
        let cases: [(String, String)] = [
            (#"{"prim":"sin","in":[{"var":1}],"out":[{"id":2,"aval":{"dtype":"f32","shape":[-1]}}]}"#,
             "program.jaxpr.eqns[0] (sin).out[0]: a dimension is a non-negative integer"),
            (#"{"in":[{"var":1}],"prim":"cos","out":[{"id":2}]}"#, "program.jaxpr.eqns[0] (cos).out[0]: missing aval"),
            (#"{"prim":"sin","in":[{"nope":1}],"out":[]}"#, "program.jaxpr.eqns[0] (sin).in[0]: an atom is"),
            (#"{"prim":"sin","in":[{"var":1}],"out":[],"params":{"k":{"$":"record","type":"R","fields":{"x":{"$":"float","v":"big"}}}}}"#,
             "program.jaxpr.eqns[0] (sin).params.k.x: float tag takes"),
            (#"{"prim":"sin","in":[{"lit":{"aval":{"dtype":"f32","shape":[]},"tensor":3}}],"out":[]}"#,
             "program.jaxpr.eqns[0] (sin).in[0]: tensor index 3 is not in the tensor table (0 entries)"),
            (#"{"prim":"sin","in":[],"out":[],"params":[1]}"#, "program.jaxpr.eqns[0] (sin): 'params' must be an object"),
            (#"{"in":[],"out":[]}"#, "program.jaxpr.eqns[0]: equation needs 'prim'"),
        ]
        for (k, (eqn, expected)) in cases.enumerated() {
            let path = dir + "/e\(k).jaxpr"
            try Fixture.writeBundle(unaryBundle(eqn), to: path)
            XCTAssertTrue(readError(path).contains(expected), "\(eqn)\n\(readError(path))")
        }
        try Fixture.writeBundle(unaryBundle().replacingOccurrences(of: "jax2onnx-bundle", with: "other"), to: dir + "/f.jaxpr")
        XCTAssertTrue(readError(dir + "/f.jaxpr").contains("JSON 'format' is not"), readError(dir + "/f.jaxpr"))
        try Fixture.writeBundle(unaryBundle(#"{"prim":"sin","in":[{"var":1}],"out":[]}, ]"#), to: dir + "/j.jaxpr")
        XCTAssertTrue(readError(dir + "/j.jaxpr").contains("invalid JSON at byte"), readError(dir + "/j.jaxpr"))
    }

    func testMembersMayComeInAnyOrder() throws {
        let path = try Fixture.tempDir() + "/m.jaxpr"
        // Program before tensors and format, tag after the members it governs, an escaped key.
        let json = """
        {"program":{"consts":[{"tensor":0}],"jaxpr":{"eqns":[{"params":{"v":{"v":"i32","$":"dtype"},"w":{"fields":{"a":1},"$":"record"}},
           "out":[{"aval":{"shape":[2],"dtype":"f32"},"id":3}],"in":[{"var":1},{"lit":{"value":{"v":"-inf","$":"float"},"aval":{"shape":[],"dtype":"f32"}}}],
           "pr\\u0069m":"add"}],
           "outvars":[{"var":3}],"invars":[{"aval":{"dtype":"f32","shape":[2]},"id":2}],"constvars":[{"id":1,"aval":{"dtype":"f32","shape":[2]}}]}},
         "tensors":[{"nbytes":8,"offset":0,"shape":[2],"dtype":"f32"}],"format":"jax2onnx-bundle","name":"late"}
        """
        try Fixture.writeBundle(json, tensors: [[UInt8](repeating: 0, count: 8)], to: path)
        let b = try BundleReader.read(path: path)
        XCTAssertEqual(b.name, "late")
        let e = b.program.jaxpr.equations[0]
        XCTAssertEqual(e.primitive, "add")
        XCTAssertEqual(e.params.field("v")?.dtype, .i32)
        XCTAssertEqual(e.params.field("w")?.field("a")?.int, 1)
        if case let .literal(lit) = e.inputs[1], case let .double(v) = lit.value { XCTAssertEqual(v, -.infinity) } else { XCTFail("literal") }
        XCTAssertEqual(e.outputs[0].type, TensorType(.f32, [.known(2)]))
    }

    func testRepeatedParamsAndAvalsAreShared() throws {
        let path = try Fixture.tempDir() + "/m.jaxpr"
        let eqn = { (a: Int, p: String) in
            #"{"prim":"reduce_sum","in":[{"var":\#(a)}],"out":[{"id":\#(a + 1),"aval":{"dtype":"f32","shape":["B",3]}}],"params":\#(p)}"#
        }
        let eqns = [eqn(1, #"{"axes":[1]}"#), eqn(2, #"{"axes":[0]}"#), eqn(3, #"{"axes":[1]}"#)].joined(separator: ",")
        try Fixture.writeBundle(unaryBundle(eqns, outvar: #"{"var":4}"#), to: path)
        let es = try BundleReader.read(path: path).program.jaxpr.equations
        XCTAssertTrue(es[0].params === es[2].params)
        XCTAssertFalse(es[0].params === es[1].params)
        XCTAssertEqual(es[1].params.field("axes")?.items.map(\.int), [0])
        XCTAssertEqual(es[2].outputs[0].type, TensorType(.f32, [.symbolic("B"), .known(3)]))
    }

    func testDimExpressions() throws {
        let e = try DimExpr.parse("floordiv(2*B + T, 3) - mod(B, 2)")
        XCTAssertEqual(e.symbols, ["B", "T"])
        XCTAssertEqual(e.evaluate(["B": 5, "T": 4]), 4 - 1)
        XCTAssertEqual(try DimExpr.parse("max(B, 1)").evaluate(["B": 0]), 1)
        XCTAssertThrowsError(try DimExpr.parse("B +"))
    }
}
