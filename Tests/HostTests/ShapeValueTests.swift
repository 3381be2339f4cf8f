import Foundation
import XCTest
@testable import Host

/// shape_value and dim_value: shapes with symbolic dims are the host's nodes, built once per graph.
final class ShapeValueTests: XCTestCase {
    func buildShapePack(_ dir: String, defines: [String] = []) throws -> String {
        let out = dir + "/shapes.so"
        let src = Fixture.testsDir.appendingPathComponent("Fixtures/shape_pack.c").path
        let r = try Fixture.run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-std=c99", "-Wall", "-Werror", "-I", Fixture.headerDir]
                                + defines.map { "-D" + $0 } + ["-o", out, src])
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    func lower(_ json: String, packs: [String] = []) throws -> Graph {
        let dir = try Fixture.tempDir()
        try Fixture.writeBundle(json, to: dir + "/m.jaxpr")
        let registry = try Registry.load(SearchPath(plugins: packs, environment: [:]))
        return try Lowerer(bundle: try BundleReader.read(path: dir + "/m.jaxpr"), registry: registry, opset: 23).run()
    }

    func count(_ g: Graph, _ op: String) -> Int { g.nodes.filter { $0.op == op }.count }

    func testShapeValueIsCachedAndItsNodesAreTheHosts() throws {
        let dir = try Fixture.tempDir()
        let pack = try buildShapePack(dir)
        // Two equations ask for the same shapes: B is read from the input once for the graph.
        let g = try lower(Fixture.unaryProgram(["sin", "sin"]), packs: [pack])
        XCTAssertEqual(count(g, "Shape"), 1, g.nodes.map(\.op).description)
        XCTAssertEqual(count(g, "Mul"), 1, "2*B is built once")
        XCTAssertEqual(count(g, "Concat"), 3, "[B,3], [2*B,3] and [1,2,B,4,5], once each")
        XCTAssertEqual(count(g, "Expand"), 2)
        // The host's nodes carry no pack provenance, the pack's do.
        for n in g.nodes where n.op != "Expand" { XCTAssertLessThan(n.origin, 0, n.op) }
    }

    func testShapeValueOfAnUnparsableDimNamesIt() throws {
        let dir = try Fixture.tempDir()
        let pack = try buildShapePack(dir, defines: ["BAD_DIM"])
        XCTAssertThrowsError(try lower(Fixture.unaryProgram(["sin"]), packs: [pack])) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("equation 0 (sin) at model.py:10 (f): pack Shapes@1.0.0"), m)
            XCTAssertTrue(m.contains("cannot parse dimension '3 +'"), m)
        }
    }

    /// The built-in Lax pack under symbolic dims: broadcast_in_dim of a scalar, reshape and iota,
    /// whose claims list no Shape, Concat or Mul, share each symbol's read and each shape's value.
    func testLaxLoweringsShareOneReadPerSymbol() throws {
        func eqn(_ prim: String, _ input: String?, _ out: Int, _ dtype: String, _ shape: String, _ params: String) -> String {
            let ins = input.map { "[\($0)]" } ?? "[]"
            return "{\"prim\":\"\(prim)\",\"in\":\(ins),\"out\":[{\"id\":\(out),\"aval\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape)}}],\"params\":{\(params)}}"
        }
        func dim(_ e: String) -> String { "{\"$\":\"dim\",\"v\":\"\(e)\"}" }
        let zero = "{\"lit\":{\"aval\":{\"dtype\":\"f32\",\"shape\":[]},\"value\":0.0}}"
        let broadcastBT = "\"shape\":[\(dim("B")),\(dim("T"))],\"broadcast_dimensions\":[],\"sharding\":null"
        let broadcast2B = "\"shape\":[\(dim("2*B"))],\"broadcast_dimensions\":[],\"sharding\":null"
        let eqns = [
            eqn("broadcast_in_dim", zero, 2, "f32", "[\"B\",\"T\"]", broadcastBT),
            eqn("broadcast_in_dim", zero, 3, "f32", "[\"B\",\"T\"]", broadcastBT),
            // (B, T) -> (B*T) needs no runtime shape ([-1]); back to (B, T) twice builds [-1, T] once.
            eqn("reshape", "{\"var\":1}", 4, "f32", "[\"B*T\"]", "\"new_sizes\":[\(dim("B*T"))],\"dimensions\":null"),
            eqn("reshape", "{\"var\":4}", 5, "f32", "[\"B\",\"T\"]", "\"new_sizes\":[\(dim("B")),\(dim("T"))],\"dimensions\":null"),
            eqn("reshape", "{\"var\":4}", 9, "f32", "[\"B\",\"T\"]", "\"new_sizes\":[\(dim("B")),\(dim("T"))],\"dimensions\":null"),
            eqn("iota", nil, 6, "i32", "[\"T\"]", "\"dtype\":\"i32\",\"shape\":[\(dim("T"))],\"dimension\":0,\"sharding\":null"),
            eqn("broadcast_in_dim", zero, 7, "f32", "[\"2*B\"]", broadcast2B),
            eqn("broadcast_in_dim", zero, 8, "f32", "[\"2*B\"]", broadcast2B),
        ]
        let json = """
        {"format":"jax2onnx-bundle","version":1,"tensors":[],
         "program":{"jaxpr":{"constvars":[],"invars":[{"id":1,"aval":{"dtype":"f32","shape":["B","T"]}}],
                             "outvars":[{"var":2},{"var":3},{"var":4},{"var":5},{"var":6},{"var":7},{"var":8},{"var":9}],
                             "eqns":[\(eqns.joined(separator: ","))]},"consts":[]}}
        """
        let g = try lower(json)
        let ops = g.nodes.map(\.op).description
        XCTAssertEqual(count(g, "Shape"), 2, ops)
        XCTAssertEqual(count(g, "Concat"), 2, "[B, T] once for two broadcasts, [-1, T] once for two reshapes: \(ops)")
        XCTAssertEqual(count(g, "Mul"), 1, "2*B once: \(ops)")
        XCTAssertEqual(count(g, "Reshape"), 3, ops)
        XCTAssertEqual(g.outputs.map { g.values[Int($0.value)].shape?.description ?? "?" },
                       ["[B, T]", "[B, T]", "[B*T]", "[B, T]", "[T]", "[2*B]", "[2*B]", "[B, T]"])
    }
}
