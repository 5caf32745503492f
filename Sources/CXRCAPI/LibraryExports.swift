import CCXRCAPI
import CXRSupport
import Glibc

// Library-wide entry points: ABI and library versions, status names, the last error.

@_cdecl("cxr_abi_version")
public func exportedABIVersion() -> UInt32 {
    UInt32(CXR_ABI_VERSION)
}

@_cdecl("cxr_version")
public func exportedVersion() -> UnsafePointer<CChar> {
    UnsafeRawPointer(CXRVersion.text.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("cxr_status_string")
public func exportedStatusString(_ status: cxr_status) -> UnsafePointer<CChar> {
    let name: StaticString
    switch status {
    case CXR_OK: name = "ok"
    case CXR_E_INVALID_ARGUMENT: name = "invalid argument"
    case CXR_E_IO: name = "input/output error"
    case CXR_E_INVALID_MODEL: name = "invalid model"
    case CXR_E_INVALID_IMAGE: name = "invalid image"
    case CXR_E_UNSUPPORTED_STRUCT_SIZE: name = "unsupported struct size"
    case CXR_E_ABORTED: name = "aborted"
    case CXR_E_OUT_OF_RANGE: name = "out of range"
    case CXR_E_OUT_OF_MEMORY: name = "out of memory"
    case CXR_E_INTERNAL: name = "internal error"
    default: name = "unknown status"
    }
    return UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("cxr_last_error")
public func exportedLastError() -> UnsafePointer<CChar> {
    LastError.current
}
