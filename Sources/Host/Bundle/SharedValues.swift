#if canImport(Glibc)
import Glibc
#endif

/// Decoded values keyed by the exact JSON bytes they came from, so text that repeats through a
/// bundle (primitive names, dtypes, param keys, avals, whole param sets, source locations) is
/// decoded and allocated once and then shared. Keys are views of memory that outlives the
/// table (the mapped bundle, or the cursor's arena), so nothing is copied to look up.
struct SharedValues<Value> {
    private struct Slot {
        var hash: UInt64
        var key: UnsafeBufferPointer<UInt8>
        var value: Value
    }
    private var slots: [Slot?]
    private var used = 0

    init(capacity: Int = 64) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = Array(repeating: nil, count: n)
    }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: key.count)
        guard let base = key.baseAddress else { return h }
        let raw = UnsafeRawPointer(base)
        var k = 0
        while k + 8 <= key.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            k += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while k < key.count { tail |= UInt64(base[k]) << shift; shift += 8; k += 1 }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 29)
    }

    func find(_ key: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Value? {
        let mask = slots.count - 1
        var k = Int(truncatingIfNeeded: h) & mask
        while let s = slots[k] {
            if s.hash == h, s.key.count == key.count,
               key.count == 0 || memcmp(s.key.baseAddress!, key.baseAddress!, key.count) == 0 {
                return s.value
            }
            k = (k + 1) & mask
        }
        return nil
    }

    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, hash h: UInt64, _ value: Value) {
        if (used + 1) * 2 > slots.count { grow() }
        let mask = slots.count - 1
        var k = Int(truncatingIfNeeded: h) & mask
        while slots[k] != nil { k = (k + 1) & mask }
        slots[k] = Slot(hash: h, key: key, value: value)
        used += 1
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: nil, count: old.count * 2)
        let mask = slots.count - 1
        for case let s? in old {
            var k = Int(truncatingIfNeeded: s.hash) & mask
            while slots[k] != nil { k = (k + 1) & mask }
            slots[k] = s
        }
    }
}
