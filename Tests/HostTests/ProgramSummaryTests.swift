import Foundation
import XCTest
@testable import Host

/// A nested program's param_string: the one-line summary packs match simple bodies against.
final class ProgramSummaryTests: XCTestCase {
    func testSummaryNamesOperandsByPosition() throws {
        let path = try Fixture.tempDir() + "/rw.jaxpr"
        let scalar = #"{"dtype":"f32","shape":[]}"#
        let body = """
        {"$":"jaxpr","v":{"constvars":[],"invars":[{"id":20,"aval":\(scalar)},{"id":21,"aval":\(scalar)}],
          "outvars":[{"var":23}],
          "eqns":[{"prim":"max","in":[{"var":21},{"var":20}],"out":[{"id":22,"aval":\(scalar)}],"params":{}},
                  {"prim":"add","in":[{"var":22},{"lit":{"aval":\(scalar),"value":1.5}}],"out":[{"id":23,"aval":\(scalar)}],"params":{}}]}}
        """
        let json = """
        {"format":"jax2onnx-bundle","version":1,"name":"rw","tensors":[],
         "program":{"jaxpr":{"constvars":[],"invars":[{"id":1,"aval":{"dtype":"f32","shape":[4]}}],"outvars":[{"var":2}],
           "eqns":[{"prim":"reduce_window","in":[{"var":1},{"lit":{"aval":\(scalar),"value":0.0}}],
                    "out":[{"id":2,"aval":{"dtype":"f32","shape":[3]}}],"params":{"jaxpr":\(body)}}]},"consts":[]}}
        """
        try Fixture.writeBundle(json, to: path)
        let b = try BundleReader.read(path: path)
        let p = try XCTUnwrap(b.program.jaxpr.equations[0].params.field("jaxpr"))
        XCTAssertEqual(p.displayText?.string, "(i0, i1) { v0 = max(i1, i0); v1 = add(v0, 1.5) } (v1)")
    }
}
