import CFFI
import J2OPluginABI

/// Calls a claim's lowering: the plain `lower(ctx, api, user_data)` entry, or a typed C lowering
/// (J2O_TYPED_LOWERING) through libffi. A typed call happens only after its signature has been
/// checked against the equation, so the C function always receives the arguments it declares.
extension Claim {
    func invoke(_ ctx: LoweringContext) -> j2o_status {
        let handle = OpaquePointer(Unmanaged.passUnretained(ctx).toOpaque())
        guard let typed = typedFunction, let signature else {
            return lower!(handle, HostAPI.table, userData)
        }
        if let problem = signature.mismatch(ctx.equation) {
            ctx.misuse("its typed signature \(signature) for '\(primitive)' does not match the equation: \(problem)")
            return J2O_ERROR
        }
        guard let v = TypedCall.call(typed, signature, ctx, handle) else { return J2O_ERROR }
        if v == 0 {
            if let status = ctx.reported { return status }
            ctx.misuse("its typed lowering of '\(primitive)' returned no value without calling decline or error")
            return J2O_ERROR
        }
        return ctx.bind(0, ValueID(v))
    }
}

enum TypedCall {
    /// Calls `fn(ctx, api, args...)` with the arguments the signature names; nil when libffi
    /// cannot prepare the call (recorded as misuse).
    static func call(_ fn: j2o_typed_fn, _ sig: TypedSignature, _ ctx: LoweringContext, _ handle: OpaquePointer) -> j2o_value? {
        var types: [UnsafeMutablePointer<ffi_type>?] = [j2o_ffi_type(Int32(J2O_FFI_POINTER)), j2o_ffi_type(Int32(J2O_FFI_POINTER))]
        // Every argument gets an 8-byte slot, and libffi reads each through a pointer to its slot.
        let slotCount = 2 + sig.entries.count * 2
        let slots = UnsafeMutableRawPointer.allocate(byteCount: slotCount * 8, alignment: 16)
        var lists: [UnsafeMutablePointer<Int64>] = []
        defer {
            slots.deallocate()
            for l in lists { l.deallocate() }
        }
        var count = 0
        func put<T>(_ value: T, _ type: Int32) {
            (slots + count * 8).storeBytes(of: value, as: T.self)
            if count >= 2 { types.append(j2o_ffi_type(type)) }
            count += 1
        }
        put(handle, Int32(J2O_FFI_POINTER))
        put(HostAPI.table, Int32(J2O_FFI_POINTER))
        var operand = 0
        for e in sig.entries {
            if e.kind == .value {
                put(UInt32(ctx.input(operand)), Int32(J2O_FFI_UINT32))
                operand += 1
                continue
            }
            let p = ctx.equation.params.field(e.name)!
            switch e.kind {
            case .value: break
            case .int: put(p.int, Int32(J2O_FFI_SINT64))
            case .float: put(p.kind == J2O_PARAM_INT ? Double(p.int) : p.double, Int32(J2O_FFI_DOUBLE))
            case .bool: put(Int32(p.int != 0 ? 1 : 0), Int32(J2O_FFI_SINT32))
            case .string: put(UnsafePointer<CChar>(p.text?.pointer), Int32(J2O_FFI_POINTER))
            case .dtype: put(p.dtype.rawValue, Int32(J2O_FFI_SINT32))
            case .ints:
                let list = UnsafeMutablePointer<Int64>.allocate(capacity: max(1, p.items.count))
                for (k, item) in p.items.enumerated() { list[k] = item.int }
                lists.append(list)
                put(UnsafePointer(list), Int32(J2O_FFI_POINTER))
                put(Int32(p.items.count), Int32(J2O_FFI_SINT32))
            case .param: put(p.opaquePointer, Int32(J2O_FFI_POINTER))
            }
        }
        if ctx.misuse != nil { return nil }
        var values = (0..<count).map { Optional(slots + $0 * 8) }
        var cif = ffi_cif()
        // Integer results come back widened to ffi_arg.
        var result: UInt64 = 0
        let ok = types.withUnsafeMutableBufferPointer { t in
            j2o_ffi_prep(&cif, UInt32(count), j2o_ffi_type(Int32(J2O_FFI_UINT32)), t.baseAddress) != 0
        }
        guard ok else { ctx.misuse("libffi cannot prepare a call with signature \(sig)"); return nil }
        values.withUnsafeMutableBufferPointer { v in
            ffi_call(&cif, fn, &result, v.baseAddress)
        }
        return j2o_value(truncatingIfNeeded: result)
    }
}
