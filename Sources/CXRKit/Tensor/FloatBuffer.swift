import CXRSupport

import Glibc

/// A fixed-size block of Float32 memory, zero-initialized, 64-byte aligned, owned by one object and freed
/// when that object goes away. Workspaces hold these so that no forward pass allocates.
package final class FloatBuffer {
    /// Number of floats the buffer holds.
    package let count: Int
    /// Start of the memory; valid for `count` floats while the buffer is alive.
    package let pointer: UnsafeMutablePointer<Float>

    /// The largest buffer allocated, in bytes (64 GiB: far above any workspace a config may ask for). A larger
    /// request is refused before it reaches the allocator, which may abort on absurd sizes (AddressSanitizer
    /// does, above 1 TiB) instead of failing.
    package static let maximumBytes = 1 << 36

    /// Allocates `count` zeroed floats (zero gives an empty buffer). Throws `outOfMemory` when the memory
    /// cannot be had or exceeds `maximumBytes`, instead of trapping as Swift's own allocation would.
    package init(count: Int) throws {
        guard count >= 0 else { throw CXRError.invalidArgument("scratch buffer of \(count) floats") }
        let capacity = max(count, 1)
        let (byteCount, overflow) = capacity.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow, byteCount <= Self.maximumBytes else {
            throw CXRError(.outOfMemory, "scratch buffer of \(capacity) floats exceeds the limit of "
                           + "\(Self.maximumBytes >> 30) GiB")
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, byteCount) == 0, let raw else {
            throw CXRError(.outOfMemory, "could not allocate \(capacity) floats of scratch memory")
        }
        self.count = count
        pointer = raw.initializeMemory(as: Float.self, repeating: 0, count: capacity)
    }

    deinit {
        free(pointer)
    }
}
