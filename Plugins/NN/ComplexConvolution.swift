import PluginKit

/// conv_general_dilated of complex operands. A convolution is bilinear, so it splits over the
/// (real, imag) parts (docs/complex.md) into four real convolutions with the same dimension
/// numbers, strides, padding, dilations and groups: (xr*wr - xi*wi, xr*wi + xi*wr). Four rather
/// than Gauss's three, whose sums of parts lose accuracy when the parts differ in size. JAX gives
/// both operands one dtype, so a real signal or kernel arrives already converted to complex.
func lowerComplexConvolution(_ eqn: Equation, _ g: GraphBuilder) throws -> [Value] {
    let (x, w) = (try eqn.input(0), try eqn.input(1))
    let out = try eqn.output(0)
    guard x.isComplex, w.isComplex, out.dtype.isComplex else {
        throw LoweringError.unsupported("conv_general_dilated of \(x.dtype) by \(w.dtype) producing \(out.dtype) (complex needs both operands complex)")
    }
    let p = try ConvolutionParams(eqn)
    func conv(_ a: Value, _ b: Value) throws -> Value {
        try convolution(a, b, p, dtype: out.dtype.complexPart, shape: out.shape, g)
    }
    let (xr, xi, wr, wi) = (try storagePart(x, 0, g), try storagePart(x, 1, g), try storagePart(w, 0, g), try storagePart(w, 1, g))
    let re = try g.op("Sub", conv(xr, wr), conv(xi, wi), shape: out.shape)
    let im = try g.op("Add", conv(xr, wi), conv(xi, wr), shape: out.shape)
    return [try g.op("Concat", re.unsqueeze([-1]), im.unsqueeze([-1]), attributes: ["axis": .int(-1)],
                     shape: out.shape + [.known(2)])]
}

/// Part k (0 real, 1 imaginary) of a complex value's storage, as a real tensor of JAX's shape.
private func storagePart(_ z: Value, _ k: Int, _ g: GraphBuilder) throws -> Value {
    try g.op("Gather", z, g.constant([Int64(k)], dtype: .i64, shape: []), attributes: ["axis": .int(-1)], shape: z.jaxShape)
}
