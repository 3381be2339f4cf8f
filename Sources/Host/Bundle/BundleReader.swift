import Foundation
import J2OPluginABI
#if canImport(Glibc)
import Glibc
#endif

/// A bundle opened for conversion: the mapped file, the constant table, and the program.
public final class Bundle {
    public let file: MappedFile
    /// The file holding the constants: `file` itself, or (version 2 with the data-file flag) the
    /// separate data file the bundle names.
    public let dataFile: MappedFile
    /// Whether the constants live in a file of their own (`dataFile !== file`).
    public var hasSeparateDataFile: Bool { dataFile !== file }
    public let version: UInt32
    public let name: String?
    public let tensors: [TensorRef]
    public let program: ClosedJaxpr
    public let inputNames: [String]?
    public let outputNames: [String]?

    init(file: MappedFile, dataFile: MappedFile, version: UInt32, name: String?, tensors: [TensorRef],
         program: ClosedJaxpr, inputNames: [String]?, outputNames: [String]?) {
        self.file = file; self.dataFile = dataFile; self.version = version; self.name = name; self.tensors = tensors
        self.program = program; self.inputNames = inputNames; self.outputNames = outputNames
    }

    /// The raw bytes of constant `index`, straight from the map.
    public func bytes(ofTensor index: Int) -> UnsafeRawBufferPointer {
        let t = tensors[index]
        return UnsafeRawBufferPointer(rebasing: dataFile.bytes[t.offset..<(t.offset + t.nbytes)])
    }
}

/// Reads bundle files (docs/bundle-format.md). Every offset and size is checked against the file
/// before use, so a truncated or corrupt file is an error, never a crash.
public enum BundleReader {
    public static let magic: [UInt8] = Array("J2OBNDL".utf8) + [0]
    public static let supportedVersions: ClosedRange<UInt32> = 1...2
    public static let headerSize = 64
    /// Header flag (version 2): the data section is a file of its own, named by "data_file".
    public static let flagDataFile: UInt32 = 1

    public static func read(path: String) throws -> Bundle {
        let file = try MappedFile(path: path)
        return try read(file)
    }

    /// Reads a bundle held in memory (the fuzzer's inputs, generated test programs): the bytes go
    /// to an anonymous memory file and are mapped like any bundle, so every check is the same.
    public static func read(bytes: UnsafeRawBufferPointer, name: String) throws -> Bundle {
        typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
        // Swift's Glibc module does not declare memfd_create (a _GNU_SOURCE function).
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "memfd_create") else {
            throw HostError.io("this system has no memfd_create")
        }
        let fd = unsafeBitCast(sym, to: MemfdCreate.self)(name, 1 /* MFD_CLOEXEC */)
        guard fd >= 0 else { throw HostError.io("cannot create a memory file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            guard n > 0 else { throw HostError.io("cannot fill a memory file: \(String(cString: strerror(errno)))") }
            done += n
        }
        return try read(MappedFile(path: "/proc/self/fd/\(fd)"))
    }

    static func read(_ file: MappedFile) throws -> Bundle {
        let path = file.path
        func fail(_ m: String) -> HostError { .bundle(path: path, message: m) }
        let b = file.bytes
        guard b.count >= headerSize else {
            throw fail("file is \(b.count) bytes, shorter than the \(headerSize)-byte header (truncated, or not a bundle)")
        }
        guard Array(b[0..<8]) == magic else { throw fail("not a jax2onnx bundle (bad magic bytes)") }
        func u32(_ at: Int) -> UInt32 { b.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian }
        func u64(_ at: Int) -> UInt64 { b.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian }
        let version = u32(8)
        guard supportedVersions.contains(version) else {
            throw fail("bundle version \(version) is not supported; this host reads versions \(supportedVersions.lowerBound)...\(supportedVersions.upperBound)")
        }
        let flags = u32(12)
        let knownFlags: UInt32 = version >= 2 ? flagDataFile : 0
        guard flags & ~knownFlags == 0 else {
            throw fail("unknown header flags 0x\(String(flags, radix: 16)) for bundle version \(version)")
        }
        let separateData = flags & flagDataFile != 0
        let (jsonOffset, jsonLength, dataOffset, dataLength) = (u64(16), u64(24), u64(32), u64(40))
        let size = UInt64(b.count)
        guard jsonOffset >= UInt64(headerSize), jsonOffset <= size, jsonLength <= size - jsonOffset else {
            throw fail("JSON section [\(jsonOffset), +\(jsonLength)) lies outside the \(size)-byte file (truncated?)")
        }
        // With a separate data file the section's bounds are checked against that file below.
        guard separateData || (dataOffset <= size && dataLength <= size - dataOffset) else {
            throw fail("data section [\(dataOffset), +\(dataLength)) lies outside the \(size)-byte file (truncated?)")
        }
        guard dataOffset % 64 == 0 else { throw fail("data section offset \(dataOffset) is not 64-byte aligned") }

        let jsonBytes = UnsafeRawBufferPointer(rebasing: b[Int(jsonOffset)..<Int(jsonOffset + jsonLength)]).bindMemory(to: UInt8.self)
        var decoder = BundleDecoder(json: jsonBytes, dataOffset: Int(dataOffset), dataLength: Int(dataLength))
        let doc: BundleDecoder.Document
        do { doc = try decoder.document() } catch let e as JSONError {
            throw fail("\(e) (offset within the JSON section)")
        } catch let e as DecodeFailure {
            throw fail(e.description)
        }
        var dataFile = file
        if separateData {
            guard let ref = doc.dataFile, !ref.isEmpty else {
                throw fail("the header says the constants are in a data file of their own, but 'data_file' names none")
            }
            let dir = (path as NSString).deletingLastPathComponent
            let dataPath = ref.hasPrefix("/") || dir.isEmpty ? ref : dir + "/" + ref
            dataFile = try MappedFile(path: dataPath)
            let dataSize = UInt64(dataFile.bytes.count)
            guard dataOffset <= dataSize, dataLength <= dataSize - dataOffset else {
                throw HostError.bundle(path: dataPath, message: "data section [\(dataOffset), +\(dataLength)) lies outside the \(dataSize)-byte data file (truncated?)")
            }
        }
        return Bundle(file: file, dataFile: dataFile, version: version, name: doc.name, tensors: doc.tensors,
                      program: doc.program, inputNames: doc.inputNames, outputNames: doc.outputNames)
    }
}
