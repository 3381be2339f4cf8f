#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file. Weights stay in the page cache and stream from here to
/// the output; nothing copies them.
public final class MappedFile {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    /// The file, kept open so writers can copy ranges of it in the kernel (copy_file_range)
    /// instead of faulting the mapped pages in.
    public let descriptor: Int32

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HostError.io("cannot open '\(path)': \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let err = errno
            close(fd)
            throw HostError.io("cannot stat '\(path)': \(String(cString: strerror(err)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { close(fd); throw HostError.io("'\(path)' is not a regular file") }
        let size = Int(st.st_size)
        descriptor = fd
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            let err = errno
            close(fd)
            throw HostError.io("cannot map '\(path)': \(String(cString: strerror(err)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        close(descriptor)
    }
}
