#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and writes through the C library (no Foundation).
public enum BinaryFile {
    /// The largest file `read` accepts (2 GiB: a 16384 x 16384 RGBA16 image uncompressed).
    public static let maximumSize = 2 << 30

    /// The bytes of the regular file at `path`. A FIFO, device or directory is rejected without blocking or
    /// reading from it, and so is a file larger than `maximumSize`.
    public static func read(_ path: String) throws -> [UInt8] {
        // O_NONBLOCK: opening a FIFO without a writer would otherwise block before fstat can reject it.
        // Regular files ignore the flag.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if descriptor < 0 { throw PNGError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) != 0 {
            throw PNGError("cannot inspect \(path): \(String(cString: strerror(errno)))")
        }
        let fileType = status.st_mode & S_IFMT
        if fileType == S_IFDIR { throw PNGError("\(path) is a directory, not a file") }
        if fileType != S_IFREG { throw PNGError("\(path) is not a regular file") }
        let size = Int(status.st_size)
        if size > maximumSize {
            throw PNGError("\(path) is \(size) bytes, more than the limit of \(maximumSize) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { readDescriptor(descriptor, $0.baseAddress! + filled, size - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                throw PNGError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { throw PNGError("\(path) ended after \(filled) of \(size) bytes (changed while reading?)") }
            filled += count
        }
        return bytes
    }

    /// Writes `bytes` to `path`, replacing it.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        guard let file = fopen(path, "wb") else {
            throw PNGError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        guard written == bytes.count, closed == 0 else { throw PNGError("cannot write \(path)") }
    }
}

/// libc `read`, which `BinaryFile.read` hides inside the enum.
private func readDescriptor(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
