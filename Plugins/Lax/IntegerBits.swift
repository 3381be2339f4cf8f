import PluginKit

/// Integer bit plumbing shared by the bitwise, shift, division and conversion lowerings.

func bitWidth(_ t: DType) -> Int {
    switch t {
    case .i8, .u8, .bool: return 8
    case .i16, .u16, .f16, .bf16: return 16
    case .i32, .u32, .f32: return 32
    default: return 64
    }
}

/// The unsigned type of the same width: Cast to it reinterprets a signed pattern (it wraps).
func unsignedView(_ t: DType) -> DType { [8: .u8, 16: .u16, 32: .u32, 64: .u64][bitWidth(t)]! }
func signedView(_ t: DType) -> DType { [8: .i8, 16: .i16, 32: .i32, 64: .i64][bitWidth(t)]! }

/// An integer constant from bit patterns (the low bits of each value), exact for every width.
func intConstant(_ bits: [UInt64], _ t: DType, _ g: GraphBuilder, shape: [Int64]? = []) throws -> Value {
    let s = shape ?? [Int64(bits.count)]
    switch bitWidth(t) {
    case 8: return try g.constant(bits.map { UInt8(truncatingIfNeeded: $0) }, dtype: t, shape: s)
    case 16: return try g.constant(bits.map { UInt16(truncatingIfNeeded: $0) }, dtype: t, shape: s)
    case 32: return try g.constant(bits.map { UInt32(truncatingIfNeeded: $0) }, dtype: t, shape: s)
    default: return try g.constant(bits, dtype: t, shape: s)
    }
}

/// Element types ONNX Runtime's CPU `Where` runs.
let whereTypes: Set<DType> = [.f16, .f32, .f64, .i8, .i32, .i64, .u8, .u32]

/// cond ? a : b. Where when ONNX Runtime has the kernel; for other integers b + (a - b) * cond,
/// which is exact in wrap-around arithmetic.
func pick(_ cond: Value, _ a: Value, _ b: Value, _ g: GraphBuilder) throws -> Value {
    let t = a.dtype
    if whereTypes.contains(t) || !t.isInt { return try g.op("Where", cond, a, b) }
    return try g.op("Add", b, g.op("Mul", g.op("Sub", a, b), cond.cast(to: t)))
}

/// x's bits along a new last axis, least significant first, as 0/1 of x's unsigned view.
func bitPlanes(_ x: Value, _ g: GraphBuilder) throws -> Value {
    let u = try x.cast(to: unsignedView(x.dtype)), w = bitWidth(x.dtype)
    let shifted = try g.op("BitShift", appendAxis(u), bitOffsets(u.dtype, w, g), attributes: ["direction": .string("RIGHT")])
    return try g.op("Mod", shifted, intConstant([2], u.dtype, g), shape: x.shape.map { $0 + [.known(Int64(w))] })
}

/// x with a new last axis of size 1.
func appendAxis(_ x: Value) throws -> Value {
    guard let r = x.rank else { throw LoweringError.unsupported("a value of unknown rank") }
    return try x.unsqueeze([r])
}

/// The ONNX ops the helpers here and in FloatBits may emit, for claims' `emits:` lists.
let pickOps = ["Where", "Add", "Sub", "Mul", "Cast"]
let bitPlaneOps = ["Cast", "Unsqueeze", "BitShift", "Mod", "ReduceSum", "Reshape", "Gather", "Add"]
let floatBitsOps = ["Abs", "Or", "And", "Not", "Less", "Greater", "LessOrEqual", "Equal", "Reciprocal", "IsNaN", "IsInf",
                    "Where", "Floor", "Div", "Log", "Pow", "Cast", "Add", "Sub", "Mul", "Neg", "BitShift", "Mod"]

/// Op lists joined without repeats, in first-seen order.
func uniqueOps(_ lists: [String]...) -> [String] {
    var seen: Set<String> = []
    return lists.joined().filter { seen.insert($0).inserted }
}

/// 0, 1, ..., w-1 in type t: the shift amounts of each bit plane.
func bitOffsets(_ t: DType, _ w: Int, _ g: GraphBuilder) throws -> Value {
    try intConstant((0..<w).map(UInt64.init), t, g, shape: [Int64(w)])
}

/// The integer of type t whose bits are the 0/1 planes along the last axis (the inverse of
/// bitPlanes). 64 planes are first packed into 8 bytes (see joinFields).
func fromBitPlanes(_ planes: Value, _ t: DType, _ g: GraphBuilder) throws -> Value {
    let w = bitWidth(t), ut = unsignedView(t)
    guard w == 64 else { return try joinFields(planes, fieldBits: 1, count: w, into: ut, g).cast(to: t) }
    guard let rank = planes.rank else { throw LoweringError.unsupported("a value of unknown rank") }
    // Reshape [..., 64] to [..., 8, 8]: zeros copy the leading (possibly symbolic) dims.
    let grouped = try g.op("Reshape", planes, g.int64s(Array(repeating: 0, count: rank - 1) + [8, 8]),
                           shape: planes.shape.map { Array($0.dropLast()) + [8, 8] })
    let bytes = try joinFields(grouped, fieldBits: 1, count: 8, into: .u8, g)
    return try joinFields(bytes, fieldBits: 8, count: 8, into: ut, g).cast(to: t)
}

/// Packs `count` disjoint fields of `fieldBits` bits along the last axis (least significant
/// first) into one unsigned integer of type `into`. Up to 32 bits the fields are summed by an
/// i64 ReduceSum; wider results add the fields one by one, because ONNX Runtime's int64
/// ReduceSum accumulates in double and drops low bits past 2^53.
func joinFields(_ fields: Value, fieldBits: Int, count: Int, into ut: DType, _ g: GraphBuilder) throws -> Value {
    guard let rank = fields.rank else { throw LoweringError.unsupported("a value of unknown rank") }
    let offsets = try intConstant((0..<count).map { UInt64($0 * fieldBits) }, ut, g, shape: [Int64(count)])
    let placed = try g.op("BitShift", fields.cast(to: ut), offsets, attributes: ["direction": .string("LEFT")],
                          shape: fields.shape)
    let outShape = fields.shape.map { Array($0.dropLast()) }
    if fieldBits * count <= 32 {
        return try g.op("ReduceSum", placed.cast(to: .i64), g.int64s([rank - 1]), attributes: ["keepdims": .int(0)])
            .cast(to: ut).with(shape: outShape)
    }
    var sum: Value?
    for k in 0..<count {
        let part = try g.op("Gather", placed, g.constant([Int64(k)], dtype: .i64, shape: []), attributes: ["axis": .int(Int64(rank - 1))])
        sum = try sum.map { try g.op("Add", $0, part) } ?? part
    }
    return sum!.with(shape: outShape)
}
