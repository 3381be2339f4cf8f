import Foundation

/// A small dense tensor the passes compute with (constant folding, weight rewrites). Float
/// elements are held as Double, which represents every f16/f32 exactly; converting back rounds
/// once to the element type, as ONNX Runtime's own kernels would. Integer and bool elements are
/// also held exactly in `exact`: Double has 53 bits, and an int64 index or bit pattern may use 64.
struct HostTensor {
    var dtype: DType
    var dims: [Int64]
    var values: [Double]
    /// The elements of an integer or bool tensor, exactly; nil for floats.
    var exact: [Int64]?

    static let foldable: Set<DType> = [.f32, .f64, .i32, .i64, .bool, .i8, .u8, .i16, .u16, .u32]

    init(dtype: DType, dims: [Int64], values: [Double]) {
        self.dtype = dtype; self.dims = dims; self.values = values
        exact = dtype.isExactInteger ? values.map(Self.integer) : nil
    }

    init(dtype: DType, dims: [Int64], exact: [Int64]) {
        self.dtype = dtype; self.dims = dims; self.exact = exact
        values = exact.map { Double($0) }
    }

    /// A Double as an integer: toward zero, clamped to Int64 (never a trapping conversion).
    static func integer(_ d: Double) -> Int64 {
        guard d.isFinite else { return 0 }
        if d >= 9_223_372_036_854_775_807.0 { return .max }
        if d <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(d.rounded(.towardZero))
    }

    /// The product of dims, nil when negative or past Int64.
    static func count(_ dims: [Int64]) -> Int64? {
        var n: Int64 = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (m, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { return nil }
            n = m
        }
        return n
    }

