import CXRSupport

/// Builds safetensors files from Float32 values, stored as F32, F16 or BF16 (rounded to nearest even).
///
/// Used by tests that need hand-made files and by tools that dump tensors for parity checks. Tensors are
/// written in the order added, contiguously; the header is padded with spaces to a multiple of 8 bytes.
package struct SafeTensorsWriter: Sendable {
    private struct Entry: Sendable {
        package var name: String
        package var dtype: SafeTensorsDType
        package var shape: [Int]
        package var data: [UInt8]
    }

    private var entries: [Entry] = []
    /// `__metadata__` entries, written in this order (omitted when empty).
    package var metadata: [(key: String, value: String)] = []

    package init() {}

    /// Adds a tensor. `values.count` must equal the product of `shape`; `dtype` must be F32, F16 or BF16.
    package mutating func add(_ name: String, shape: [Int], values: [Float], dtype: SafeTensorsDType = .f32) throws {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { throw CXRError.invalidArgument("tensor \(name): negative dimension \(dimension)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw CXRError.invalidArgument("tensor \(name): shape overflows") }
            count = product
        }
        guard count == values.count else {
            throw CXRError.invalidArgument("tensor \(name): shape \(describeShape(shape)) has \(count) elements "
                + "but \(values.count) values were given")
        }
        guard !entries.contains(where: { $0.name == name }), name != "__metadata__" else {
            throw CXRError.invalidArgument("tensor name \(name) is already used or reserved")
        }
        var data: [UInt8] = []
        data.reserveCapacity(count * dtype.byteSize)
        switch dtype {
        case .f32:
            for value in values { appendLittleEndian(value.bitPattern, to: &data) }
        case .f16:
            for value in values { appendLittleEndian(HalfPrecision.f16Bits(from: value), to: &data) }
        case .bf16:
            for value in values { appendLittleEndian(HalfPrecision.bf16Bits(from: value), to: &data) }
        default:
            throw CXRError.invalidArgument("tensor \(name): the writer stores F32, F16 or BF16, not \(dtype.rawValue)")
        }
        entries.append(Entry(name: name, dtype: dtype, shape: shape, data: data))
    }

    /// Adds a tensor of any dtype from its raw little-endian bytes (tests use it for integer tensors).
    package mutating func addRaw(_ name: String, dtype: SafeTensorsDType, shape: [Int], data: [UInt8]) {
        entries.append(Entry(name: name, dtype: dtype, shape: shape, data: data))
    }

    private func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to data: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    /// The header JSON (unpadded).
    package func headerJSON() -> String {
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            members.append((key: "__metadata__",
                            value: .object(JSONObject(metadata.map { (key: $0.key, value: .string($0.value)) }))))
        }
        var offset = 0
        for entry in entries {
            let end = offset + entry.data.count
            members.append((key: entry.name, value: .object(JSONObject([
                (key: "dtype", value: .string(entry.dtype.rawValue)),
                (key: "shape", value: .array(entry.shape.map { JSONValue.integer($0) })),
                (key: "data_offsets", value: .array([.integer(offset), .integer(end)])),
            ]))))
            offset = end
        }
        return JSONValue.object(JSONObject(members)).serialized
    }

    /// The complete file.
    package func serialized() -> [UInt8] {
        var header = Array(headerJSON().utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + entries.reduce(0) { $0 + $1.data.count })
        appendLittleEndian(UInt64(header.count), to: &bytes)
        bytes += header
        for entry in entries { bytes += entry.data }
        return bytes
    }

    /// Writes the file to `path` (created or truncated).
    package func write(toFile path: String) throws {
        try FileWriter.writeAll(path: path, bytes: serialized())
    }
}
