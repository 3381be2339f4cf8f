#if canImport(Glibc)
import Glibc
#endif

/// A forward reader over raw JSON bytes that a decoder drives directly, so the bundle's program is
/// built in one pass without an intermediate `JSON` tree. Positions can be marked and revisited:
/// an object whose meaning depends on a key that may come late (a param's `"$"` tag) is scanned,
/// then read again. Every read is bounds-checked and nesting is capped, so malformed or hostile
/// input is a `JSONError` naming the byte offset, never a crash.
struct JSONCursor {
    /// A place to come back to: the offset and the nesting depth there.
    struct Mark { var offset: Int; var depth: Int }

    let p: UnsafeBufferPointer<UInt8>
    private(set) var i = 0
    private var depth = 0
    static let maxDepth = 512
    /// Strings with escapes are decoded into memory kept until the cursor's owner frees it, so
    /// every string hands out a stable byte view, escaped or not.
    let arena: ByteArena

    init(_ bytes: UnsafeBufferPointer<UInt8>, arena: ByteArena) { p = bytes; self.arena = arena }

    func fail(_ m: String) -> JSONError { JSONError(offset: i, message: m) }

    var mark: Mark { Mark(offset: i, depth: depth) }
    /// Steps over `n` bytes already known to hold one whole value.
    mutating func advance(_ n: Int) { i += n }
    mutating func seek(_ m: Mark) { i = m.offset; depth = m.depth }

