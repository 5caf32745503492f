import CCXRCAPI
import CXRSupport

/// A failure detected by the C layer itself (before calling CXRKit): a status and a message naming the value.
struct CAPIFailure: Error {
    let status: cxr_status
    let message: String

    init(_ status: cxr_status, _ message: String) {
        self.status = status
        self.message = message
    }

    static func invalidArgument(_ message: String) -> CAPIFailure { CAPIFailure(CXR_E_INVALID_ARGUMENT, message) }
    static func invalidImage(_ message: String) -> CAPIFailure { CAPIFailure(CXR_E_INVALID_IMAGE, message) }
    static func outOfRange(_ message: String) -> CAPIFailure { CAPIFailure(CXR_E_OUT_OF_RANGE, message) }
    static func internalError(_ message: String) -> CAPIFailure { CAPIFailure(CXR_E_INTERNAL, message) }
}

extension CXRError.Kind {
    /// The C status of this kind of failure.
    var status: cxr_status {
        switch self {
        case .invalidArgument: return CXR_E_INVALID_ARGUMENT
        case .io: return CXR_E_IO
        case .invalidModel: return CXR_E_INVALID_MODEL
        case .invalidImage: return CXR_E_INVALID_IMAGE
        case .aborted: return CXR_E_ABORTED
        case .outOfMemory: return CXR_E_OUT_OF_MEMORY
        }
    }
}

/// Runs the body of an exported function: success is `CXR_OK`; any thrown error becomes its status, and its
/// message becomes the calling thread's last error.
@inline(__always)
func reportingStatus(_ body: () throws -> Void) -> cxr_status {
    do {
        try body()
        return CXR_OK
    } catch let failure as CAPIFailure {
        LastError.set(failure.message)
        return failure.status
    } catch let error as CXRError {
        LastError.set(error.renamingArguments { ArgumentNames.cName[$0] }.message)
        return error.kind.status
    } catch {
        LastError.set("internal error: \(error)")
        return CXR_E_INTERNAL
    }
}

/// Throws `invalidArgument` naming `name` when `pointer` is NULL, else returns it.
@inline(__always)
func required<P>(_ pointer: P?, _ name: StaticString) throws -> P {
    guard let pointer else { throw CAPIFailure.invalidArgument("\(name) is NULL") }
    return pointer
}
