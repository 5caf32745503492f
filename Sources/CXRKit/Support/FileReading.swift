#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole files into memory through libc, with errors that name the path and the reason.
enum FileReader {
    /// The largest file `readAll` accepts by default (16 GiB).
    static let defaultMaximumSize = 16 << 30

    /// The contents of the regular file at `path`.
    ///
    /// Throws `CXRError(.io)` when the file is missing, a directory or otherwise not a regular file,
    /// unreadable, larger than `maximumSize`, or changes size while being read.
    static func readAll(path: String, maximumSize: Int = defaultMaximumSize) throws -> [UInt8] {
        if path.isEmpty { throw CXRError.io("cannot open file: the path is empty") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            throw CXRError.io("cannot open \(quoted(path)): \(describeErrno(errno))")
        }
        defer { close(descriptor) }

        var status = stat()
        if fstat(descriptor, &status) != 0 {
            throw CXRError.io("cannot inspect \(quoted(path)): \(describeErrno(errno))")
        }
        let fileType = status.st_mode & S_IFMT
        if fileType == S_IFDIR { throw CXRError.io("\(quoted(path)) is a directory, not a file") }
        if fileType != S_IFREG { throw CXRError.io("\(quoted(path)) is not a regular file") }
        let size = Int(status.st_size)
        if size > maximumSize {
            throw CXRError.io("\(quoted(path)) is \(size) bytes, more than the limit of \(maximumSize) bytes")
        }

        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress! + filled, size - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw CXRError.io("cannot read \(quoted(path)): \(describeErrno(errno))")
            }
            if count == 0 {
                throw CXRError.io("\(quoted(path)) ended after \(filled) of \(size) bytes (changed while reading?)")
            }
            filled += count
        }
        return bytes
    }

    private static func quoted(_ path: String) -> String { "'\(path)'" }

    private static func describeErrno(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file or directory"
        case EACCES: return "permission denied"
        case EISDIR: return "is a directory"
        case ENOTDIR: return "a component of the path is not a directory"
        default:
            if let text = strerror(code) { return String(cString: text) }
            return "error \(code)"
        }
    }
}

/// Writes whole files through libc.
enum FileWriter {
    /// Creates or truncates the file at `path` and writes `bytes` to it.
    static func writeAll(path: String, bytes: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw CXRError.io("cannot create '\(path)': \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw CXRError.io("cannot write '\(path)': \(reason)")
            }
            written += count
        }
        if close(descriptor) != 0 {
            throw CXRError.io("cannot finish writing '\(path)': \(String(cString: strerror(errno)))")
        }
    }
}
