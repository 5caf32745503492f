#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole files into memory through libc, with errors that name the path and the reason.
package enum FileReader {
    /// The largest file `readAll` and `withContents` accept by default (4 GiB).
    package static let defaultMaximumSize = 4 << 30
    /// The largest file read into memory whatever `maximumSize` says (64 GiB): a larger buffer is refused
    /// before it reaches the allocator, which may abort on absurd sizes (AddressSanitizer does above 1 TiB).
    package static let largestBuffer = 1 << 36

    /// The contents of the regular file at `path`.
    ///
    /// Throws `CXRError(.io)` when the file is missing, a directory or otherwise not a regular file (a FIFO or
    /// a device is rejected without blocking or reading from it), unreadable, larger than `maximumSize`, or
    /// changes size while being read, and `CXRError(.outOfMemory)` when its buffer cannot be allocated.
    package static func readAll(path: String, maximumSize: Int = defaultMaximumSize) throws -> [UInt8] {
        try withContents(path: path, maximumSize: maximumSize) { [UInt8]($0) }
    }

    /// Calls `body` with the contents of the regular file at `path`, held in a buffer that is freed when
    /// `body` returns (errors as for `readAll`).
    package static func withContents<Result>(
        path: String, maximumSize: Int = defaultMaximumSize, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result {
        let file = try ReadableFile(path: path, maximumSize: maximumSize)
        guard file.size <= largestBuffer else {
            throw CXRError(.outOfMemory, "cannot read \(ReadableFile.quoted(path)) into memory: its \(file.size) "
                           + "bytes exceed the limit of \(largestBuffer >> 30) GiB")
        }
        // malloc rather than [UInt8]: a failed Swift array allocation traps, a failed malloc can be reported.
        guard let memory = malloc(max(file.size, 1)) else {
            throw CXRError(.outOfMemory, "cannot allocate \(file.size) bytes to read \(ReadableFile.quoted(path))")
        }
        defer { free(memory) }
        let buffer = UnsafeMutableRawBufferPointer(start: memory, count: file.size)
        try file.read(into: buffer, at: 0)
        return try body(UnsafeRawBufferPointer(buffer))
    }
}

/// Writes whole files through libc.
package enum FileWriter {
    /// Creates or truncates the file at `path` and writes `bytes` to it.
    package static func writeAll(path: String, bytes: [UInt8]) throws {
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
