import Foundation
import XCTest
@testable import Host

/// Inputs the fuzzer found crashing the host or passing with an invalid model: each now ends with
/// a one-line error and exit 1 or 2, and no model.
final class HostileInputTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try Fixture.tempDir() }

    /// One equation over x: f32[6,5] (and idx: i32[3,1] when `indexed`), output its first result.
    func program(_ eqn: String, out: String = #"{"dtype":"f32","shape":[6,5]}"#, extra: String = "",
                 indexed: Bool = false, outvars: String = #"[{"var":9}]"#) -> String {
        let idx = indexed ? #",{"id":2,"aval":{"dtype":"i32","shape":[3,1]}}"# : ""
        return """
        {"format":"jax2onnx-bundle","version":1,"tensors":[],\(extra)
         "program":{"jaxpr":{"constvars":[],"invars":[{"id":1,"aval":{"dtype":"f32","shape":[6,5]}}\(idx)],
           "outvars":\(outvars),"eqns":[\(eqn.replacingOccurrences(of: "OUT", with: #"[{"id":9,"aval":\#(out)}]"#))]},"consts":[]}}
        """
    }

    func convert(_ json: String) throws -> Fixture.Result {
        try Fixture.writeBundle(json, to: dir + "/m.jaxpr")
        return try Fixture.run(Fixture.cli, ["convert", dir + "/m.jaxpr", "-o", dir + "/m.onnx"])
    }

    func assertRefused(_ json: String, _ expected: String, status: Int32 = 1, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try convert(json)
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(expected), "expected '\(expected)' in: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.onnx"), file: file, line: line)
    }

    func testAnEquationWithTooFewOperands() throws {
        try assertRefused(program(#"{"prim":"add","in":[{"var":1}],"out":OUT,"params":{}}"#),
                          "add has 1 operand; its lowering needs operand 1")
    }

    func testAnEquationWithNoResults() throws {
        try assertRefused(program(#"{"prim":"sin","in":[{"var":1}],"out":[],"params":{}}"#, outvars: #"[{"var":1}]"#),
                          "lowering returned 1 values for 0 outputs")
    }

    func testATransposeWithARepeatedAxis() throws {
        try assertRefused(program(#"{"prim":"transpose","in":[{"var":1}],"out":OUT,"params":{"permutation":[0,0]}}"#),
                          "[0, 0] is not a permutation of 2 axes")
    }

    func testRepeatedGraphNamesAndNoOutputs() throws {
        try assertRefused(program(#"{"prim":"sin","in":[{"var":1}],"out":OUT,"params":{}}"#,
                                  extra: #""input_names":["x"],"output_names":["x"],"#),
                          "output 0 is named 'x', a name already used")
        try assertRefused(program(#"{"prim":"sin","in":[{"var":1}],"out":OUT,"params":{}}"#, outvars: "[]"),
                          "the program has no outputs")
    }

    func testHugeShapesAreRefusedByTheReader() throws {
        try assertRefused(program(#"{"prim":"sin","in":[{"var":1}],"out":OUT,"params":{}}"#,
                                  out: #"{"dtype":"f32","shape":[4294967296,4294967296]}"#),
                          "more than 2^56 elements", status: 2)
    }

    func testGatherSliceSizesOutOfRange() throws {
        let gather = #"""
        {"prim":"gather","in":[{"var":1},{"var":2}],"out":OUT,"params":{"dimension_numbers":{"$":"record","type":"GatherDimensionNumbers","fields":{"offset_dims":[1],"collapsed_slice_dims":[0],"start_index_map":[0],"operand_batching_dims":[],"start_indices_batching_dims":[]}},"slice_sizes":[1,SIZE],"unique_indices":false,"indices_are_sorted":false,"mode":{"$":"enum","type":"GatherScatterMode","name":"CLIP","value":0},"fill_value":null}}
        """#
        for size in ["-1", "2147483648", "9223372036854775807"] {
            let r = try convert(program(gather.replacingOccurrences(of: "SIZE", with: size), out: #"{"dtype":"f32","shape":[3,5]}"#, indexed: true))
            XCTAssertTrue(r.status == 1 || r.status == 2, "slice size \(size): \(r.status) \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr)
        }
    }

    func testDimensionExpressionsNeverTrap() throws {
        XCTAssertNil(try DimExpr.parse("B + 9223372036854775807").evaluate(["B": 1]))
        XCTAssertThrowsError(try DimExpr.parse("mod(-9223372036854775808, -1)"), "2^63 does not parse as a literal")
        XCTAssertEqual(try DimExpr.parse("mod(-9223372036854775807 - 1, -1)").evaluate([:]), 0)
        XCTAssertNil(try DimExpr.parse("floordiv(-9223372036854775807 - 1, -1)").evaluate([:]))
        XCTAssertEqual(try DimExpr.parse("floordiv(-7, 2)").evaluate([:]), -4)
        XCTAssertEqual(try DimExpr.parse("floordiv(9007199254740993, 1)").evaluate([:]), 9_007_199_254_740_993)
        XCTAssertEqual(try DimExpr.parse("mod(-7, 3)").evaluate([:]), 2)
        XCTAssertNil(try DimExpr.parse("3*B*B").evaluate(["B": 1 << 32]))
        XCTAssertThrowsError(try DimExpr.parse("99999999999999999999"))
        XCTAssertThrowsError(try DimExpr.parse(String(repeating: "(", count: 100_000) + "B"))
    }

    /// Bundles the fuzzers turned up (Fixtures/hostile: params set to -1, 2^31, 2^63-1 and the
    /// like, operands dropped): each was a trap inside a lowering; now each is a one-line error.
    func testFoundCrashesAreOneLineErrors() throws {
        let folder = Fixture.testsDir.appendingPathComponent("Fixtures/hostile").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasSuffix(".jaxpr") && !$0.hasPrefix("invalid-") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 10)
        for f in files {
            let r = try Fixture.run(Fixture.cli, ["convert", folder + "/" + f, "-o", dir + "/m.onnx"])
            if r.status == 0 { continue }  // a mutant may still be a valid program
            XCTAssertTrue(r.status == 1 || r.status == 2, "\(f): exit \(r.status)\n\(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(f): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), "\(f): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("crashed"), "\(f): \(r.stderr)")
        }
    }

    /// A lowering may leave a long chain of intermediates unannotated (random_gamma's unrolled
    /// rejection steps at opset 17 made about 700): asking the shape of the last one first must
    /// not recurse once per node, which overflowed the stack.
    func testShapeOfTheEndOfALongUnannotatedChain() {
        let g = Graph()
        var v = g.addInput(name: "x", type: TensorType(.f32, [.symbolic("B"), .known(4)]))
        for k in 0..<20_000 {
            let n = g.addNode(k % 2 == 0 ? "Neg" : "Relu", [v], outputCount: 1)
            v = g.nodes[n].outputs[0]
        }
        g.addOutput(v, name: "y")
        XCTAssertNil(g.values[Int(v)].shape)
        XCTAssertEqual(Rewriter(g, opset: 17).shape(v), [.symbolic("B"), .known(4)])
    }

    /// ONNX Runtime's Pad takes one padding value; a bundle handing pad a vector is refused.
    func testAPadWithMoreThanOnePaddingValueIsRefused() throws {
        let json = """
        {"format":"jax2onnx-bundle","version":1,"tensors":[],
         "program":{"jaxpr":{"constvars":[],"invars":[{"id":1,"aval":{"dtype":"f32","shape":[4]}},{"id":2,"aval":{"dtype":"f32","shape":[3]}}],
          "outvars":[{"var":3}],"eqns":[{"prim":"pad","in":[{"var":1},{"var":2}],"out":[{"id":3,"aval":{"dtype":"f32","shape":[6]}}],
          "params":{"padding_config":[[1,1,0]]}}]},"consts":[]}}
        """
        try Fixture.writeBundle(json, to: dir + "/pad.jaxpr")
        let r = try Fixture.run(Fixture.cli, ["convert", dir + "/pad.jaxpr", "-o", dir + "/pad.onnx"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("padding value of shape [3]"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/pad.onnx"))
    }

    /// A convolution's group counts near 2^62 (the fuzzer's kind of number): checking XLA's
    /// feature rule must not overflow inside the NN pack.
    func testHugeConvolutionGroupCountsAreOneLineErrors() throws {
        for (feature, batch) in [("4611686018427387904", "1"), ("1", "4611686018427387904"), ("9223372036854775807", "9223372036854775807")] {
            let json = """
            {"format":"jax2onnx-bundle","version":1,"tensors":[],
             "program":{"jaxpr":{"constvars":[],"invars":[{"id":1,"aval":{"dtype":"f32","shape":[1,2,5,5]}},{"id":2,"aval":{"dtype":"f32","shape":[2,2,3,3]}}],
              "outvars":[{"var":3}],"eqns":[{"prim":"conv_general_dilated","in":[{"var":1},{"var":2}],"out":[{"id":3,"aval":{"dtype":"f32","shape":[1,2,3,3]}}],
              "params":{"window_strides":[1,1],"padding":[[0,0],[0,0]],"lhs_dilation":[1,1],"rhs_dilation":[1,1],
               "dimension_numbers":{"$":"record","type":"ConvDimensionNumbers","fields":{"lhs_spec":[0,1,2,3],"rhs_spec":[0,1,2,3],"out_spec":[0,1,2,3]}},
               "feature_group_count":\(feature),"batch_group_count":\(batch),"precision":null,"preferred_element_type":null}}]},"consts":[]}}
            """
            try Fixture.writeBundle(json, to: dir + "/conv.jaxpr")
            let r = try Fixture.run(Fixture.cli, ["convert", dir + "/conv.jaxpr", "-o", dir + "/conv.onnx"])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains("conv_general_dilated"), r.stderr)
            XCTAssertFalse(r.stderr.contains("crashed"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/conv.onnx"))
        }
    }

    /// JSON as the standard has it: a raw control character inside a string, or a number with a
    /// leading zero, is a damaged file (exit 2), not a dimension name with a NUL in it or a 1.
    func testRawControlCharactersAndLeadingZerosAreMalformed() throws {
        let good = Fixture.unaryProgram(["sin"])
        for (bad, what) in [(good.replacingOccurrences(of: "\"B\"", with: "\"\u{0}B\""), "unescaped control character"),
                            (good.replacingOccurrences(of: "\"var\":1}", with: "\"var\":01}"), "leading zero")] {
            XCTAssertNotEqual(bad, good)
            try Fixture.writeBundle(bad, to: dir + "/bad.jaxpr")
            let r = try Fixture.run(Fixture.cli, ["convert", dir + "/bad.jaxpr", "-o", dir + "/bad.onnx"])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains(what), r.stderr)
        }
        // Escaped, the same characters are fine where a string may hold them.
        try Fixture.writeBundle(good.replacingOccurrences(of: "\"fn\":\"f\"", with: "\"fn\":\"f\\u0000\""), to: dir + "/ok.jaxpr")
        XCTAssertEqual(try Fixture.run(Fixture.cli, ["convert", dir + "/ok.jaxpr", "-o", dir + "/ok.onnx"]).status, 0)
    }

    /// Bundles the fuzz corpus sample turned up that exited 0 with a model onnx.checker or ONNX
    /// Runtime rejects (Fixtures/hostile/invalid-*): shapes that cannot go together, declared shapes
    /// the ops' rules contradict (inside Loop and Scan bodies too, on a Loop's or Scan's own
    /// outputs, through a GatherND or an Expand whose target is computed from `Shape`), axes
    /// outside an operand, a Squeeze of a size other than 1; then models that loaded but ran at no
    /// size: an equation passing its operand through under another declared shape (33), a
    /// Reshape to a literal 0 under allowzero (34), symbolic sizes that are other polynomials of
    /// the same symbols (35: 2*B for 1*B; 36: B for -B). Each is now refused by the shape check
    /// (exit 1, the equation named) and writes nothing.
    func testFoundInvalidModelsAreRefused() throws {
        let folder = Fixture.testsDir.appendingPathComponent("Fixtures/hostile").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("invalid-") }.sorted()
        XCTAssertEqual(files.count, 27)
        for f in files {
            let out = dir + "/" + f + ".onnx"
            let r = try Fixture.run(Fixture.cli, ["convert", folder + "/" + f, "-o", out])
            XCTAssertEqual(r.status, 1, "\(f): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), "\(f): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("equation"), "\(f): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), f)
        }
    }
}
