import CXRSupport

/// One tensor entry of a safetensors header, validated.
package struct SafeTensorInfo: Equatable, Sendable {
    package let name: String
    package let dtype: SafeTensorsDType
    package let shape: [Int]
    /// Product of `shape` (1 for a scalar).
    package let elementCount: Int
    /// Byte range inside the data section (which starts after the 8-byte length and the header).
    package let dataRange: Range<Int>
}

/// The parsed and validated structure of a safetensors file: metadata, tensor entries and where the data
/// section starts. It does not hold the bytes; pass the same buffer to `floats(of:in:)`.
///
/// Validation (docs/WEIGHTS.md): header length >= 2, <= 100 MB and inside the file; the header is a JSON
/// object; `__metadata__` maps strings to strings; every tensor has a known dtype, a shape of non-negative
/// integers and `data_offsets` [begin, end] with begin <= end <= data size; end - begin = element count x
/// dtype size (checked arithmetic); tensors cover the data section contiguously without overlap.
package struct SafeTensorsLayout: Sendable {
    /// The largest header accepted, as in the reference implementation (100 MB).
    package static let maximumHeaderSize = 100_000_000

    /// `__metadata__` entries in header order.
    package var metadata: [(key: String, value: String)]
    /// Tensor entries in header order.
    package var tensors: [SafeTensorInfo]
    /// Offset of the data section from the start of the file.
    package var dataOffset: Int
    /// Length of the data section in bytes.
    package var dataSize: Int

    /// The entry named `name`, if any.
    package func tensor(named name: String) -> SafeTensorInfo? { tensors.first { $0.name == name } }

    /// The `__metadata__` value for `key`, if any.
    package func metadataValue(_ key: String) -> String? { metadata.first { $0.key == key }?.value }

    /// Validates the 8-byte header length at the start of a file of `fileSize` bytes, given at least the
    /// first `min(8, fileSize)` bytes of it in `prefix`, and returns where the header ends.
    package static func headerEnd(prefix file: UnsafeRawBufferPointer, fileSize: Int) throws -> Int {
        if fileSize == 0 { throw CXRError.invalidModel("file is empty (0 bytes); not a safetensors file") }
        guard fileSize >= 8 else {
            throw CXRError.invalidModel(
                "file is \(fileSize) bytes, too short for the 8-byte safetensors header length")
        }
        var headerLength: UInt64 = 0
        for index in (0..<8).reversed() { headerLength = headerLength << 8 | UInt64(file[index]) }
        guard headerLength >= 2 else {
            throw CXRError.invalidModel("safetensors header length \(headerLength) is less than 2")
        }
        guard headerLength <= UInt64(maximumHeaderSize) else {
            throw CXRError.invalidModel(
                "safetensors header length \(headerLength) exceeds the limit of \(maximumHeaderSize) bytes")
        }
        let available = fileSize - 8
        guard headerLength <= UInt64(available) else {
            throw CXRError.invalidModel(
                "safetensors header length \(headerLength) extends past the end of the file "
                    + "(\(available) bytes follow the 8-byte length)")
        }
        return 8 + Int(headerLength)
    }

    /// Parses and validates the header of the safetensors file in `file`.
    package static func parse(_ file: UnsafeRawBufferPointer) throws -> SafeTensorsLayout {
        try parse(header: file, fileSize: file.count)
    }

    /// Parses and validates the header of a safetensors file of `fileSize` bytes, given its first bytes in
    /// `header`: at least up to the end of the header (`headerEnd`), which must be validated first when
    /// `header` holds less than the whole file.
    package static func parse(header file: UnsafeRawBufferPointer, fileSize: Int) throws -> SafeTensorsLayout {
        let headerEnd = try headerEnd(prefix: file, fileSize: fileSize)
        precondition(file.count >= headerEnd, "safetensors header given in \(file.count) of \(headerEnd) bytes")
        let header: JSONValue
        do throws(JSONParseError) {
            header = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: file[8..<headerEnd]))
        } catch {
            throw CXRError.invalidModel("safetensors header is not valid JSON: \(error.message) "
                + "at header byte \(error.offset) (file offset \(error.offset + 8))")
        }
        guard case .object(let entries) = header else {
            throw CXRError.invalidModel("safetensors header is a JSON \(header.typeName), expected an object")
        }

        let dataSize = fileSize - headerEnd
        var metadata: [(key: String, value: String)] = []
        var tensors: [SafeTensorInfo] = []
        for (name, entry) in entries.members {
            if name == "__metadata__" {
                metadata = try parseMetadata(entry)
            } else {
                tensors.append(try parseTensor(name: name, entry: entry, dataSize: dataSize))
            }
        }
        try checkCoverage(tensors, dataSize: dataSize)
        return SafeTensorsLayout(metadata: metadata, tensors: tensors, dataOffset: headerEnd, dataSize: dataSize)
    }

    private static func parseMetadata(_ value: JSONValue) throws -> [(key: String, value: String)] {
        guard case .object(let object) = value else {
            throw CXRError.invalidModel("__metadata__ is a JSON \(value.typeName), expected an object of strings")
        }
        return try object.members.map { member in
            guard case .string(let text) = member.value else {
                throw CXRError.invalidModel("__metadata__ key \"\(member.key)\" has a JSON \(member.value.typeName) "
                    + "value; metadata values must be strings")
            }
            return (key: member.key, value: text)
        }
    }

    private static func parseTensor(name: String, entry: JSONValue, dataSize: Int) throws -> SafeTensorInfo {
        guard case .object(let fields) = entry else {
            throw CXRError.invalidModel("tensor \(name): header entry is a JSON \(entry.typeName), expected an object")
        }
        for key in fields.keys where !["dtype", "shape", "data_offsets"].contains(key) {
            throw CXRError.invalidModel("tensor \(name): unexpected header field \"\(key)\"")
        }
        guard let dtypeValue = fields["dtype"] else { throw CXRError.invalidModel("tensor \(name): missing \"dtype\"") }
        guard case .string(let dtypeName) = dtypeValue else {
            throw CXRError.invalidModel("tensor \(name): dtype is a JSON \(dtypeValue.typeName), expected a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw CXRError.invalidModel("tensor \(name) has unknown dtype \"\(dtypeName)\"")
        }

        guard let shapeValue = fields["shape"] else { throw CXRError.invalidModel("tensor \(name): missing \"shape\"") }
        guard case .array(let dimensions) = shapeValue else {
            throw CXRError.invalidModel("tensor \(name): shape is a JSON \(shapeValue.typeName), expected an array")
        }
        var shape: [Int] = []
        var elementCount = 1
        for dimension in dimensions {
            guard let size = dimension.integerValue, size >= 0 else {
                throw CXRError.invalidModel("tensor \(name): shape \(shapeValue.serialized) must contain "
                    + "non-negative integers")
            }
            shape.append(size)
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw CXRError.invalidModel("tensor \(name): shape \(shapeValue.serialized) has too many elements")
            }
            elementCount = product
        }

        guard let offsetsValue = fields["data_offsets"] else {
            throw CXRError.invalidModel("tensor \(name): missing \"data_offsets\"")
        }
        guard case .array(let offsets) = offsetsValue, offsets.count == 2,
            let begin = offsets[0].integerValue, let end = offsets[1].integerValue, begin >= 0, end >= 0
        else {
            throw CXRError.invalidModel("tensor \(name): data_offsets \(offsetsValue.serialized) must be "
                + "[begin, end] with non-negative integers")
        }
        guard begin <= end else {
            throw CXRError.invalidModel("tensor \(name) has data_offsets [\(begin), \(end)]: begin is after end")
        }
        guard end <= dataSize else {
            throw CXRError.invalidModel("tensor \(name) has data_offsets [\(begin), \(end)] beyond the data "
                + "section of \(dataSize) bytes")
        }
        let (byteCount, overflow) = elementCount.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, byteCount == end - begin else {
            let needed = overflow ? "more than \(Int.max)" : String(byteCount)
            throw CXRError.invalidModel("tensor \(name) has \(end - begin) bytes of data (data_offsets "
                + "[\(begin), \(end)]) but shape \(describeShape(shape)) x \(dtype.rawValue) needs \(needed) bytes")
        }
        return SafeTensorInfo(name: name, dtype: dtype, shape: shape, elementCount: elementCount,
                              dataRange: begin..<end)
    }

    private static func checkCoverage(_ tensors: [SafeTensorInfo], dataSize: Int) throws {
        let ordered = tensors.sorted {
            ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound)
        }
        var cursor = 0
        var previous: SafeTensorInfo? = nil
        for tensor in ordered {
            let range = tensor.dataRange
            if range.lowerBound < cursor, let previous {
                throw CXRError.invalidModel("tensors \(previous.name) (data_offsets \(describe(previous.dataRange))) "
                    + "and \(tensor.name) (data_offsets \(describe(range))) overlap")
            }
            if range.lowerBound > cursor {
                throw CXRError.invalidModel("gap in the data section: bytes [\(cursor), \(range.lowerBound)) "
                    + "before tensor \(tensor.name) belong to no tensor")
            }
            cursor = range.upperBound
            previous = tensor
        }
        if cursor != dataSize {
            throw CXRError.invalidModel("the data section has \(dataSize) bytes but the tensors cover only "
                + "\(cursor); \(dataSize - cursor) trailing bytes belong to no tensor")
        }
    }

    private static func describe(_ range: Range<Int>) -> String { "[\(range.lowerBound), \(range.upperBound)]" }

    /// The values of `tensor` widened to Float32. `file` is the whole file the layout was parsed from.
    package func floats(of tensor: SafeTensorInfo, in file: UnsafeRawBufferPointer) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: tensor.elementCount) { output, initialized in
            try read(tensor, in: file, into: output)
            initialized = tensor.elementCount
        }
    }

    /// Writes the values of `tensor` widened to Float32 into `output` (exactly `tensor.elementCount` floats).
    /// `file` is the whole file the layout was parsed from.
    package func read(_ tensor: SafeTensorInfo, in file: UnsafeRawBufferPointer,
              into output: UnsafeMutableBufferPointer<Float>) throws {
        try checkReadable(tensor, into: output)
        let start = dataOffset + tensor.dataRange.lowerBound
        let end = dataOffset + tensor.dataRange.upperBound
        guard start >= dataOffset, end <= file.count else {
            throw CXRError.invalidArgument("tensor \(tensor.name) lies outside the given buffer")
        }
        guard tensor.elementCount > 0 else { return }
        TensorDecoding.decode(UnsafeRawBufferPointer(rebasing: file[start..<end]), dtype: tensor.dtype,
                              count: tensor.elementCount, into: output.baseAddress!)
    }

    /// The values of `tensor` widened to Float32, read from `file` (the file the layout was parsed from)
    /// straight into the returned array: F32 with no copy in between, F16 and BF16 through a small buffer.
    package func floats(of tensor: SafeTensorInfo, from file: ReadableFile) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: tensor.elementCount) { output, initialized in
            try read(tensor, from: file, into: output)
            initialized = tensor.elementCount
        }
    }

    /// Reads the values of `tensor` widened to Float32 from `file` (the file the layout was parsed from)
    /// into `output` (exactly `tensor.elementCount` floats): F32 with no copy in between, F16 and BF16
    /// through a 64 KiB buffer.
    package func read(_ tensor: SafeTensorInfo, from file: ReadableFile, into output: UnsafeMutableBufferPointer<Float>) throws {
        try checkReadable(tensor, into: output)
        let start = dataOffset + tensor.dataRange.lowerBound
        guard dataOffset + dataSize == file.size, tensor.dataRange.upperBound <= dataSize else {
            throw CXRError.invalidArgument("tensor \(tensor.name) lies outside the given file")
        }
        let count = tensor.elementCount
        guard count > 0 else { return }
        if tensor.dtype == .f32 {
            try file.read(into: UnsafeMutableRawBufferPointer(output), at: start)
            #if _endian(big)
            for index in 0..<count {
                output[index] = Float(bitPattern: UInt32(littleEndian: output[index].bitPattern))
            }
            #endif
            return
        }
        let chunk = 1 << 15  // elements per read: 64 KiB of 16-bit values
        try withUnsafeTemporaryAllocation(byteCount: chunk * 2, alignment: 16) { buffer in
            var done = 0
            while done < count {
                let part = min(chunk, count - done)
                let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(part * 2)])
                try file.read(into: bytes, at: start + done * 2)
                TensorDecoding.decode(UnsafeRawBufferPointer(bytes), dtype: tensor.dtype, count: part,
                                      into: output.baseAddress! + done)
                done += part
            }
        }
    }

    /// Throws unless `tensor` is a float tensor; `output` must hold exactly its elements (a caller's bug
    /// otherwise, so a precondition).
    private func checkReadable(_ tensor: SafeTensorInfo, into output: UnsafeMutableBufferPointer<Float>) throws {
        guard tensor.dtype.isReadableAsFloat else {
            throw CXRError.invalidModel("tensor \(tensor.name) has dtype \(tensor.dtype.rawValue); only F32, F16 "
                + "and BF16 tensors can be read")
        }
        precondition(output.count == tensor.elementCount,
                     "\(output.count) floats given for tensor \(tensor.name) of \(tensor.elementCount)")
    }
}

/// "[2, 3]" for a shape.
package func describeShape(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
