/// The element types the safetensors format names in a header's `dtype` field.
///
/// All are understood structurally (their sizes let offsets be validated); only `F32`, `F16` and `BF16` can be
/// read as values.
package enum SafeTensorsDType: String, CaseIterable, Sendable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    case bool = "BOOL"
    case f8E4M3 = "F8_E4M3", f8E5M2 = "F8_E5M2"

    /// Bytes per element.
    package var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8E4M3, .f8E5M2: return 1
        }
    }

    /// Whether tensors of this type can be read as Float32 (F32, F16, BF16).
    package var isReadableAsFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// Whether this is an integer type (signed or unsigned).
    package var isInteger: Bool {
        switch self {
        case .i64, .i32, .i16, .i8, .u64, .u32, .u16, .u8: return true
        default: return false
        }
    }
}
