/// Axis and permutation params checked against a rank before a lowering indexes a shape with them:
/// a bundle is input, and an axis out of range must be an error in the equation, not a trap.

/// Bounds PluginKit holds constants it builds itself to, before allocating them.
public enum Limits {
    /// Elements of one constant a helper such as `iotaAlong` materializes (2^28: 2 GiB of int64).
    public static let maxConstantElements: Int64 = 1 << 28
}

/// `axes` with negative entries counted from the end, each in 0..<rank and none repeated.
public func checkAxes(_ axes: [Int], rank: Int) throws -> [Int] {
    var seen = Set<Int>()
    return try axes.map { a in
        let n = a < 0 ? a &+ rank : a
        guard n >= 0, n < rank else { throw LoweringError.invalid("axis \(a) is out of range for rank \(rank)") }
        guard seen.insert(n).inserted else { throw LoweringError.invalid("axis \(a) is repeated in \(axes)") }
        return n
    }
}

/// `perm` must order 0..<rank, each axis once.
public func checkPermutation(_ perm: [Int], rank: Int) throws {
    guard perm.count == rank, Set(perm) == Set(0..<rank) else {
        throw LoweringError.invalid("\(perm) is not a permutation of \(rank) axes")
    }
}

extension Equation {
    /// An int-list param of axes into a rank-`rank` operand, normalized and checked.
    public func axes(_ name: String, rank: Int) throws -> [Int] { try checkAxes(ints(name), rank: rank) }

    /// An int-list param that must be a permutation of `rank` axes.
    public func permutation(_ name: String, rank: Int) throws -> [Int] {
        let p = try ints(name)
        try checkPermutation(p, rank: rank)
        return p
    }
}

/// `dims` as XLA's dimension numbers give them: each in 0..<rank (no counting from the end) and
/// none repeated.
public func checkDimensions(_ dims: [Int], rank: Int) throws {
    guard dims.allSatisfy({ $0 >= 0 && $0 < rank }), Set(dims).count == dims.count else {
        throw LoweringError.invalid("dimensions \(dims) are out of range for rank \(rank) or repeat")
    }
}
