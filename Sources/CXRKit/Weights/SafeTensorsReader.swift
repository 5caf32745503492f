import CXRSupport

/// Where a reader takes tensor bytes from. Several threads of one load may read it at once; the memory a
/// `.memory` source points to outlives the load (the caller's bytes), so sharing it is safe.
package enum SafeTensorsSource: @unchecked Sendable {
    /// A whole safetensors file in memory.
    case memory(UnsafeRawBufferPointer)
    /// An open file, read tensor by tensor.
    case file(ReadableFile)
}

/// The tensors of one safetensors file, read by name as Float32 (F16 and BF16 widened exactly), each checked
/// to be finite. The header is parsed and checked against the file size before any tensor is read; a
/// tensor is read straight into the array (or buffer) that keeps it, so the file is never held in memory
/// as a whole.
package struct SafeTensorsReader: Sendable {
    /// The largest parameter magnitude a read accepts: far above any trained weight, far below what
    /// overflows Float32 within one layer. A file holding 3e38 is refused here rather than turning into
    /// infinities, and then NaN, in the forward pass.
    package static let largestMagnitude: Float = 1e9

    package let layout: SafeTensorsLayout
    private let source: SafeTensorsSource
    private let index: [String: SafeTensorInfo]

    package init(layout: SafeTensorsLayout, source: SafeTensorsSource) {
        self.layout = layout
        self.source = source
        var index: [String: SafeTensorInfo] = [:]
        for tensor in layout.tensors { index[tensor.name] = tensor }
        self.index = index
    }

    /// Opens the file at `path`: checks its 8-byte header length against the file size, then reads and
    /// parses only the header. Throws `.io` when the file cannot be read (missing, not a regular file, over
    /// `maximumSize`), `.invalidModel` naming the problem when the header is malformed.
    package init(path: String, maximumSize: Int) throws {
        let file = try ReadableFile(path: path, maximumSize: maximumSize)
        let prefix = try file.bytes(at: 0, count: min(8, file.size))
        let headerEnd = try prefix.withUnsafeBytes { try SafeTensorsLayout.headerEnd(prefix: $0, fileSize: file.size) }
        let header = try file.bytes(at: 0, count: headerEnd)
        let layout = try header.withUnsafeBytes { try SafeTensorsLayout.parse(header: $0, fileSize: file.size) }
        self.init(layout: layout, source: .file(file))
    }

    /// Parses the header of a whole file in memory; the bytes must stay valid while the reader is used.
    package init(bytes: UnsafeRawBufferPointer) throws {
        self.init(layout: try SafeTensorsLayout.parse(bytes), source: .memory(bytes))
    }

    /// The tensor called `name`, or nil.
    package func tensor(named name: String) -> SafeTensorInfo? { index[name] }

    /// The tensor called `name`; throws `.invalidModel` when the file has none.
    package func info(_ name: String) throws -> SafeTensorInfo {
        guard let tensor = index[name] else { throw CXRError.invalidModel("missing tensor \(name)") }
        return tensor
    }

    /// The values of tensor `name` as a new array.
    package func floats(_ name: String) throws -> [Float] {
        let tensor = try info(name)
        return try [Float](unsafeUninitializedCapacity: tensor.elementCount) { output, initialized in
            try read(tensor, into: output)
            initialized = tensor.elementCount
        }
    }

    /// Reads `tensor` into `output` (exactly its element count) and checks that every value is finite and at
    /// most `largestMagnitude` in magnitude.
    package func read(_ tensor: SafeTensorInfo, into output: UnsafeMutableBufferPointer<Float>) throws {
        switch source {
        case .memory(let bytes): try layout.read(tensor, in: bytes, into: output)
        case .file(let file): try layout.read(tensor, from: file, into: output)
        }
        if let bad = FloatScan.firstOutside(magnitude: Self.largestMagnitude, UnsafeBufferPointer(output)) {
            throw CXRError.invalidModel("tensor \(tensor.name)[\(bad)] is \(output[bad]); model parameters must "
                + "be finite and at most \(Self.largestMagnitude) in magnitude")
        }
    }
}
