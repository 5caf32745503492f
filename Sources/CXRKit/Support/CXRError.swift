/// The one error type of CXRKit.
///
/// Every failure carries a `kind` (which the C layer maps to a `cxr_status`) and a message that names the
/// offending value, e.g. `image row_bytes 100 is less than width 256 x 1 byte`.
public struct CXRError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Equatable, Sendable {
        /// A caller-supplied argument is out of range or inconsistent (sizes, parameters, indices).
        case invalidArgument
        /// A file could not be opened or read.
        case io
        /// The weights file is malformed, inconsistent or not a cxrcaption model.
        case invalidModel
        /// The pixel buffer or its description is not acceptable.
        case invalidImage
        /// The caller's abort callback asked to stop.
        case aborted
        /// Memory for the request could not be obtained (size limits exceeded).
        case outOfMemory
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func invalidArgument(_ message: String) -> CXRError { CXRError(.invalidArgument, message) }
    static func invalidModel(_ message: String) -> CXRError { CXRError(.invalidModel, message) }
    static func invalidImage(_ message: String) -> CXRError { CXRError(.invalidImage, message) }
    static func io(_ message: String) -> CXRError { CXRError(.io, message) }
    static let aborted = CXRError(.aborted, "aborted by the caller's abort callback")
}
