/// A symbolic dimension expression as JAX prints it: integers, symbols, `+ - *`, parentheses, and
/// the calls `floordiv(a, b)`, `mod(a, b)`, `max(a, b)`, `min(a, b)`.
public indirect enum DimExpr: Hashable, CustomStringConvertible {
    case constant(Int64)
    case symbol(String)
    case add(DimExpr, DimExpr)
    case sub(DimExpr, DimExpr)
    case mul(DimExpr, DimExpr)
    case call(String, DimExpr, DimExpr)

    public static let functions: Set<String> = ["floordiv", "mod", "max", "min"]

    public var description: String {
        switch self {
        case let .constant(c): return String(c)
        case let .symbol(s): return s
        case let .add(a, b): return "(\(a) + \(b))"
        case let .sub(a, b): return "(\(a) - \(b))"
        case let .mul(a, b): return "\(a)*\(b)"
        case let .call(f, a, b): return "\(f)(\(a), \(b))"
        }
    }

    public var symbols: Set<String> {
        switch self {
        case .constant: return []
        case let .symbol(s): return [s]
        case let .add(a, b), let .sub(a, b), let .mul(a, b), let .call(_, a, b): return a.symbols.union(b.symbols)
        }
    }

    /// Built of constants, symbols, +, - and * only.
    public var isPolynomial: Bool {
        switch self {
        case .constant, .symbol: return true
        case let .add(a, b), let .sub(a, b), let .mul(a, b): return a.isPolynomial && b.isPolynomial
        case .call: return false
        }
    }

    /// Evaluates with the given symbol values (used for checks and tests); nil when a symbol is
    /// unbound, a divisor is zero, or any step leaves Int64 (a hostile bundle's dims must not trap).
    public func evaluate(_ env: [String: Int64]) -> Int64? {
        func both(_ a: DimExpr, _ b: DimExpr, _ f: (Int64, Int64) -> (partialValue: Int64, overflow: Bool)) -> Int64? {
            guard let x = a.evaluate(env), let y = b.evaluate(env) else { return nil }
            let (r, o) = f(x, y)
            return o ? nil : r
        }
        switch self {
        case let .constant(c): return c
        case let .symbol(s): return env[s]
        case let .add(a, b): return both(a, b) { $0.addingReportingOverflow($1) }
        case let .sub(a, b): return both(a, b) { $0.subtractingReportingOverflow($1) }
        case let .mul(a, b): return both(a, b) { $0.multipliedReportingOverflow(by: $1) }
        case let .call(f, a, b):
            guard let x = a.evaluate(env), let y = b.evaluate(env) else { return nil }
            switch f {
            case "floordiv": return DimExpr.floorDiv(x, y)
            case "mod": return DimExpr.floorMod(x, y)
            case "max": return Swift.max(x, y)
            default: return Swift.min(x, y)
            }
        }
    }

    /// Floor division in exact integers (Double would round above 2^53); nil for a zero divisor
    /// or Int64.min / -1.
    public static func floorDiv(_ x: Int64, _ y: Int64) -> Int64? {
        guard y != 0 else { return nil }
        let (q, o) = x.dividedReportingOverflow(by: y)
        guard !o else { return nil }
        return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q
    }

    /// The remainder with the divisor's sign (Python's `%`); nil for a zero divisor.
    public static func floorMod(_ x: Int64, _ y: Int64) -> Int64? {
        guard y != 0 else { return nil }
        // Int64.min % -1 traps in Swift; its remainder is 0.
        if y == -1 { return 0 }
        let r = x % y
        return (r != 0 && (r < 0) != (y < 0)) ? r + y : r
    }

    public static func parse(_ text: String) throws -> DimExpr {
        var p = Parser(chars: Array(text.utf8), text: text)
        let e = try p.expr()
        p.skip()
        guard p.i == p.chars.count else { throw p.fail("unexpected '\(Character(Unicode.Scalar(p.chars[p.i])))'") }
        return e
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    private struct Parser {
        let chars: [UInt8]
        let text: String
        var i = 0
        /// Nesting so far: a hostile bundle's "((((..." must end in an error, not a stack overflow.
        var depth = 0

        func fail(_ m: String) -> ParseError { ParseError(description: "cannot parse dimension '\(text)': \(m)") }

        mutating func skip() { while i < chars.count, chars[i] == 0x20 { i += 1 } }

        mutating func eat(_ c: Character) -> Bool {
            skip()
            if i < chars.count, chars[i] == c.asciiValue! { i += 1; return true }
            return false
        }

        mutating func expr() throws -> DimExpr {
            var lhs = try term()
            while true {
                if eat("+") { lhs = .add(lhs, try term()) } else if eat("-") { lhs = .sub(lhs, try term()) } else { return lhs }
            }
        }

        mutating func term() throws -> DimExpr {
            var lhs = try factor()
            while eat("*") { lhs = .mul(lhs, try factor()) }
            return lhs
        }

        mutating func factor() throws -> DimExpr {
            depth += 1
            defer { depth -= 1 }
            guard depth <= 64 else { throw fail("nested too deeply") }
            skip()
            guard i < chars.count else { throw fail("unexpected end") }
            if eat("(") {
                let e = try expr()
                guard eat(")") else { throw fail("missing ')'") }
                return e
            }
            if eat("-") { return .mul(.constant(-1), try factor()) }
            let c = chars[i]
            if c >= 0x30 && c <= 0x39 {
                var v: Int64 = 0
                while i < chars.count, chars[i] >= 0x30, chars[i] <= 0x39 {
                    let (m, o1) = v.multipliedReportingOverflow(by: 10)
                    let (n, o2) = m.addingReportingOverflow(Int64(chars[i] - 0x30))
                    guard !o1, !o2 else { throw fail("the integer is too large") }
                    v = n; i += 1
                }
                return .constant(v)
            }
            guard isIdentStart(c) else { throw fail("unexpected '\(Character(Unicode.Scalar(c)))'") }
            let start = i
            while i < chars.count, isIdentStart(chars[i]) || (chars[i] >= 0x30 && chars[i] <= 0x39) { i += 1 }
            let name = String(decoding: chars[start..<i], as: UTF8.self)
            if DimExpr.functions.contains(name), eat("(") {
                let a = try expr()
                guard eat(",") else { throw fail("\(name) takes two arguments") }
                let b = try expr()
                guard eat(")") else { throw fail("missing ')'") }
                return .call(name, a, b)
            }
            return .symbol(name)
        }

        func isIdentStart(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F }
    }
}
