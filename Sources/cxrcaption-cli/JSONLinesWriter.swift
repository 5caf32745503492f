import Foundation

/// Writes JSON Lines: one compact JSON object per line, each written to the file with one unbuffered write
/// as soon as it is ready, so an interrupted run leaves only complete lines behind.
final class JSONLinesWriter {
    let path: String
    private let handle: FileHandle
    private let encoder: JSONEncoder

    /// Creates (or truncates) the file at `path`.
    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw CaptionRunError("cannot create the JSON Lines file \(path)")
        }
        self.handle = handle
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    deinit { try? handle.close() }

    /// Appends `value` as one line.
    func append<Value: Encodable>(_ value: Value) throws {
        var line = try encoder.encode(value)
        line.append(0x0A)
        try handle.write(contentsOf: line)
    }
}
