/// Decoding of little-endian tensor bytes into Float32 values.
package enum TensorDecoding {
    /// Decodes `count` elements of `dtype` (F32, F16 or BF16) from `bytes`, which holds exactly
    /// `count x dtype.byteSize` bytes (the caller has validated this).
    package static func floats(_ bytes: UnsafeRawBufferPointer, dtype: SafeTensorsDType, count: Int) -> [Float] {
        precondition(bytes.count == count * dtype.byteSize && dtype.isReadableAsFloat)
        return [Float](unsafeUninitializedCapacity: count) { output, initialized in
            if count > 0 { decode(bytes, dtype: dtype, count: count, into: output.baseAddress!) }
            initialized = count
        }
    }

    /// Decodes `count` elements of `dtype` from `bytes` (exactly `count x dtype.byteSize` bytes, any
    /// alignment) into `output` (`count` floats, not overlapping `bytes`).
    package static func decode(_ bytes: UnsafeRawBufferPointer, dtype: SafeTensorsDType, count: Int,
                       into output: UnsafeMutablePointer<Float>) {
        precondition(bytes.count == count * dtype.byteSize && dtype.isReadableAsFloat)
        guard count > 0 else { return }
        switch dtype {
        case .f32:
            #if _endian(little)
            // The file's byte order is the machine's: one copy (the bytes need not be aligned).
            UnsafeMutableRawPointer(output).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            #else
            for index in 0..<count {
                let bits = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
                output[index] = Float(bitPattern: bits)
            }
            #endif
        case .f16:
            for index in 0..<count {
                let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
                output[index] = HalfPrecision.float(fromF16: bits)
            }
        case .bf16:
            for index in 0..<count {
                let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
                output[index] = HalfPrecision.float(fromBF16: bits)
            }
        default:
            preconditionFailure("not a float dtype")
        }
    }
}
