import J2OPluginABI
#if canImport(Glibc)
import Glibc
#endif

/// One primitive a loaded pack lowers (the descriptor's j2o_claim, read into Swift). A class, so
/// dispatch hands the same claim to every equation without copying its lists.
public final class Claim {
    public let primitive: String
    public let priority: Int32
    public let minOpset: Int
    /// nil = no upper bound
    public let maxOpset: Int?
    public let onnxOps: [String]
    public let note: String?
    /// The operand dtypes the lowering accepts; empty = any (packs older than ABI 1.1 say nothing).
    public let dtypes: [DType]
    /// Set for a typed C lowering (ABI 1.2), which is called instead of `lower`.
    public let signature: TypedSignature?
    let lower: j2o_lower_fn?
    let typedFunction: j2o_typed_fn?
    let userData: UnsafeRawPointer?
    public unowned let pack: LoadedPack
    /// `onnxOps` as a set, made once: every emitted node is checked against it. nil when the
    /// claim lists none (nothing to hold it to).
    let allowedOps: Set<String>?
    /// The primitive as the C string `api->primitive` hands out: every equation a claim lowers
    /// has this primitive (dispatch is by name).
    let primitiveText: CText

    init(primitive: String, priority: Int32, minOpset: Int, maxOpset: Int?, onnxOps: [String], note: String?,
         dtypes: [DType], signature: TypedSignature?, lower: j2o_lower_fn?, typedFunction: j2o_typed_fn?,
         userData: UnsafeRawPointer?, pack: LoadedPack) {
        self.primitive = primitive; self.priority = priority; self.minOpset = minOpset; self.maxOpset = maxOpset
        self.onnxOps = onnxOps; self.note = note; self.dtypes = dtypes; self.signature = signature
        self.lower = lower; self.typedFunction = typedFunction; self.userData = userData; self.pack = pack
        allowedOps = onnxOps.isEmpty ? nil : Set(onnxOps)
        primitiveText = CText(primitive)
    }

    public func serves(opset: Int) -> Bool { opset >= minOpset && (maxOpset.map { opset <= $0 } ?? true) }
    public func accepts(_ dtype: DType) -> Bool { dtypes.isEmpty || dtypes.contains(dtype) }
    public var opsetRange: String { maxOpset.map { "\(minOpset)-\($0)" } ?? "\(minOpset)+" }
}

public final class LoadedPack {
    public let path: String
    public let name: String
    public let version: String
    public let description: String?
    public let abiVersion: UInt32
    /// Position on the search path; lower is earlier and wins ties.
    public let order: Int
    public internal(set) var claims: [Claim] = []
    /// What the pack declares it can be told (ABI 1.4), and what the user set (PackOption.swift).
    public internal(set) var options: [PackOption] = []
    var optionValues: [String: CText] = [:]

    init(path: String, name: String, version: String, description: String?, abiVersion: UInt32, order: Int) {
        self.path = path; self.name = name; self.version = version; self.description = description
        self.abiVersion = abiVersion; self.order = order
        label = "\(name)@\(version)"
        labelText = CText(label)
        pathText = CText(path)
    }

    /// label and path as C strings, for the crash report of a call in flight (PackGuard).
    let labelText: CText
    let pathText: CText

    /// name@version; every lowering attempt records it as provenance, so it is made once.
    public let label: String
    public var abiText: String { "\(abiVersion >> 16).\(abiVersion & 0xFFFF)" }
}

/// Loads lowering packs: checks the file is a shared library for this machine before dlopen,
/// opens it for the life of the process, and reads its descriptor within the bounds the pack's
/// own struct sizes declare.
public enum PackLoader {
    public static let hostABIMajor = UInt32(J2O_ABI_MAJOR)
    public static let hostABIMinor = UInt32(J2O_ABI_MINOR)
    public static var supportedRange: String { "\(hostABIMajor).0..\(hostABIMajor).\(hostABIMinor)" }

    #if arch(x86_64)
    static let elfMachine: UInt16 = 62, machineName = "x86-64"
    #elseif arch(arm64)
    static let elfMachine: UInt16 = 183, machineName = "aarch64"
    #else
    static let elfMachine: UInt16 = 0, machineName = "this machine"
    #endif

