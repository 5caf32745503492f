/// A fixed-size block of Float32 memory, zero-initialized, 64-byte aligned, owned by one object and freed
/// when that object goes away. Workspaces hold these so that no forward pass allocates.
final class FloatBuffer {
    /// Number of floats the buffer holds.
    let count: Int
    /// Start of the memory; valid for `count` floats while the buffer is alive.
    let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` zeroed floats (`count` must not be negative; zero gives an empty buffer).
    init(count: Int) {
        precondition(count >= 0, "FloatBuffer count \(count) is negative")
        self.count = count
        let capacity = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.initializeMemory(as: Float.self, repeating: 0, count: capacity)
    }

    deinit {
        pointer.deallocate()
    }
}
