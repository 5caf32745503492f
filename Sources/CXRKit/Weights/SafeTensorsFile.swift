import CXRSupport

/// A validated safetensors file held in memory, whose tensors can be read by name as Float32.
///
/// The whole-file reader for any tensor names and dtypes (the golden fixtures' cases, integer tensors);
/// models are read tensor by tensor through `SafeTensorsReader`, on the same header validation.
package struct SafeTensorsFile: Sendable {
    private let bytes: [UInt8]
    private let layout: SafeTensorsLayout
    private let index: [String: Int]

    /// Parses and validates `bytes` (a copy is kept).
    package init(bytes: [UInt8]) throws {
        self.layout = try bytes.withUnsafeBytes { try SafeTensorsLayout.parse($0) }
        self.bytes = bytes
        var index: [String: Int] = [:]
        for (position, tensor) in layout.tensors.enumerated() { index[tensor.name] = position }
        self.index = index
    }

    /// Reads and validates the file at `path`.
    package init(contentsOfFile path: String) throws {
        try self.init(bytes: try FileReader.readAll(path: path))
    }

    /// Tensor entries in header order.
    package var tensors: [SafeTensorInfo] { layout.tensors }

    /// `__metadata__` entries in header order.
    package var metadata: [(key: String, value: String)] { layout.metadata }

    /// The `__metadata__` value for `key`, if any.
    package func metadataValue(_ key: String) -> String? { layout.metadataValue(key) }

    /// The entry named `name`, if any.
    package func tensor(named name: String) -> SafeTensorInfo? { index[name].map { layout.tensors[$0] } }

    /// The values of the tensor named `name`, widened to Float32, with its shape.
    /// Throws `CXRError(.invalidArgument)` when there is no such tensor and `CXRError(.invalidModel)` when its
    /// dtype is not F32, F16 or BF16.
    package func floats(named name: String) throws -> (shape: [Int], values: [Float]) {
        guard let tensor = tensor(named: name) else {
            throw CXRError.invalidArgument("no tensor named \(name) in the file")
        }
        let values = try bytes.withUnsafeBytes { try layout.floats(of: tensor, in: $0) }
        return (tensor.shape, values)
    }

    /// The values of the integer (or BOOL) tensor named `name`, with its shape. Throws
    /// `CXRError(.invalidArgument)` when there is no such tensor and `CXRError(.invalidModel)` when it is a
    /// float tensor or holds a U64 value above `Int.max`.
    package func integers(named name: String) throws -> (shape: [Int], values: [Int]) {
        guard let tensor = tensor(named: name) else {
            throw CXRError.invalidArgument("no tensor named \(name) in the file")
        }
        guard tensor.dtype.isInteger || tensor.dtype == .bool else {
            throw CXRError.invalidModel("tensor \(name) has dtype \(tensor.dtype.rawValue), not an integer type")
        }
        let start = layout.dataOffset + tensor.dataRange.lowerBound
        let values = try bytes.withUnsafeBytes { file -> [Int] in
            let data = UnsafeRawBufferPointer(rebasing: file[start..<(layout.dataOffset + tensor.dataRange.upperBound)])
            return try (0..<tensor.elementCount).map { index -> Int in
                let size = tensor.dtype.byteSize
                var raw: UInt64 = 0
                for byte in (0..<size).reversed() { raw = raw << 8 | UInt64(data[index * size + byte]) }
                switch tensor.dtype {
                case .i8: return Int(Int8(truncatingIfNeeded: raw))
                case .i16: return Int(Int16(truncatingIfNeeded: raw))
                case .i32: return Int(Int32(truncatingIfNeeded: raw))
                case .i64: return Int(Int64(bitPattern: raw))
                default:
                    guard raw <= UInt64(Int.max) else {
                        throw CXRError.invalidModel("tensor \(name) element \(index) is \(raw), above Int.max")
                    }
                    return Int(raw)
                }
            }
        }
        return (tensor.shape, values)
    }
}
