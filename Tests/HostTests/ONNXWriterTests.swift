import Foundation
import XCTest
@testable import Host
import ONNXProto

final class ONNXWriterTests: XCTestCase {
    /// A graph touching every encoder path: user and generated names (one colliding), symbolic
    /// dims, small and large initializers (mapped from a file and owned), every attribute kind,
    /// a subgraph, provenance with and without source and scope.
    func makeGraph(mapped file: MappedFile) -> Graph {
        let g = Graph()
        g.keepAlive.append(file)
        let x = g.addInput(name: "x", type: TensorType(.f32, [.symbolic("B"), .known(4)]))
        let small = g.addInitializer(Initializer(dtype: .f32, dims: [4], bytes: .owned([UInt8](repeating: 7, count: 16))))
        let big = g.addInitializer(Initializer(dtype: .f32, dims: [2, 1000],
                                               bytes: .mapped(UnsafeRawBufferPointer(rebasing: file.bytes[100..<8100]))))
        let big2 = g.addInitializer(Initializer(dtype: .i64, dims: [300], bytes: .owned((0..<2400).map { UInt8($0 & 0xFF) })))
        let p1 = g.addProvenance(Provenance(pack: "lax", primitive: "add", source: SourceLocation(file: "m.py", line: 12, function: "f"), scope: "blk/0"))
        let p2 = g.addProvenance(Provenance(pack: "nn", primitive: "relu", source: nil, scope: nil))
        let a = g.addNode("Add", [x, small], outputCount: 1, origin: p1)
        g.setAttribute(node: a, Attribute(name: "i", value: .int(-3)))
        g.setAttribute(node: a, Attribute(name: "f", value: .float(0.5)))
        g.setAttribute(node: a, Attribute(name: "s", value: .string(Array("héllo".utf8))))
        g.setAttribute(node: a, Attribute(name: "is", value: .ints([1, -1, 1 << 40])))
        g.setAttribute(node: a, Attribute(name: "fs", value: .floats([1.5, -2])))
        g.setAttribute(node: a, Attribute(name: "t", value: .tensor(Initializer(dtype: .i32, dims: [], bytes: .owned([1, 0, 0, 0])))))
        g.setAttribute(node: a, Attribute(name: "empty", value: .tensor(Initializer(dtype: .f32, dims: [0], bytes: .owned([])))))
        let sum = g.nodes[a].outputs[0]
        _ = g.beginSubgraph()
        let si = g.addSubgraphInput(.f32, [.known(4)])
        let inner = g.nodes[g.addNode("Mul", [si, sum], outputCount: 1, origin: p2)].outputs[0]
        let body = g.endSubgraph(outputs: [inner, si])
        let loop = g.addNode("Scan", [0, big, big2], outputCount: 2)
        g.setAttribute(node: loop, Attribute(name: "body", value: .graph(body)))
        g.addOutput(g.nodes[loop].outputs[0], name: "y")
        // A user name spelled like the generated name of the Add's result.
        g.addOutput(g.nodes[loop].outputs[1], name: "v\(sum)")
        return g
    }

    func weightsFile() throws -> MappedFile {
        let path = try Fixture.tempDir() + "/weights.bin"
        try Data((0..<10000).map { UInt8(($0 * 7) & 0xFF) }).write(to: URL(fileURLWithPath: path))
        return try MappedFile(path: path)
    }

