/// An immutable NUL-terminated copy of a string, for handing `const char *` across the ABI.
public final class CText {
    public let pointer: UnsafeMutablePointer<CChar>
    public let count: Int
    public let string: String

    public init(_ s: String) {
        string = s
        let utf8 = Array(s.utf8)
        count = utf8.count
        pointer = .allocate(capacity: utf8.count + 1)
        for (k, byte) in utf8.enumerated() { pointer[k] = CChar(bitPattern: byte) }
        pointer[utf8.count] = 0
    }

    deinit { pointer.deallocate() }
}
