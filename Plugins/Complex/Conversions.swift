import PluginKit

/// Building complex values from parts, converting to and from complex, and comparing.
func conversionLowerings() -> [Lowering] {
    [
        // Both operands are real, so no dtype filter: only this pack claims `complex`.
        Lowering("complex", emits: ["Concat", "Unsqueeze", "Cast", "Expand", "Shape", "Add", "Slice"], priority: 10) { e, g in
            let t = try e.output(0).dtype.part
            let shape = try e.output(0).shape
            let (a, b) = (try e.input(0).cast(to: t), try e.input(1).cast(to: t))
            // Operands may be a scalar next to an array: broadcast both to the result first.
            func full(_ v: Value) throws -> Value { v.shape == shape ? v : try v.expand(shape) }
            return [try g.pair(full(a), full(b), shape: shape)]
        },
        // The operand is real when converting to complex, so this claim takes any dtype.
        Lowering("convert_element_type", emits: ["Cast", "Pad", "Unsqueeze", "Gather", "Equal", "And", "Not"], priority: 10,
                 note: "to complex: imag 0; from complex: the real part") { e, g in
            let x = try e.input(0)
            let to = try e.output(0).dtype
            switch (x.isComplex, to.isComplex) {
            case (true, true): return [try x.cast(to: to.part)]
            case (false, true): return [try g.withZeroImag(x.cast(to: to.part).with(shape: x.shape))]
            case (true, false):
                if to == .bool { return [try g.op("Not", complexEqual(x, g.constant([0, 0] as [Float], dtype: .f32, shape: [2]).cast(to: x.dtype.part), g))] }
                return [try g.re(x).cast(to: to)]
            default: throw LoweringError.unsupported("convert_element_type between real types")
            }
        },
        Lowering("eq", emits: ["Gather", "Equal", "And"], priority: 10, dtypes: complexTypes) { e, g in
            [try complexEqual(e.input(0), e.input(1), g)]
        },
        Lowering("ne", emits: ["Gather", "Equal", "And", "Not"], priority: 10, dtypes: complexTypes) { e, g in
            [try g.op("Not", complexEqual(e.input(0), e.input(1), g))]
        },
    ]
}

func complexEqual(_ x: Value, _ y: Value, _ g: GraphBuilder) throws -> Value {
    try g.op("And", g.op("Equal", g.re(x), g.re(y)), g.op("Equal", g.im(x), g.im(y)))
}
