import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file written under a temporary name beside its final path, so that moving it into place is
/// an atomic rename and a failure never leaves a partial file under the final name.
///
/// The temporary name is `.NAME.tmp-PID-RANDOM` in the output's own folder, created with
/// O_EXCL|O_NOFOLLOW: a name planted in advance (a symlink to a file the user can write) is never
/// followed or reused, and the random part makes it unguessable. The PID lets a later run into the
/// same folder remove what a killed run left behind (`removeStaleTemporaries`).
final class OutputFile {
    let fd: Int32
    let tempPath: String
    let finalPath: String
    private var closed = false

    static let tempMarker = ".tmp-"

    init(finalPath: String) throws {
        self.finalPath = finalPath
        let dir = (finalPath as NSString).deletingLastPathComponent
        let base = (finalPath as NSString).lastPathComponent
        var fd: Int32 = -1, temp = ""
        for _ in 0..<8 {
            temp = (dir.isEmpty ? "" : dir + "/") + ".\(base)\(Self.tempMarker)\(getpid())-\(OutputFile.randomToken())"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw HostError.io("cannot write '\(finalPath)': \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        tempPath = temp
    }

    /// Writes at `offset` into a file the caller opened and keeps owning (it closes it).
    init(appendingTo fd: Int32, path: String, at offset: Int64) {
        self.fd = fd
        tempPath = path
        finalPath = path
        closed = true
        lseek(fd, off_t(offset), SEEK_SET)
    }

    /// 16 hex digits from the system's random source.
    static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        let v = g.next() as UInt64
        let hex = String(v, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Removes `.NAME.tmp-PID-…` files in `dir` whose process is gone (a run killed before it could
    /// clean up). Files of live processes, and anything not named like ours, are left alone.
    static func removeStaleTemporaries(in dir: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
        for name in names where name.hasPrefix(".") {
            guard let r = name.range(of: tempMarker, options: .backwards) else { continue }
            let tail = name[r.upperBound...].split(separator: "-")
            guard tail.count == 2, let pid = Int32(tail[0]), pid > 0, tail[1].count == 16,
                  tail[1].allSatisfy(\.isHexDigit) else { continue }
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink((dir.isEmpty ? "" : dir + "/") + name)
        }
    }

    /// Refuses an output that is the input itself (the same path, or another name of the same file
    /// through a hard link or symlink): writing it would destroy the bundle being read.
    static func checkNotInput(output: String, input: String) throws {
        var a = stat(), b = stat()
        guard stat(input, &a) == 0, stat(output, &b) == 0 else { return }
        if a.st_dev == b.st_dev && a.st_ino == b.st_ino {
            throw HostError.usage("the output '\(output)' is the input bundle '\(input)' (the same file); choose another -o")
        }
    }

    /// Reserves the file's blocks up front where that is cheap (ext4, xfs): writes then fill
    /// allocated blocks, and ext4 has no delayed allocation left to force out when the rename
    /// replaces an existing file (auto_da_alloc), which otherwise more than doubles the time.
    /// tmpfs is left alone: there it would only hand out zeroed pages the writes overwrite.
    /// Best effort: where the filesystem cannot, nothing is reserved.
    func preallocate(_ size: Int64) {
        guard size > 0, let fallocate = KernelCopy.fallocate else { return }
        if KernelCopy.isTmpfs(fd) { return }
        _ = fallocate(fd, 0, 0, size)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write to")
            }
            p += n
            left -= n
        }
    }

    private static let zeros = [UInt8](repeating: 0, count: 4096)

    /// Zero bytes (alignment padding).
    func pad(_ n: Int) throws {
        var left = n
        while left > 0 {
            let k = min(left, Self.zeros.count)
            try Self.zeros.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<k])) }
            left -= k
        }
    }

    /// Appends tensor bytes. Bytes of a mapped file are copied by the kernel from the file itself,
    /// page cache to page cache, so the weights never fault into this process; `bytes` (the same
    /// range, mapped) is the fallback where the kernel cannot copy between the two files.
    func append(_ bytes: UnsafeRawBufferPointer, from source: (fd: Int32, offset: Int64)?) throws {
        guard let source else { return try write(bytes) }
        var offset = source.offset
        var done = 0
        while done < bytes.count {
            let want = min(bytes.count - done, 1 << 30)
            let n = KernelCopy.copy(from: source.fd, at: &offset, to: fd, count: want)
            if n > 0 {
                done += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            // Not supported between these files (or the source ended early): copy the rest
            // through the mapping.
            return try write(UnsafeRawBufferPointer(rebasing: bytes[done...]))
        }
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        guard Glibc.close(fd) == 0 else { throw failure("closing") }
    }

    /// Closes (if still open) and removes the temporary file: the output is abandoned.
    func discard() {
        if !closed { closed = true; _ = Glibc.close(fd) }
        unlink(tempPath)
    }

    func moveIntoPlace() throws {
        guard rename(tempPath, finalPath) == 0 else {
            throw HostError.io("cannot move the output into place at '\(finalPath)': \(String(cString: strerror(errno)))")
        }
    }

    private func failure(_ what: String) -> HostError {
        HostError.io("\(what) '\(tempPath)' failed: \(String(cString: strerror(errno)))")
    }

    deinit { if !closed { _ = Glibc.close(fd) } }
}

