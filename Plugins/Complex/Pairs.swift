import PluginKit

/// A complex value reaches this pack as its storage: a float tensor whose last axis holds
/// (real, imag) (docs/complex.md). `value_dtype` still names it complex64/complex128, which is how
/// the host dispatches it here; its `shape` is the storage shape, JAX's plus the trailing 2.
extension DType {
    /// The float type of a complex type's parts (itself for real types).
    var part: DType { complexPart }
}

let complexTypes: [DType] = [.c64, .c128]

extension GraphBuilder {
    /// Part k (0 real, 1 imaginary) of a complex value, as a real tensor of JAX's shape.
    func part(_ z: Value, _ k: Int) throws -> Value {
        try op("Gather", z, constant([Int64(k)], dtype: .i64, shape: []), attributes: ["axis": .int(-1)],
               shape: z.shape.map { Array($0.dropLast()) })
    }

    /// The complex product of two storage tensors (broadcasting like Mul).
    func complexProduct(_ x: Value, _ y: Value) throws -> Value {
        let (a, b) = try complexMul((re(x), im(x)), (re(y), im(y)))
        return try pair(a, b)
    }

    func re(_ z: Value) throws -> Value { try part(z, 0) }
    func im(_ z: Value) throws -> Value { try part(z, 1) }

    /// The complex value with these parts (same shape, same float type).
    func pair(_ re: Value, _ im: Value, shape: [Dim]? = nil) throws -> Value {
        let s = shape ?? re.shape
        return try op("Concat", re.with(shape: s).unsqueeze([-1]), im.with(shape: s).unsqueeze([-1]),
                      attributes: ["axis": .int(-1)], shape: s.map { $0 + [2] })
    }

    /// A real value as complex with a zero imaginary part: Pad appends the zero, so an infinite
    /// real part stays infinite (a multiply by (1, 0) would make 0 * inf = NaN).
    func withZeroImag(_ x: Value) throws -> Value {
        let rank = (x.shape?.count ?? 0) + 1
        var pads = [Int64](repeating: 0, count: 2 * rank)
        pads[2 * rank - 1] = 1
        return try op("Pad", x.unsqueeze([-1]), int64s(pads), shape: x.shape.map { $0 + [2] })
    }

    func add(_ a: Value, _ b: Value) throws -> Value { try op("Add", a, b) }
    func sub(_ a: Value, _ b: Value) throws -> Value { try op("Sub", a, b) }
    func mul(_ a: Value, _ b: Value) throws -> Value { try op("Mul", a, b) }
    func div(_ a: Value, _ b: Value) throws -> Value { try op("Div", a, b) }

    /// (a + bi)(c + di) on parts.
    func complexMul(_ x: (Value, Value), _ y: (Value, Value)) throws -> (Value, Value) {
        let (a, b) = x, (c, d) = y
        return (try sub(mul(a, c), mul(b, d)), try add(mul(a, d), mul(b, c)))
    }

    /// |z| from its parts.
    func magnitude(_ a: Value, _ b: Value) throws -> Value {
        try op("Sqrt", add(mul(a, a), mul(b, b)))
    }

    /// atan2(y, x). ONNX has no Atan2 and ONNX Runtime's CPU Atan has no f64 kernel, so f64 goes
    /// through f32 (about 1e-7 relative in the angle; docs/complex.md).
    func atan2(_ y: Value, _ x: Value, _ t: DType) throws -> Value {
        let y32 = try y.cast(to: .f32), x32 = try x.cast(to: .f32)
        let zero = try scalar(0, .f32)
        let base = try op("Atan", div(y32, x32))
        let pi = try op("Where", op("Less", y32, zero), scalar(-Double.pi, .f32), scalar(Double.pi, .f32))
        let turned = try op("Where", op("Less", x32, zero), add(base, pi), base)
        let origin = try op("And", op("Equal", x32, zero), op("Equal", y32, zero))
        return try op("Where", origin, zero, turned).cast(to: t)
    }

    /// Ones shaped like x.
    func onesLike(_ x: Value, _ t: DType) throws -> Value {
        try op("Expand", scalar(1, t), op("Shape", x))
    }
}

/// Ops the part helpers emit, for claims' op lists.
let pairOps = ["Gather", "Concat", "Unsqueeze", "Pad", "Add", "Sub", "Mul", "Div", "Sqrt", "Atan", "Where",
               "Less", "And", "Equal", "Cast", "Expand", "Shape", "Neg", "Reshape", "Max", "Exp", "Log", "Cos", "Sin"]
