/// The host's memory ceiling for what a conversion materializes beyond the mapped bundle:
/// constants packs create and tensors the passes fold. A hostile bundle (a gather with
/// slice_sizes of 2^31) is refused before the allocation, with an error instead of the kernel's
/// OOM killer.
public enum MemoryLimit {
    /// 4 GiB: far above any real model's computed constants (weights stay mapped), well below
    /// what makes a CI machine swap.
    public static let defaultBytes = 4 << 30
}

/// Bytes of a tensor of `shape` and `dtype`, nil when the count leaves Int64 or a dim is negative.
func checkedByteCount(_ shape: [Int64], _ dtype: DType) -> Int64? {
    var n = Int64(max(dtype.byteWidth, 1))
    for d in shape {
        guard d >= 0 else { return nil }
        let (m, o) = n.multipliedReportingOverflow(by: d)
        guard !o else { return nil }
        n = m
    }
    return n
}
