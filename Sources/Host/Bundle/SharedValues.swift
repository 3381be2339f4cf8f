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

/// The last few values read at one kind of place, tried against the bytes ahead of the cursor
/// before anything is skipped or hashed: consecutive equations of a deep model mostly repeat
/// the previous aval, params and source location verbatim, so one `memcmp` usually settles it.
/// Only self-delimiting values (objects, arrays, strings) are kept, so equal bytes mean the same
/// whole value.
struct RecentValues<Value> {
    private var keys: [UnsafeBufferPointer<UInt8>]
    private var values: [Value?]
    private var next = 0

    init(_ count: Int) {
        keys = Array(repeating: UnsafeBufferPointer(start: nil, count: 0), count: count)
        values = Array(repeating: nil, count: count)
    }

    /// The value whose bytes start at `at` in `bytes`, with its length.
    @inline(__always)
    func match(_ bytes: UnsafeBufferPointer<UInt8>, at: Int) -> (value: Value, count: Int)? {
        let left = bytes.count - at
        guard left > 0, let base = bytes.baseAddress else { return nil }
        for k in keys.indices {
            let key = keys[k]
            guard let kb = key.baseAddress, key.count <= left, kb[0] == base[at],
                  memcmp(kb, base + at, key.count) == 0, let v = values[k] else { continue }
            return (v, key.count)
        }
        return nil
    }

    mutating func remember(_ key: UnsafeBufferPointer<UInt8>, _ value: Value) {
        guard let first = key.first,
              first == UInt8(ascii: "{") || first == UInt8(ascii: "[") || first == UInt8(ascii: "\"") else { return }
        keys[next] = key
        values[next] = value
        next = (next + 1) % keys.count
    }
}

/// A kind of shared value's table together with its recent list: the recent list is tried at the
/// cursor first, the table by the value's bytes next, and what gets decoded goes into both.
struct ValueCache<Value> {
    private var table: SharedValues<Value>
    private var recent: RecentValues<Value>

    struct Key {
        let raw: UnsafeBufferPointer<UInt8>
        let hash: UInt64
    }

    init(capacity: Int = 64, recent: Int) {
        table = SharedValues(capacity: capacity)
        self.recent = RecentValues(recent)
    }

    /// A recent value whose bytes come next at the cursor, which then moves past them.
    mutating func ahead(_ c: inout JSONCursor) -> Value? {
        guard let hit = recent.match(c.p, at: c.i) else { return nil }
        c.advance(hit.count)
        return hit.value
    }

    /// The value decoded before from exactly these bytes; else nil, and the key to store under.
    mutating func find(_ raw: UnsafeBufferPointer<UInt8>) -> (value: Value?, key: Key) {
        let key = Key(raw: raw, hash: SharedValues<Value>.hash(raw))
        let value = table.find(raw, hash: key.hash)
        if let value { recent.remember(raw, value) }
        return (value, key)
    }

    mutating func store(_ value: Value, as key: Key) {
        table.insert(key.raw, hash: key.hash, value)
        recent.remember(key.raw, value)
    }
}
