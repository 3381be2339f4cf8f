import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The bundle's data file, offered to the writer as the model's sidecar (`--data-in-place`).
public struct DataInPlace {
    /// The mapping the initializers borrow their bytes from.
    public let file: MappedFile
    /// A temporary made for this very model (`to_onnx` writes `.NAME.<hex>.data.tmp-PID-<hex>`
    /// beside the output): it is renamed into the sidecar, and removed when the run fails or
    /// compaction rewrites it. Otherwise it is the user's bundle data file: the sidecar becomes a
    /// second name of it (a hard link), it is never removed, and what a failed run appended is
    /// cut off again.
    public let adopt: Bool

    public init(file: MappedFile, adopt: Bool) { self.file = file; self.adopt = adopt }

    /// Whether `dataPath` is a temporary written for `output`: `.BASE.` + … + `.tmp-PID-<16 hex>`.
    public static func isTemporary(_ dataPath: String, for output: String) -> Bool {
        let name = (dataPath as NSString).lastPathComponent
        let base = (output as NSString).lastPathComponent
        guard name.hasPrefix("." + base + "."), let r = name.range(of: OutputFile.tempMarker, options: .backwards) else { return false }
        let tail = name[r.upperBound...].split(separator: "-")
        return tail.count == 2 && Int32(tail[0]) != nil && tail[1].count == 16 && tail[1].allSatisfy(\.isHexDigit)
    }

    /// Whether the data file and the output sit in one folder (the sidecar must: ONNX external
    /// data is found relative to the model).
    public static func sideBySide(_ dataPath: String, _ output: String) -> Bool {
        func folder(_ p: String) -> String { let d = (p as NSString).deletingLastPathComponent; return d.isEmpty ? "." : d }
        var a = stat(), b = stat()
        guard stat(folder(dataPath), &a) == 0, stat(folder(output), &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }
}

/// Writes a model whose sidecar is the bundle's data file itself: initializers that still hold
/// bytes of that file point at their offsets in it, weights the passes made or changed are
/// appended (page-aligned), and only the graph is written anew.
///
/// The compaction rule: bytes of the data file no initializer references (constants dead-code
/// removal dropped, small ones inlined into the model, alignment padding) are holes. When the
/// holes reach `compactFraction` of the final sidecar or `compactBytes`, the sidecar is rewritten
/// with only what the model references (the ordinary writer's path) instead.
enum InPlaceSidecar {
    static let compactFraction = 0.10
    static let compactBytes: Int64 = 64 << 20

    /// Writes the model and returns true, or returns false without writing anything when the
    /// ordinary path (a fresh, compact sidecar) should be taken instead.
    static func write(_ g: Graph, to path: String, options: WriteOptions, data: DataInPlace,
                      large: [Int], names: ValueNames, outOfLine: [Bool]) throws -> Bool {
        let sources = WeightSources(g)
        let fileSize = Int64(data.file.bytes.count)
        var offsets: [Int: Int64] = [:]
        var appended: [Int] = []
        var ranges: [(start: Int64, end: Int64)] = []
        for i in large {
            let b = g.initializers[i].tensor.bytes
            if let s = sources.source(of: b), s.fd == data.file.descriptor {
                offsets[i] = s.offset
                ranges.append((s.offset, s.offset + Int64(b.count)))
            } else {
                appended.append(i)
            }
        }
        var end = fileSize
        var appendAt: [Int: Int64] = [:]
        for i in appended {
            let at = (end + ONNXWriter.sidecarAlignment - 1) / ONNXWriter.sidecarAlignment * ONNXWriter.sidecarAlignment
            appendAt[i] = at
            end = at + Int64(g.initializers[i].tensor.bytes.count)
        }
        let holes = fileSize - referencedBytes(ranges)
        guard !ranges.isEmpty, Double(holes) < compactFraction * Double(end), holes < compactBytes else { return false }

        // The sidecar's file: the data file itself (ours), or a second name of it (the user's).
        let dir = (path as NSString).deletingLastPathComponent
        let finalData = path + "." + OutputFile.randomToken() + ".data"
        var dataTemp = data.file.path
        if !data.adopt {
            dataTemp = (dir.isEmpty ? "" : dir + "/") + "." + (finalData as NSString).lastPathComponent
                + OutputFile.tempMarker + "\(getpid())-" + OutputFile.randomToken()
            guard link(data.file.path, dataTemp) == 0 else { return false }  // no hard links here: copy instead
        }
        let fd = open(dataTemp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        var committed = false
        var truncateTo: Int64? = nil
        defer {
            if !committed {
                if let n = truncateTo, fd >= 0 { _ = ftruncate(fd, off_t(n)) }
                unlink(dataTemp)  // ours: the new weights go; the user's: only the second name
            }
            if fd >= 0 { close(fd) }
        }
        guard fd >= 0 else { throw HostError.io("cannot open '\(dataTemp)' to append weights: \(String(cString: strerror(errno)))") }
        // Concurrent in-place runs over one user file append one after the other.
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        var st = stat(), mapped = stat()
        guard fstat(fd, &st) == 0, fstat(data.file.descriptor, &mapped) == 0,
              st.st_dev == mapped.st_dev, st.st_ino == mapped.st_ino else {
            throw HostError.io("'\(dataTemp)' is no longer the bundle's data file")
        }
        guard Int64(st.st_size) == fileSize else {
            throw HostError.io("the bundle's data file '\(data.file.path)' changed size while it was converted")
        }
        truncateTo = fileSize

        if !appended.isEmpty {
            let sink = OutputFile(appendingTo: fd, path: dataTemp, at: fileSize)
            var pos = fileSize
            var written = 0
            for i in appended {
                let t = g.initializers[i].tensor
                try sink.pad(Int(appendAt[i]! - pos))
                try t.bytes.withBytes { try sink.append($0, from: sources.source(of: t.bytes)) }
                pos = appendAt[i]! + Int64(t.bytes.count)
                offsets[i] = appendAt[i]!
                written += t.bytes.count
                options.onBytes?(written)
            }
        }

        let encoder = ModelEncoder(g, names: names, options: options, outOfLine: outOfLine,
                                   sidecar: ((finalData as NSString).lastPathComponent, offsets))
        let head = encoder.encodeModel()
        let headSize = head.reduce(Int64(0)) { $0 + Int64($1.count) }
        guard headSize < ONNXWriter.protobufLimit else {
            throw HostError.io("the model structure is over 2 GiB, which a single ONNX file cannot hold")
        }
        let model = try OutputFile(finalPath: path)
        var modelDone = false
        defer { if !modelDone { model.discard() } }
        model.preallocate(headSize)
        for piece in head { try piece.withBytes { try model.write($0) } }
        try model.close()
        try ONNXWriter.commit(model: model, sidecarTemp: dataTemp, sidecarFinal: finalData)
        modelDone = true
        committed = true
        return true
    }

    /// Bytes covered by the union of the ranges (initializers may share bytes).
    static func referencedBytes(_ ranges: [(start: Int64, end: Int64)]) -> Int64 {
        var total: Int64 = 0, reach: Int64 = Int64.min
        for r in ranges.sorted(by: { $0.start < $1.start }) {
            let s = max(r.start, reach)
            if r.end > s { total += r.end - s }
            reach = max(reach, r.end)
        }
        return total
    }
}