    /// The raw bytes from `m` to the current position.
    func bytes(since m: Mark) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: p[m.offset..<i])
    }

    @inline(__always)
    mutating func skipSpace() {
        while i < p.count {
            switch p[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    /// The first byte of the next value, after white space.
    @inline(__always)
    mutating func peek() throws -> UInt8 {
        skipSpace()
        guard i < p.count else { throw fail("unexpected end") }
        return p[i]
    }

    mutating func atEnd() -> Bool { skipSpace(); return i == p.count }

    private mutating func enter() throws {
        depth += 1
        if depth > JSONCursor.maxDepth { throw fail("nesting deeper than \(JSONCursor.maxDepth)") }
    }

    // MARK: Containers

    /// Opens an object. Then `while let key = try nextKey(&first)` visits its members; the caller
    /// reads or skips each value.
    mutating func beginObject() throws {
        guard try peek() == UInt8(ascii: "{") else { throw fail("expected an object") }
        try enter()
        i += 1
    }

    /// The next member's key (the cursor then sits before its value), or nil at the closing brace.
    mutating func nextKey(_ first: inout Bool) throws -> UnsafeBufferPointer<UInt8>? {
        skipSpace()
        guard i < p.count else { throw fail("unexpected end") }
        if first {
            first = false
            if p[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return nil }
        } else {
            if p[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return nil }
            guard p[i] == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
            i += 1
            skipSpace()
        }
        guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
        let key = try string()
        skipSpace()
        guard i < p.count, p[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        i += 1
        return key
    }

    /// Opens an array. Then `while try nextElement(&first)` visits its elements; the caller reads
    /// or skips each one.
    mutating func beginArray() throws {
        guard try peek() == UInt8(ascii: "[") else { throw fail("expected an array") }
        try enter()
        i += 1
    }

    /// Whether another element follows (the cursor then sits before it); false at the closing bracket.
    mutating func nextElement(_ first: inout Bool) throws -> Bool {
        skipSpace()
        guard i < p.count else { throw fail("unexpected end") }
        if p[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return false }
        if first { first = false; return true }
        guard p[i] == UInt8(ascii: ",") else { throw fail("expected ',' or ']'") }
        i += 1
        skipSpace()
        guard i < p.count else { throw fail("unexpected end") }
        if p[i] == UInt8(ascii: "]") { throw fail("unexpected character") }
        return true
    }

    // MARK: Scalars

    /// A string's bytes: a view into the input when it has no escapes, else its decoded form.
    mutating func string() throws -> UnsafeBufferPointer<UInt8> {
        guard try peek() == UInt8(ascii: "\"") else { throw fail("expected a string") }
        i += 1
        let start = i
        while i < p.count, p[i] != UInt8(ascii: "\""), p[i] != UInt8(ascii: "\\"), p[i] >= 0x20 { i += 1 }
        guard i < p.count else { throw fail("unterminated string") }
        // JSON requires control characters escaped; a raw one is a damaged file, not a name.
        if p[i] < 0x20 { throw fail("unescaped control character in a string") }
        if p[i] == UInt8(ascii: "\"") {
            i += 1
            return UnsafeBufferPointer(rebasing: p[start..<(i - 1)])
        }
        var bytes = Array(p[start..<i])
        while true {
            guard i < p.count else { throw fail("unterminated string") }
            let c = p[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("unescaped control character in a string") }
            if c != UInt8(ascii: "\\") { bytes.append(c); i += 1; continue }
            i += 1
            guard i < p.count else { throw fail("unterminated escape") }
            let e = p[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), i + 1 < p.count, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    code = 0x10000 + ((code - 0xD800) << 10) + (low &- 0xDC00)
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw fail("bad escape")
            }
        }
        return arena.keep(bytes)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= p.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = p[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("bad hex digit")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    enum Number { case int(Int64), double(Double) }

    /// A number, kept apart as the bundle needs: an integer literal (no `.`, no exponent) that
    /// fits is `.int`, anything else `.double`.
    mutating func number() throws -> Number {
        skipSpace()
        let start = i
        var negative = false
        if i < p.count, p[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        // Fast path: plain integers, accumulated negatively so Int64.min fits.
        var v: Int64 = 0
        var overflow = false
        let digitsStart = i
        // JSON numbers have no leading zeros ("01" is a damaged 1 or 10, not a number).
        if i + 1 < p.count, p[i] == 0x30, p[i + 1] >= 0x30, p[i + 1] <= 0x39 { throw fail("number with a leading zero") }
        while i < p.count, p[i] >= 0x30, p[i] <= 0x39 {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(p[i] - 0x30))
            overflow = overflow || o1 || o2
            v = s
            i += 1
        }
        var isInt = true
        while i < p.count {
            let c = p[i]
            if c >= 0x30 && c <= 0x39 { i += 1; continue }
            if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                || c == UInt8(ascii: "+") || (c == UInt8(ascii: "-") && i > start) {
                isInt = false; i += 1; continue
            }
            break
        }
        guard i > start else { throw fail("unexpected character") }
        if isInt, i > digitsStart, !overflow {
            if !negative {
                guard v != .min else { return try slowNumber(start, isInt: true) }
                return .int(-v)
            }
            return .int(v)
        }
        return try slowNumber(start, isInt: isInt)
    }

    private func slowNumber(_ start: Int, isInt: Bool) throws -> Number {
        let text = String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
        if isInt, let v = Int64(text) { return .int(v) }
        guard let d = Double(text) else { throw JSONError(offset: i, message: "bad number '\(text)'") }
        return .double(d)
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= p.count else { throw fail("unexpected end") }
        let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
        for k in 0..<n where p[i + k] != w[k] { throw fail("unexpected character") }
        i += n
    }

    // MARK: Skipping

    /// Steps over one value of any kind, checking its syntax as a full read would.
    mutating func skipValue() throws {
        switch try peek() {
        case UInt8(ascii: "{"):
            try beginObject()
            var first = true
            while try nextKey(&first) != nil { try skipValue() }
        case UInt8(ascii: "["):
            try beginArray()
            var first = true
            while try nextElement(&first) { try skipValue() }
        case UInt8(ascii: "\""):
            // Strings are stepped over without decoding; escapes are still checked.
            i += 1
            while i < p.count {
                let c = p[i]
                if c == UInt8(ascii: "\"") { i += 1; return }
                if c < 0x20 { throw fail("unescaped control character in a string") }
                if c == UInt8(ascii: "\\") {
                    i += 1
                    guard i < p.count else { throw fail("unterminated escape") }
                    switch p[i] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 1
                    case UInt8(ascii: "u"):
                        i += 1
                        _ = try hex4()
                    default: throw fail("bad escape")
                    }
                    continue
                }
                i += 1
            }
            throw fail("unterminated string")
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    /// Skips the value here and returns its raw bytes (the key under which repeated values are shared).
    mutating func rawValue() throws -> UnsafeBufferPointer<UInt8> {
        skipSpace()
        let m = mark
        try skipValue()
        return bytes(since: m)
    }
}

/// Malformed JSON, at a byte offset.
public struct JSONError: Error, CustomStringConvertible {
    public let offset: Int
    public let message: String
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

/// Decoded strings that must outlive the read that produced them (views handed out by the
/// cursor, keys of the sharing tables); freed together when the decode is over.
final class ByteArena {
    private var blocks: [UnsafeMutableBufferPointer<UInt8>] = []

    func keep(_ bytes: [UInt8]) -> UnsafeBufferPointer<UInt8> {
        let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        _ = b.initialize(from: bytes)
        blocks.append(b)
        return UnsafeBufferPointer(start: b.baseAddress, count: bytes.count)
    }

    deinit { for b in blocks { b.deallocate() } }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// Byte equality with a literal key, the decoder's way of matching member names. Keys are a
    /// few bytes long, so an inline loop beats a call to `memcmp`.
    @inline(__always)
    func equals(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard count == n else { return false }
        guard n > 0, let base = baseAddress else { return n == 0 }
        let lit = s.utf8Start
        for k in 0..<n where base[k] != lit[k] { return false }
        return true
    }

    var text: String { String(decoding: self, as: UTF8.self) }
}
