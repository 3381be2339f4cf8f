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

    /// The built-in Lax pack under symbolic dims: broadcast_in_dim, reshape to (B*T) and iota,
    /// claims that list no Shape, Concat or Mul, each symbol read once.
    func testLaxLoweringsShareOneReadPerSymbol() throws {
        func eqn(_ prim: String, _ input: Int?, _ out: Int, _ dtype: String, _ shape: String, _ params: String) -> String {
            let ins = input.map { "[{\"var\":\($0)}]" } ?? "[]"
            return "{\"prim\":\"\(prim)\",\"in\":\(ins),\"out\":[{\"id\":\(out),\"aval\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape)}}],\"params\":{\(params)}}"
        }
        let dimB = "{\"$\":\"dim\",\"v\":\"B\"}", dimT = "{\"$\":\"dim\",\"v\":\"T\"}", dimBT = "{\"$\":\"dim\",\"v\":\"B*T\"}"
        let eqns = [
            eqn("broadcast_in_dim", 1, 2, "f32", "[2,\"B\",\"T\"]",
                "\"shape\":[2,\(dimB),\(dimT)],\"broadcast_dimensions\":[1,2],\"sharding\":null"),
            eqn("broadcast_in_dim", 1, 3, "f32", "[2,\"B\",\"T\"]",
                "\"shape\":[2,\(dimB),\(dimT)],\"broadcast_dimensions\":[1,2],\"sharding\":null"),
            eqn("reshape", 1, 4, "f32", "[\"B*T\"]", "\"new_sizes\":[\(dimBT)],\"dimensions\":null"),
            eqn("iota", nil, 5, "i32", "[\"T\"]", "\"dtype\":\"i32\",\"shape\":[\(dimT)],\"dimension\":0,\"sharding\":null"),
        ]
        let json = """
        {"format":"jax2onnx-bundle","version":1,"tensors":[],
         "program":{"jaxpr":{"constvars":[],"invars":[{"id":1,"aval":{"dtype":"f32","shape":["B","T"]}}],
                             "outvars":[{"var":2},{"var":3},{"var":4},{"var":5}],"eqns":[\(eqns.joined(separator: ","))]},"consts":[]}}
        """
        let g = try lower(json)
        XCTAssertEqual(count(g, "Shape"), 2, g.nodes.map(\.op).description)
        XCTAssertEqual(count(g, "Concat"), 1, "[2,B,T] is built once for both broadcasts")
        XCTAssertEqual(count(g, "Mul"), 1, "B*T")
        XCTAssertEqual(g.outputs.map { g.values[Int($0.value)].shape?.description ?? "?" },
                       ["[2, B, T]", "[2, B, T]", "[B*T]", "[T]"])
    }
}
