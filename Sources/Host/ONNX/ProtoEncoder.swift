#if canImport(Glibc)
import Glibc
#endif

/// Protobuf wire format written straight into one growing byte buffer, with no message structs
/// in between. A nested message is written in place: `begin` reserves one length byte and `end`
/// fills it in, shifting the body only when it is 128 bytes or longer and its length needs a
/// longer varint. Most messages (nodes, value infos, attributes) are short, so almost nothing
/// moves; the few large ones (a graph) move once per nesting level.
///
/// Fields are emitted in the order the caller writes them; the ONNX encoders write them in field
/// number order, as protobuf libraries do, so the bytes match a library's serialization.
struct ProtoEncoder {
    /// Owns the allocation, so copies of the encoder never free it twice.
    private final class Storage {
        var base: UnsafeMutablePointer<UInt8>
        var capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(capacity: capacity)
        }
        deinit { base.deallocate() }
    }

    private let storage: Storage
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 16) {
        storage = Storage(capacity: max(capacity, 16))
        base = storage.base
        self.capacity = storage.capacity
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private mutating func grow(_ needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        fresh.update(from: base, count: count)
        storage.base.deallocate()
        storage.base = fresh
        storage.capacity = newCapacity
        base = fresh
        capacity = newCapacity
    }

    // MARK: scalars

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        reserve(10)
        var v = value
        while v >= 0x80 {
            base[count] = UInt8(truncatingIfNeeded: v) | 0x80
            count += 1
            v >>= 7
        }
        base[count] = UInt8(v)
        count += 1
    }

    @inline(__always)
    mutating func varint(_ value: Int) { varint(UInt64(bitPattern: Int64(value))) }

    @inline(__always)
    mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: src, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func raw(_ bytes: [UInt8]) { bytes.withUnsafeBytes { raw($0) } }

    /// The ASCII digits of `n`.
    @inline(__always)
    mutating func decimal(_ n: UInt64) {
        let d = Self.digits(n)
        reserve(d)
        var v = n
        var i = count + d - 1
        repeat {
            base[i] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
            v /= 10
            i -= 1
        } while v > 0
        count += d
    }

    // MARK: fields

    enum Wire: UInt64 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    @inline(__always)
    mutating func tag(_ field: Int, _ wire: Wire) { varint(UInt64(field) << 3 | wire.rawValue) }

    /// int64, int32 and enum fields: negative values take ten bytes, as the wire format wants.
    @inline(__always)
    mutating func int(_ field: Int, _ value: Int64) {
        tag(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    @inline(__always)
    mutating func float(_ field: Int, _ value: Float) {
        tag(field, .fixed32)
        reserve(4)
        var bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { UnsafeMutableRawPointer(base + count).copyMemory(from: $0.baseAddress!, byteCount: 4) }
        count += 4
    }

    @inline(__always)
    mutating func bytes(_ field: Int, _ value: UnsafeRawBufferPointer) {
        tag(field, .lengthDelimited)
        varint(value.count)
        raw(value)
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) { value.withUnsafeBytes { bytes(field, $0) } }

    @inline(__always)
    mutating func string(_ field: Int, _ value: String) {
        var s = value
        s.withUTF8 { bytes(field, UnsafeRawBufferPointer($0)) }
    }

    /// The string's UTF-8 bytes, no tag or length.
    @inline(__always)
    mutating func utf8(_ value: String) {
        var s = value
        s.withUTF8 { raw(UnsafeRawBufferPointer($0)) }
    }

    /// A string field holding `prefix` followed by the decimal digits of `n` (generated names),
    /// written without building the string.
    @inline(__always)
    mutating func string(_ field: Int, prefix: StaticString, _ n: UInt64) {
        tag(field, .lengthDelimited)
        varint(prefix.utf8CodeUnitCount + Self.digits(n))
        raw(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
        decimal(n)
    }

    /// Opens a length-delimited field holding a nested message; close it with `end`.
    @inline(__always)
    mutating func begin(_ field: Int) -> Int {
        tag(field, .lengthDelimited)
        reserve(1)
        count += 1
        return count - 1
    }

    @inline(__always)
    mutating func end(_ mark: Int) {
        let length = count - mark - 1
        if length < 0x80 {
            base[mark] = UInt8(length)
            return
        }
        let width = Self.varintSize(UInt64(length))
        reserve(width - 1)
        memmove(base + mark + width, base + mark + 1, length)
        var v = UInt64(length)
        var i = mark
        while v >= 0x80 {
            base[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i += 1
        }
        base[i] = UInt8(v)
        count += width - 1
    }

    // MARK: sizes

    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        // One byte per started group of 7 bits (and one for zero).
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    @inline(__always)
    static func digits(_ n: UInt64) -> Int {
        var d = 1, v = n
        while v >= 10 { v /= 10; d += 1 }
        return d
    }
}
