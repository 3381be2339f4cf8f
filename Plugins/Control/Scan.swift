import PluginKit

/// `scan`: operands are `num_consts` consts, `num_carry` initial carries, then the stacked `xs`;
/// results are the final carries, then the stacked `ys`. The body (`jaxpr`) maps
/// (consts, carry, x slices) to (carry, y slices); `reverse` walks the sequence from its end
/// (ys are still stored at their sequence positions); `unroll` does not change the meaning and
/// is ignored. Consts are read from the enclosing graph, not carried.
///
/// Two lowerings: ONNX `Scan` when there are xs and the length is static (ONNX Runtime runs it
/// faster than the equivalent Loop, see `preferScanOp`), and `Loop`, which also serves scans
/// without xs and symbolic lengths (ONNX Runtime's Scan fails on an empty sequence; Loop runs
/// zero times). A scan of static length 0 runs no body: its carries are the initial ones and
/// its ys are empty.
struct ScanEquation {
    let eqn: Equation
    let program: Param
    let length: Dim
    let reverse: Bool
    let consts: [Value], initial: [Value], xs: [Value]
    let carried: [TensorType], ys: [TensorType]

    init(_ eqn: Equation) throws {
        try requireTensors(eqn)
        self.eqn = eqn
        program = try eqn.require("jaxpr")
        guard let length = try eqn.require("length").dim else { throw LoweringError.invalid("scan length is not a dimension") }
        self.length = length
        reverse = try eqn.require("reverse").bool ?? false
        let nConsts = try eqn.int("num_consts"), nCarry = try eqn.int("num_carry")
        let ops = eqn.inputs
        guard nConsts >= 0, nCarry >= 0, nConsts <= ops.count, nCarry <= ops.count - nConsts, nCarry <= eqn.outputs.count else {
            throw LoweringError.invalid("scan has \(ops.count) operands for \(nConsts) consts and \(nCarry) carries")
        }
        consts = Array(ops[..<nConsts])
        initial = Array(ops[nConsts..<(nConsts + nCarry)])
        xs = Array(ops[(nConsts + nCarry)...])
        carried = Array(eqn.outputs[..<nCarry])
        ys = Array(eqn.outputs[nCarry...])
    }

    /// The type of one slice of a stacked value.
    func slice(_ t: TensorType) -> TensorType { TensorType(t.dtype, Array(t.shape.dropFirst())) }

    func xSlices() throws -> [TensorType] {
        try xs.enumerated().map { k, x in
            guard let shape = x.shape, !shape.isEmpty else { throw LoweringError.unsupported("scan input \(k) has no known leading axis") }
            // A complex value's shape is its storage's; the slice is declared in JAX's shape.
            return TensorType(x.dtype, Array((x.jaxShape ?? shape).dropFirst()))
        }
    }

    var bodyOutputs: Int { carried.count + ys.count }

    /// Length 0: the body never runs.
    func empty(_ g: GraphBuilder) throws -> [Value]? {
        guard length == .known(0) else { return nil }
        let stacked = try ys.map { t -> Value in
            guard t.shape.allSatisfy({ $0.value != nil }) else { throw LoweringError.unsupported("an empty scan output with symbolic dims") }
            return try g.constant([UInt8](), dtype: t.dtype, shape: t.shape.map { $0.value! })
        }
        return initial + stacked
    }

    /// Results as Values carrying JAX's shapes.
    func results(_ outs: [Value]) -> [Value] { zip(outs, eqn.outputs).map { $0.with(shape: $1.shape) } }
}

func scanLowering() -> Lowering {
    Lowering("scan", emits: ["Scan", "Loop", "Gather", "Sub", "Slice", "Reshape"],
             note: "static length with xs: Scan (the faster in ONNX Runtime); no xs or a symbolic length: Loop") { eqn, g in
        // JAX drops results that only forward an operand; with none left nothing is observable.
        if eqn.outputs.isEmpty { return [] }
        let s = try ScanEquation(eqn)
        if let done = try s.empty(g) { return done }
        // ONNX Runtime's Scan fails on a sequence of length 0, which a symbolic length may be.
        let scanOpFits = !s.xs.isEmpty && s.length.value != nil
        return try scanOpFits && preferScanOp ? scanAsScan(s, g) : scanAsLoop(s, g)
    }
}

/// Scan beats the equivalent Loop (Gather per step, ys stacked by the Loop) in ONNX Runtime 1.23,
/// one thread, median of 60 alternating runs (Benchmarks/scan_latency.py builds the model):
/// LSTM T=100 B=16 D=128 H=256: 17.7 vs 18.2 ms forward, 17.2 vs 17.9 ms reverse;
/// LSTM T=200 B=4 D=16 H=32: 2.0 vs 2.4 ms forward, 2.0 vs 2.5 ms reverse.
let preferScanOp = true

/// ONNX Scan: the xs are its scan inputs, the ys its scan outputs; `reverse` sets every
/// direction to 1 (backwards), which reads and writes positions from the end.
func scanAsScan(_ s: ScanEquation, _ g: GraphBuilder) throws -> [Value] {
    let body = try g.subgraph(s.program, inputs: s.consts.map { .outer($0) } + s.carried.map { .typed($0) }
                              + (s.xSlices()).map { .typed($0) }, outputs: s.bodyOutputs)
    let directions: Attr = .ints([Int](repeating: s.reverse ? 1 : 0, count: s.xs.count))
    let outDirections: Attr = .ints([Int](repeating: s.reverse ? 1 : 0, count: s.ys.count))
    let outs = try g.node("Scan", s.initial + s.xs, outputs: s.bodyOutputs, attributes: [
        "body": .graph(body), "num_scan_inputs": .int(Int64(s.xs.count)),
        "scan_input_directions": directions, "scan_output_directions": outDirections,
    ])
    return s.results(outs)
}

/// ONNX Loop with the scan length as trip count: iteration i reads xs[i] (xs[length-1-i] in
/// reverse) with Gather; the Loop stacks the ys in iteration order, so a reverse scan flips them
/// back with a Slice of step -1.
func scanAsLoop(_ s: ScanEquation, _ g: GraphBuilder) throws -> [Value] {
    let trips = try s.length.value.map { try g.constant([$0], dtype: .i64, shape: []) } ?? g.dimTensor(s.length).reshape([])
    let one = try g.scalar(1, .i64)
    let slices = try s.xSlices()
    let body = try g.subgraph(inputs: loopCounterInputs + s.carried.map { .typed($0) }) { args in
        var position = args[0]
        if s.reverse { position = try g.op("Sub", g.op("Sub", trips, one, shape: []), position, shape: []) }
        let x = try zip(s.xs, slices).map { try g.op("Gather", $0, position, attributes: ["axis": .int(0)], shape: $1.shape) }
        let outs = try g.inline(s.program, s.consts + args.dropFirst(2) + x, outputs: s.bodyOutputs)
        return [args[1]] + outs
    }
    var outs = try g.node("Loop", [trips, nil] + s.initial, outputs: s.bodyOutputs, attributes: ["body": .graph(body)])
    if s.reverse {
        for k in s.carried.count..<outs.count {
            outs[k] = try g.op("Slice", outs[k], g.int64s([-1]), g.int64s([Int64.min]), g.int64s([0]), g.int64s([-1]))
        }
    }
    return s.results(outs)
}