    func testSidecarModelIsCanonicalProtobuf() throws {
        let file = try weightsFile()
        let g = makeGraph(mapped: file)
        let dir = try Fixture.tempDir()
        var options = WriteOptions(opset: 23)
        options.externalThreshold = 2000
        options.modelName = "m"
        try ONNXWriter.write(g, to: dir + "/m.onnx", options: options)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx"))
        let model = try Onnx_ModelProto(serializedBytes: bytes)
        // What a protobuf library makes of the same message, byte for byte.
        XCTAssertEqual(try model.serializedBytes() as [UInt8], [UInt8](bytes))

        XCTAssertEqual(model.graph.name, "m")
        XCTAssertEqual(model.opsetImport.first?.version, 23)
        XCTAssertEqual(model.graph.input[0].type.tensorType.shape.dim[0].dimParam, "B")
        XCTAssertEqual(model.graph.initializer.map(\.name), ["v2", "v3", "v4"])
        XCTAssertEqual(model.graph.initializer[0].rawData, Data([UInt8](repeating: 7, count: 16)))
        let external = model.graph.initializer[1...].map { Dictionary(uniqueKeysWithValues: $0.externalData.map { ($0.key, $0.value) }) }
        // The sidecar's name is unique to this model: m.onnx.<16 hex>.data, the only other file.
        let sidecar = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "m.onnx" }
        XCTAssertEqual(sidecar.count, 1)
        XCTAssertTrue(sidecar[0].hasPrefix("m.onnx.") && sidecar[0].hasSuffix(".data") && sidecar[0].count == 28, sidecar[0])
        XCTAssertEqual(external[0], ["location": sidecar[0], "offset": "0", "length": "8000"])
        XCTAssertEqual(external[1], ["location": sidecar[0], "offset": "8192", "length": "2400"])
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + sidecar[0]))
        XCTAssertEqual(data.count, 8192 + 2400)
        XCTAssertEqual(data[0..<8000], Data(file.bytes[100..<8100]))
        XCTAssertEqual(data[8000..<8192], Data(count: 192))
        XCTAssertEqual(data[8192...], Data((0..<2400).map { UInt8($0 & 0xFF) }))

        let add = model.graph.node[0]
        XCTAssertEqual(add.name, "n0")
        XCTAssertEqual(add.output, ["v5_"])
        XCTAssertEqual(add.metadataProps.map(\.value), ["lax", "add", "m.py:12 (f)", "blk/0"])
        XCTAssertEqual(add.attribute.first { $0.name == "is" }?.ints, [1, -1, 1 << 40])
        let scan = model.graph.node[1]
        XCTAssertEqual(scan.input, ["", "v3", "v4"])
        XCTAssertEqual(scan.output, ["y", "v5"])
        let body = scan.attribute[0].g
        XCTAssertEqual(body.name, "s1")
        XCTAssertEqual(body.node.map(\.name), ["s1n0", "s1n1"])
        XCTAssertEqual(body.node[0].input, [body.input[0].name, "v5_"])
        XCTAssertEqual(body.node[0].metadataProps.map(\.value), ["nn", "relu"])
    }

    func testWebModelHoldsEveryWeight() throws {
        let file = try weightsFile()
        let g = makeGraph(mapped: file)
        let dir = try Fixture.tempDir()
        var options = WriteOptions(opset: 23)
        options.externalThreshold = 2000
        options.web = true
        var progress: [Int] = []
        options.onBytes = { progress.append($0) }
        try ONNXWriter.write(g, to: dir + "/w.onnx", options: options)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["w.onnx"])
        let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: dir + "/w.onnx")))
        XCTAssertEqual(model.graph.initializer.map(\.name), ["v2", "v3", "v4"])
        XCTAssertEqual(model.graph.initializer[1].rawData, Data(file.bytes[100..<8100]))
        XCTAssertEqual(model.graph.initializer[1].dims, [2, 1000])
        XCTAssertEqual(model.graph.initializer[2].rawData, Data((0..<2400).map { UInt8($0 & 0xFF) }))
        XCTAssertEqual(model.graph.node.count, 2)
        XCTAssertEqual(progress, [8000, 10400])
    }

    func testFailureLeavesNothingBehind() throws {
        let file = try weightsFile()
        let g = makeGraph(mapped: file)
        let dir = try Fixture.tempDir()
        var options = WriteOptions(opset: 23)
        options.externalThreshold = 2000
        // The sidecar is moved into place, then the model cannot be (a non-empty directory holds
        // its name): the sidecar and both temporary files must go.
        let blocker = "m.onnx"
        try FileManager.default.createDirectory(atPath: dir + "/m.onnx/x", withIntermediateDirectories: true)
        XCTAssertThrowsError(try ONNXWriter.write(g, to: dir + "/m.onnx", options: options))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [blocker])
        XCTAssertThrowsError(try ONNXWriter.write(g, to: dir + "/missing/m.onnx", options: options))
    }
}