    /// nil for element types the passes do not compute with, or tensors over `limit` elements.
    init?(_ t: Initializer, limit: Int) {
        guard Self.foldable.contains(t.dtype) else { return nil }
        guard let n = Self.count(t.dims), n <= Int64(limit), t.bytes.count == Int(n) * t.dtype.byteWidth else { return nil }
        let count = Int(n)
        // Filled through a buffer pointer: indexing a captured array per element pays an
        // exclusivity check each time, which dominates on weight-sized tensors.
        let values = [Double](unsafeUninitializedCapacity: count) { out, initialized in
            t.bytes.withBytes { raw in
                func load<T>(_: T.Type, _ f: (T) -> Double) {
                    for i in 0..<count { out[i] = f(raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.stride, as: T.self)) }
                }
                switch t.dtype {
                case .f32: load(Float.self) { Double($0) }
                case .f64: load(Double.self) { $0 }
                case .i32: load(Int32.self) { Double($0) }
                case .i64: load(Int64.self) { Double($0) }
                case .i16: load(Int16.self) { Double($0) }
                case .u16: load(UInt16.self) { Double($0) }
                case .u32: load(UInt32.self) { Double($0) }
                case .i8: load(Int8.self) { Double($0) }
                case .u8, .bool: load(UInt8.self) { Double($0) }
                default: out.initialize(repeating: 0)
                }
            }
            initialized = count
        }
        if t.dtype == .i64 {
            // Read again as integers: the Double copy above has lost the low bits past 2^53.
            let ints = t.bytes.withBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) } }
            self.init(dtype: t.dtype, dims: t.dims, exact: ints)
        } else {
            self.init(dtype: t.dtype, dims: t.dims, values: values)
        }
    }

    var count: Int { values.count }

    var initializer: Initializer {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * dtype.byteWidth)
        func store<T>(_ x: T) { withUnsafeBytes(of: x) { bytes.append(contentsOf: $0) } }
        if let exact, dtype.isExactInteger {
            // Integers wrap to their width, as a C cast and ONNX Runtime's integer kernels do.
            for x in exact {
                switch dtype {
                case .i64: store(x)
                case .i32: store(Int32(truncatingIfNeeded: x))
                case .i16: store(Int16(truncatingIfNeeded: x))
                case .i8: store(Int8(truncatingIfNeeded: x))
                case .u32: store(UInt32(truncatingIfNeeded: x))
                case .u16: store(UInt16(truncatingIfNeeded: x))
                case .u8: store(UInt8(truncatingIfNeeded: x))
                default: store(UInt8(x != 0 ? 1 : 0))
                }
            }
            return Initializer(dtype: dtype, dims: dims, bytes: .owned(bytes))
        }
        for x in values {
            switch dtype {
            case .f32: store(Float(x))
            case .f64: store(x)
            case .i32: store(Int32(clamping: Int64(x.isFinite ? x.rounded(.towardZero) : 0)))
            case .i64: store(Self.integer(x))
            case .i16: store(Int16(clamping: Int64(x.isFinite ? x.rounded(.towardZero) : 0)))
            case .u16: store(UInt16(clamping: Int64(x.isFinite ? x.rounded(.towardZero) : 0)))
            case .u32: store(UInt32(clamping: Int64(x.isFinite ? x.rounded(.towardZero) : 0)))
            case .i8: store(Int8(clamping: Int64(x.isFinite ? x.rounded(.towardZero) : 0)))
            case .u8: store(UInt8(clamping: Int64(x.isFinite ? x.rounded(.towardZero) : 0)))
            case .bool: store(UInt8(x != 0 ? 1 : 0))
            default: break
            }
        }
        return Initializer(dtype: dtype, dims: dims, bytes: .owned(bytes))
    }

    /// Rounds every element to what the element type can hold (after arithmetic in Double);
    /// integers wrap to their width.
    func rounded() -> HostTensor {
        if dtype.isExactInteger {
            let ints = exact ?? values.map(Self.integer)
            return HostTensor(dtype: dtype, dims: dims, exact: ints.map { x -> Int64 in
                switch dtype {
                case .i32: return Int64(Int32(truncatingIfNeeded: x))
                case .i16: return Int64(Int16(truncatingIfNeeded: x))
                case .i8: return Int64(Int8(truncatingIfNeeded: x))
                case .u32: return Int64(UInt32(truncatingIfNeeded: x))
                case .u16: return Int64(UInt16(truncatingIfNeeded: x))
                case .u8: return Int64(UInt8(truncatingIfNeeded: x))
                case .bool: return x != 0 ? 1 : 0
                default: return x
                }
            })
        }
        var t = self
        switch dtype {
        case .f32: t.values = values.map { Double(Float($0)) }
        case .i64: t.values = values.map { $0.isFinite ? $0.rounded(.towardZero) : 0 }
        case .i32, .i16, .i8, .u8, .u16, .u32:
            // Integer arithmetic and casts wrap modulo 2^width, as ONNX Runtime computes them.
            let bits: [DType: Double] = [.i8: 8, .u8: 8, .i16: 16, .u16: 16, .i32: 32, .u32: 32]
            let m = Foundation.pow(2, bits[dtype]!), signed = [.i8, .i16, .i32].contains(dtype)
            t.values = values.map { v in
                guard v.isFinite else { return 0 }
                var r = v.rounded(.towardZero).truncatingRemainder(dividingBy: m)
                if r < 0 { r += m }
                return signed && r >= m / 2 ? r - m : r
            }
        case .bool: t.values = values.map { $0 != 0 ? 1 : 0 }
        default: break
        }
        return t
    }

    /// Row-major strides of dims.
    static func strides(_ dims: [Int64]) -> [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        var acc = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) { s[i] = acc; acc = acc &* Int(dims[i]) }
        return s
    }

    /// Numpy-style broadcast of two shapes, nil when they do not broadcast.
    static func broadcast(_ a: [Int64], _ b: [Int64]) -> [Int64]? {
        let r = max(a.count, b.count)
        var out = [Int64](repeating: 1, count: r)
        for i in 0..<r {
            let x = i < r - a.count ? 1 : a[i - (r - a.count)]
            let y = i < r - b.count ? 1 : b[i - (r - b.count)]
            guard x == y || x == 1 || y == 1 else { return nil }
            out[i] = x == 1 ? y : x
        }
        return out
    }

    /// The elements of self laid out over `shape` (which self broadcasts to).
    func expanded(to shape: [Int64]) -> [Double] {
        if dims == shape { return values }
        return expandedIndices(to: shape).map { values[$0] }
    }

    /// Self broadcast to `shape`, integers kept exact.
    func broadcast(to shape: [Int64]) -> HostTensor {
        if dims == shape { return self }
        let order = expandedIndices(to: shape)
        if let exact { return HostTensor(dtype: dtype, dims: shape, exact: order.map { exact[$0] }) }
        return HostTensor(dtype: dtype, dims: shape, values: order.map { values[$0] })
    }

    /// For each element of `shape`, the element of self it takes.
    func expandedIndices(to shape: [Int64]) -> [Int] {
        let n = Int(shape.reduce(1, *))
        let r = shape.count
        let padded = [Int64](repeating: 1, count: r - dims.count) + dims
        let src = Self.strides(padded)
        let outStrides = Self.strides(shape)
        var out = [Int](repeating: 0, count: n)
        for i in 0..<n {
            var rem = i, off = 0
            for d in 0..<r {
                let idx = rem / outStrides[d]
                rem %= outStrides[d]
                if padded[d] != 1 { off += idx * src[d] }
            }
            out[i] = off
        }
        return out
    }

    func transposed(_ perm: [Int]) -> HostTensor {
        let newDims = perm.map { dims[$0] }
        let src = Self.strides(dims)
        let dst = Self.strides(newDims)
        var order = [Int](repeating: 0, count: count)
        for i in 0..<count {
            var rem = i, off = 0
            for d in 0..<perm.count {
                let idx = rem / dst[d]
                rem %= dst[d]
                off += idx * src[perm[d]]
            }
            order[i] = off
        }
        if let exact { return HostTensor(dtype: dtype, dims: newDims, exact: order.map { exact[$0] }) }
        return HostTensor(dtype: dtype, dims: newDims, values: order.map { values[$0] })
    }

    /// Same elements, other dims (reshape, squeeze, unsqueeze).
    func with(dims newDims: [Int64]) -> HostTensor {
        var t = self
        t.dims = newDims
        return t
    }
}

extension DType {
    /// Element types HostTensor keeps exactly as integers.
    var isExactInteger: Bool { [.i8, .i16, .i32, .i64, .u8, .u16, .u32, .bool].contains(self) }
}
