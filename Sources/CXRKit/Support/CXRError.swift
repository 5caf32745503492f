/// The one error type of the core.
///
/// Every failure carries a `kind` (which the C layer maps to a `cxr_status`) and a message that names the
/// offending value, e.g. `image rowBytes 100 is less than width 256 x 1 byte`. When the message is about
/// arguments of a call, `arguments` says which, spelled as the Swift API spells them (`rowBytes`,
/// `beamWidth`): the message contains each name as a word, so a binding with other names (the C API's
/// `row_bytes`) can write its own (`renamingArguments`).
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
    /// The arguments the message names (Swift spelling), in the order it names them.
    public let arguments: [String]

    public init(_ kind: Kind, _ message: String, arguments: [String] = []) {
        self.kind = kind
        self.message = message
        self.arguments = arguments
    }

    public var description: String { message }

    /// Errors are equal when their kind and message are (`arguments` only says where the names are).
    public static func == (lhs: CXRError, rhs: CXRError) -> Bool {
        lhs.kind == rhs.kind && lhs.message == rhs.message
    }

    /// This error with each argument's name in the message replaced by `rename(argument)` where that gives
    /// a name (its first whole-word occurrence).
    package func renamingArguments(_ rename: (String) -> String?) -> CXRError {
        var text = message
        var renamed: [String] = []
        for argument in arguments {
            guard let replacement = rename(argument), let range = Self.wordRange(of: argument, in: text) else {
                renamed.append(argument)
                continue
            }
            text.replaceSubrange(range, with: replacement)
            renamed.append(replacement)
        }
        return CXRError(kind, text, arguments: renamed)
    }

    /// The first occurrence of `word` in `text` that is not part of a longer identifier.
    private static func wordRange(of word: String, in text: String) -> Range<String.Index>? {
        func isIdentifier(_ character: Character) -> Bool { character.isLetter || character.isNumber || character == "_" }
        var start = text.startIndex
        while start < text.endIndex {
            if text[start...].hasPrefix(word) {
                let end = text.index(start, offsetBy: word.count)
                let clearBefore = start == text.startIndex || !isIdentifier(text[text.index(before: start)])
                let clearAfter = end == text.endIndex || !isIdentifier(text[end])
                if clearBefore && clearAfter { return start..<end }
            }
            start = text.index(after: start)
        }
        return nil
    }

    package static func invalidArgument(_ message: String, argument: String? = nil) -> CXRError {
        CXRError(.invalidArgument, message, arguments: argument.map { [$0] } ?? [])
    }
    package static func invalidModel(_ message: String) -> CXRError { CXRError(.invalidModel, message) }
    package static func invalidImage(_ message: String, arguments: String...) -> CXRError {
        CXRError(.invalidImage, message, arguments: arguments)
    }
    package static func io(_ message: String) -> CXRError { CXRError(.io, message) }
    package static let aborted = CXRError(.aborted, "aborted by the caller's abort callback")
}
