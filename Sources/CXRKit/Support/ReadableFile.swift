#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file opened for reading piece by piece (`pread`), with errors that name the path and the
/// reason. A model load reads each tensor straight into the array that keeps it, instead of first copying
/// the whole file into a buffer of its own (which cost as much again in page faults, a copy and an unmap
/// as the arrays themselves); `FileReader` reads whole files through it.
///
/// Opening checks that the path names a regular file (a FIFO or a device is rejected without blocking or
/// reading from it) of at most `maximumSize` bytes. A read that comes up short (the file shrank while
/// being read) throws instead of returning partial data. Immutable, and `pread` keeps no file position, so
/// several threads may read one file at once.
package final class ReadableFile: Sendable {
    package let path: String
    /// Size in bytes when opened.
    package let size: Int
    private let descriptor: Int32

    package init(path: String, maximumSize: Int) throws {
        if path.isEmpty { throw CXRError.io("cannot open file: the path is empty") }
        // O_NONBLOCK: opening a FIFO without a writer would otherwise block before fstat can reject it.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if descriptor < 0 {
            throw CXRError.io("cannot open \(Self.quoted(path)): \(Self.describeErrno(errno))")
        }
        var status = stat()
        if fstat(descriptor, &status) != 0 {
            let reason = Self.describeErrno(errno)
            close(descriptor)
            throw CXRError.io("cannot inspect \(Self.quoted(path)): \(reason)")
        }
        let fileType = status.st_mode & S_IFMT
        let size = Int(status.st_size)
        let problem: String?
        if fileType == S_IFDIR {
            problem = "\(Self.quoted(path)) is a directory, not a file"
        } else if fileType != S_IFREG {
            problem = "\(Self.quoted(path)) is not a regular file"
        } else if size > maximumSize {
            problem = "\(Self.quoted(path)) is \(size) bytes, more than the limit of \(maximumSize) bytes"
        } else {
            problem = nil
        }
        if let problem {
            close(descriptor)
            throw CXRError.io(problem)
        }
        self.path = path
        self.size = size
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Fills `buffer` with the bytes at `offset..<offset + buffer.count`, which must lie within `size`.
    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        precondition(offset >= 0 && buffer.count <= size && offset <= size - buffer.count,
                     "read of \(buffer.count) bytes at \(offset) in a file of \(size)")
        var filled = 0
        while filled < buffer.count {
            let count = pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled))
            if count < 0 {
                if errno == EINTR { continue }
                throw CXRError.io("cannot read \(Self.quoted(path)): \(Self.describeErrno(errno))")
            }
            if count == 0 {
                throw CXRError.io("\(Self.quoted(path)) ended after \(offset + filled) of \(size) bytes "
                                  + "(changed while reading?)")
            }
            filled += count
        }
    }

    /// The bytes at `offset..<offset + count`.
    package func bytes(at offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        return bytes
    }

    package static func quoted(_ path: String) -> String { "'\(path)'" }

    /// Plain wording for the common errno values.
    package static func describeErrno(_ code: Int32) -> String {
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
