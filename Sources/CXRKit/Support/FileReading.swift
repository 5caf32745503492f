#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole files into memory through libc, with errors that name the path and the reason.
enum FileReader {
    /// The largest file `readAll` and `withContents` accept by default (4 GiB).
    static let defaultMaximumSize = 4 << 30

    /// The contents of the regular file at `path`.
    ///
    /// Throws `CXRError(.io)` when the file is missing, a directory or otherwise not a regular file (a FIFO or
    /// a device is rejected without blocking or reading from it), unreadable, larger than `maximumSize`, or
    /// changes size while being read, and `CXRError(.outOfMemory)` when its buffer cannot be allocated.
    static func readAll(path: String, maximumSize: Int = defaultMaximumSize) throws -> [UInt8] {
        try withContents(path: path, maximumSize: maximumSize) { [UInt8]($0) }
    }

    /// Calls `body` with the contents of the regular file at `path`, held in a buffer that is freed when
    /// `body` returns (errors as for `readAll`).
    ///
    /// When `prefixLength` is positive, `checkPrefix` is first called with the file's first
    /// `min(prefixLength, size)` bytes and its size, before the buffer for the whole file is allocated, so
    /// that a caller can reject a file whose header is wrong without reading all of it.
    static func withContents<Result>(
        path: String, maximumSize: Int = defaultMaximumSize, prefixLength: Int = 0,
        checkPrefix: (_ prefix: UnsafeRawBufferPointer, _ fileSize: Int) throws -> Void = { _, _ in },
        _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result {
        if path.isEmpty { throw CXRError.io("cannot open file: the path is empty") }
        // O_NONBLOCK: opening a FIFO without a writer would otherwise block before fstat can reject it.
        // Regular files ignore the flag.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
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

        if prefixLength > 0 {
            var prefix = [UInt8](repeating: 0, count: min(prefixLength, size))
            try prefix.withUnsafeMutableBytes { try readFully(descriptor, into: $0, path: path, size: size) }
            try prefix.withUnsafeBytes { try checkPrefix($0, size) }
            if lseek(descriptor, 0, SEEK_SET) != 0 {
                throw CXRError.io("cannot rewind \(quoted(path)): \(describeErrno(errno))")
            }
        }

        // malloc rather than [UInt8]: a failed Swift array allocation traps, a failed malloc can be reported.
        guard let memory = malloc(max(size, 1)) else {
            throw CXRError(.outOfMemory, "cannot allocate \(size) bytes to read \(quoted(path))")
        }
        defer { free(memory) }
        let buffer = UnsafeMutableRawBufferPointer(start: memory, count: size)
        try readFully(descriptor, into: buffer, path: path, size: size)
        return try body(UnsafeRawBufferPointer(buffer))
    }

    /// Fills `buffer` from the descriptor's current position; `size` is the file size, for messages.
    private static func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String,
                                  size: Int) throws {
        var filled = 0
        while filled < buffer.count {
            let count = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            if count < 0 {
                if errno == EINTR { continue }
                throw CXRError.io("cannot read \(quoted(path)): \(describeErrno(errno))")
            }
            if count == 0 {
                throw CXRError.io("\(quoted(path)) ended after \(filled) of \(size) bytes (changed while reading?)")
            }
            filled += count
        }
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