/// In-kernel file-to-file copies: copy_file_range (which may share extents on filesystems that
/// can), else sendfile (which works between any two files, e.g. into tmpfs).
enum KernelCopy {
    private typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32,
                                                     UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int
    /// Glibc declares copy_file_range only under _GNU_SOURCE, which Swift's Glibc module does not
    /// see; look it up at run time instead.
    private static let copyFileRange: CopyFileRange? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "copy_file_range") else { return nil }
        return unsafeBitCast(sym, to: CopyFileRange.self)
    }()

    typealias Fallocate = @convention(c) (Int32, Int32, Int64, Int64) -> Int32
    /// Linux fallocate(2), which unlike posix_fallocate never falls back to writing zeros.
    static let fallocate: Fallocate? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fallocate") else { return nil }
        return unsafeBitCast(sym, to: Fallocate.self)
    }()

    private typealias Fstatfs = @convention(c) (Int32, UnsafeMutableRawPointer) -> Int32
    /// Swift's Glibc module does not bring in <sys/statfs.h>; the filesystem type, a long, is the
    /// first field of struct statfs on Linux.
    private static let fstatfs: Fstatfs? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fstatfs") else { return nil }
        return unsafeBitCast(sym, to: Fstatfs.self)
    }()

    static func isTmpfs(_ fd: Int32) -> Bool {
        guard let fstatfs else { return false }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
        defer { buffer.deallocate() }
        guard fstatfs(fd, buffer) == 0 else { return false }
        return buffer.load(as: Int.self) == 0x01021994  // TMPFS_MAGIC
    }

    /// Copies up to `count` bytes from `source` at `offset` (advanced by what was copied) to the
    /// current position of `target`. Returns the bytes copied, 0 when neither call can copy
    /// between these files, or -1 with errno EINTR.
    static func copy(from source: Int32, at offset: inout Int64, to target: Int32, count: Int) -> Int {
        if let cfr = copyFileRange {
            let n = cfr(source, &offset, target, nil, count, 0)
            if n > 0 { return n }
            if n < 0 && errno == EINTR { return -1 }
            // EXDEV (different filesystems), EINVAL, ENOSYS, EOPNOTSUPP: try sendfile.
        }
        do {
            var off = Int(offset)
            let n = sendfile(target, source, &off, count)
            if n > 0 { offset = Int64(off); return n }
            if n < 0 && errno == EINTR { return -1 }
        }
        return 0
    }
}