    public static func load(path rawPath: String, order: Int) throws -> LoadedPack {
        let path = absolutePath(rawPath)
        func fail(_ m: String) -> HostError { .pack(path: path, message: m) }
        try checkELF(path)
        // Constructors run inside dlopen, and the entry and the descriptor it returns are the
        // pack's: a fault or a hang in any of them is reported as this pack's.
        return try PackGuard.loading(path: CText(path)) {
            // RTLD_NODELETE: a pack is never unloaded; unloading Swift code crashes the runtime later.
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
                throw fail("dlopen failed: \(dlerror().map { String(cString: $0) } ?? "unknown error")")
            }
            guard let sym = dlsym(handle, J2O_ENTRY_SYMBOL) else {
                throw fail("missing entry symbol '\(J2O_ENTRY_SYMBOL)' (not a jax2onnx pack)")
            }
            typealias Entry = @convention(c) () -> UnsafeRawPointer?
            let entry = unsafeBitCast(sym, to: Entry.self)
            guard let raw = entry() else { throw fail("entry symbol returned no descriptor") }
            return try readDescriptor(raw, path: path, order: order)
        }
    }

    static func readDescriptor(_ raw: UnsafeRawPointer, path: String, order: Int) throws -> LoadedPack {
        func fail(_ m: String) -> HostError { .pack(path: path, message: m) }
        // Only the first two fields are read before the version is known.
        let abi = raw.load(as: UInt32.self)
        let size = Int(raw.load(fromByteOffset: 4, as: UInt32.self))
        let major = abi >> 16, minor = abi & 0xFFFF
        guard major == hostABIMajor else {
            throw fail("pack ABI version \(major).\(minor) is not supported: got \(major), this host supports \(supportedRange)")
        }
        let claimsEnd = MemoryLayout<j2o_pack_descriptor>.offset(of: \.claims)! + MemoryLayout<UnsafeRawPointer>.size
        guard size >= claimsEnd else {
            throw fail("descriptor struct_size \(size) is smaller than ABI \(major).0 requires (\(claimsEnd))")
        }
        let d = raw.assumingMemoryBound(to: j2o_pack_descriptor.self).pointee
        guard let namePtr = d.name, let name = validText(namePtr), !name.isEmpty else { throw fail("descriptor has no name") }
        let version = d.version.flatMap(validText) ?? "0"
        let pack = LoadedPack(path: path, name: name, version: version, description: d.description.flatMap(validText),
                              abiVersion: abi, order: order)
        let claimSize = Int(d.claim_size)
        let loweringEnd = MemoryLayout<j2o_claim>.offset(of: \.lower)! + MemoryLayout<UnsafeRawPointer>.size
        guard d.claim_count == 0 || claimSize >= loweringEnd else {
            throw fail("claim_size \(claimSize) is smaller than ABI \(major).0 requires (\(loweringEnd))")
        }
        guard d.claim_count <= 100_000 else { throw fail("claim_count \(d.claim_count) is implausible") }
        guard d.claim_count == 0 || d.claims != nil else { throw fail("claim_count is \(d.claim_count) but claims is NULL") }
        for i in 0..<Int(d.claim_count) {
            let base = UnsafeRawPointer(d.claims!).advanced(by: i * claimSize)
            func field<T>(_ key: KeyPath<j2o_claim, T>, _ type: T.Type) -> T? {
                let off = MemoryLayout<j2o_claim>.offset(of: key)!
                guard off + MemoryLayout<T>.size <= claimSize else { return nil }
                return base.loadUnaligned(fromByteOffset: off, as: T.self)
            }
            guard let primPtr = field(\.primitive, Optional<UnsafePointer<CChar>>.self) ?? nil,
                  let primitive = validText(primPtr), !primitive.isEmpty else {
                throw fail("claim \(i) has no primitive name")
            }
            let lower = field(\.lower, Optional<j2o_lower_fn>.self) ?? nil
            let typed = field(\.typed, Optional<j2o_typed_fn>.self) ?? nil
            guard lower != nil || typed != nil else {
                throw fail("claim \(i) ('\(primitive)') has no lowering function")
            }
            var signature: TypedSignature?
            if typed != nil {
                guard let text = (field(\.signature, Optional<UnsafePointer<CChar>>.self) ?? nil).flatMap(validText) else {
                    throw fail("claim \(i) ('\(primitive)') has a typed lowering but no signature")
                }
                do { signature = try TypedSignature.parse(text) } catch {
                    throw fail("claim \(i) ('\(primitive)'): \(error) ('\(text)')")
                }
            }
            var ops: [String] = []
            if let list = field(\.onnx_ops, Optional<UnsafePointer<UnsafePointer<CChar>?>>.self) ?? nil {
                var k = 0
                while let op = list[k], k < 10_000 { ops.append(String(cString: op)); k += 1 }
            }
            var dtypes: [DType] = []
            if let list = field(\.dtypes, Optional<UnsafePointer<Int32>>.self) ?? nil {
                var k = 0
                while list[k] != 0, k < 64 { dtypes.append(DType(rawValue: list[k])); k += 1 }
            }
            let minOpset = Int(field(\.min_opset, Int32.self) ?? 1)
            let maxRaw = Int(field(\.max_opset, Int32.self) ?? 0)
            let claim = Claim(primitive: primitive, priority: field(\.priority, Int32.self) ?? 0,
                              minOpset: max(1, minOpset), maxOpset: maxRaw > 0 ? maxRaw : nil, onnxOps: ops,
                              note: (field(\.note, Optional<UnsafePointer<CChar>>.self) ?? nil).flatMap(validText),
                              dtypes: dtypes, signature: signature, lower: lower, typedFunction: typed, userData: field(\.user_data, Optional<UnsafeRawPointer>.self) ?? nil, pack: pack)
            if let clash = pack.claims.first(where: { $0.primitive == primitive && rangesOverlap($0, claim) }) {
                throw fail("claims '\(primitive)' twice for overlapping opsets (\(clash.opsetRange) and \(claim.opsetRange))")
            }
            pack.claims.append(claim)
        }
        try readOptions(raw, size: size, minor: minor, into: pack)
        return pack
    }

    static func rangesOverlap(_ a: Claim, _ b: Claim) -> Bool {
        let aHi = a.maxOpset ?? Int.max, bHi = b.maxOpset ?? Int.max
        return a.minOpset <= bHi && b.minOpset <= aHi
    }

    static func validText(_ p: UnsafePointer<CChar>) -> String? { String(validatingCString: p) }

    static func absolutePath(_ p: String) -> String {
        if let r = realpath(p, nil) { defer { free(r) }; return String(cString: r) }
        if p.hasPrefix("/") { return p }
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return p }
        return String(cString: buf) + "/" + p
    }

    /// Refuses anything that is not a shared object for this machine before dlopen sees it, so the
    /// message names the real cause instead of a loader error.
    static func checkELF(_ path: String) throws {
        func fail(_ m: String) -> HostError { .pack(path: path, message: m) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &header, 64)
        guard n >= 20, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else {
            throw fail("not an ELF shared library")
        }
        guard header[4] == 2, header[5] == 1 else { throw fail("not a 64-bit little-endian ELF file") }
        let type = UInt16(header[16]) | UInt16(header[17]) << 8
        guard type == 3 else { throw fail("ELF file is not a shared object (type \(type))") }
        let machine = UInt16(header[18]) | UInt16(header[19]) << 8
        guard elfMachine == 0 || machine == elfMachine else {
            throw fail("built for ELF machine \(machine), but this host runs on \(machineName) (\(elfMachine))")
        }
        try checkSegments(fd, header, fail)
    }

    /// dlopen maps each loadable segment; one that reaches past the end of a truncated file faults
    /// with SIGBUS on first touch. Every program header and segment must lie inside the file.
    static func checkSegments(_ fd: Int32, _ header: [UInt8], _ fail: (String) -> HostError) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("cannot stat: \(String(cString: strerror(errno)))") }
        let size = UInt64(st.st_size)
        guard header.count >= 64, size >= 64 else { throw fail("truncated ELF header") }
        func u16(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(b[at]) | UInt64(b[at + 1]) << 8 }
        func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
        let phoff = u64(header, 32), phentsize = u16(header, 54), phnum = u16(header, 56)
        guard phentsize >= 56, phnum > 0, phnum <= 4096, phoff <= size, phentsize * phnum <= size - phoff else {
            throw fail("truncated or corrupt ELF file: its program headers lie outside the \(size)-byte file")
        }
        var table = [UInt8](repeating: 0, count: Int(phentsize * phnum))
        guard pread(fd, &table, table.count, off_t(phoff)) == table.count else { throw fail("cannot read the ELF program headers") }
        for k in 0..<Int(phnum) {
            let base = k * Int(phentsize)
            let type = u16(table, base) | u16(table, base + 2) << 16
            guard type == 1 else { continue }  // PT_LOAD
            let offset = u64(table, base + 8), filesz = u64(table, base + 32)
            guard offset <= size, filesz <= size - offset else {
                throw fail("truncated ELF file: segment \(k) needs bytes up to \(offset &+ filesz), the file has \(size)")
            }
        }
    }
}
