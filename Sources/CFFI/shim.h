/* libffi, for calling typed lowerings (Sources/Host/Plugins/TypedCall.swift). The helpers hide
 * what Swift imports awkwardly: the platform's default ABI constant and the addresses of libffi's
 * global type descriptors. */
#include <ffi.h>

enum { J2O_FFI_UINT32, J2O_FFI_SINT32, J2O_FFI_SINT64, J2O_FFI_DOUBLE, J2O_FFI_POINTER };

static inline ffi_type *j2o_ffi_type(int which) {
    switch (which) {
    case J2O_FFI_UINT32: return &ffi_type_uint32;
    case J2O_FFI_SINT32: return &ffi_type_sint32;
    case J2O_FFI_SINT64: return &ffi_type_sint64;
    case J2O_FFI_DOUBLE: return &ffi_type_double;
    default: return &ffi_type_pointer;
    }
}

static inline int j2o_ffi_prep(ffi_cif *cif, unsigned count, ffi_type *result, ffi_type **args) {
    return ffi_prep_cif(cif, FFI_DEFAULT_ABI, count, result, args) == FFI_OK;
}
