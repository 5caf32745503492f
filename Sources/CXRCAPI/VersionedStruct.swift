import CCXRCAPI

/// The `struct_size` rule of the header: fields are only appended, in whole 8-byte units, so every multiple
/// of 8 from 8 up to the library's own `MemoryLayout<T>.size` is the size of some release's struct (its
/// missing fields take the defaults); any other size is unknown.
enum VersionedStruct {
    static let unit = 8

    /// Throws `CXR_E_UNSUPPORTED_STRUCT_SIZE` unless `size` is a known size of `T`, named `name` in the message.
    static func check<T>(_ size: UInt32, of type: T.Type, _ name: StaticString) throws {
        let largest = MemoryLayout<T>.size
        guard size >= unit, Int(size) <= largest, Int(size) % unit == 0 else {
            throw CAPIFailure(CXR_E_UNSUPPORTED_STRUCT_SIZE,
                              "\(name) struct_size \(size) is not a size this library knows "
                                  + "(a multiple of \(unit) from \(unit) to \(largest); use the *_init function)")
        }
    }

    /// The caller's struct read over `defaults`: the first `struct_size` bytes come from the caller.
    static func read<T>(_ pointer: UnsafePointer<T>, defaults: T, _ name: StaticString) throws -> T {
        let size = UnsafeRawPointer(pointer).load(as: UInt32.self)
        try check(size, of: T.self, name)
        var value = defaults
        withUnsafeMutableBytes(of: &value) { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: Int(size)))
        }
        return value
    }

    /// Writes the first `size` bytes of `value` to the caller's struct (after checking `size`); the first field
    /// of every versioned struct, `struct_size`, is set to `size`.
    static func write<T>(_ value: T, to pointer: UnsafeMutablePointer<T>, size: UInt32, _ name: StaticString) throws {
        try check(size, of: T.self, name)
        var value = value
        withUnsafeMutableBytes(of: &value) { source in
            source.storeBytes(of: size, toByteOffset: 0, as: UInt32.self)
            UnsafeMutableRawPointer(pointer).copyMemory(from: source.baseAddress!, byteCount: Int(size))
        }
    }
}
