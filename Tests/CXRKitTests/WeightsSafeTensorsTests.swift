import XCTest
@testable import CXRSupport
@testable import CXRWeights

final class WeightsSafeTensorsTests: XCTestCase {
    /// An 8-byte little-endian length (`declaredLength`, or the header's size), the header, then `data`.
    private func rawFile(_ header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        let length = declaredLength ?? UInt64(headerBytes.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + headerBytes + data
    }

    private func parse(_ bytes: [UInt8]) throws -> SafeTensorsLayout {
        try bytes.withUnsafeBytes { try SafeTensorsLayout.parse($0) }
    }

    private func assertLayoutError(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath,
                                   line: UInt = #line) {
        assertCXRError(.invalidModel, fragment, file: file, line: line) { try parse(bytes) }
        // The model loader reports the same problem.
        assertCXRError(.invalidModel, fragment, file: file, line: line) {
            try bytes.withUnsafeBytes { try TestWeights.load(bytes: $0) }
        }
    }

    private static let f32x2 = #""dtype": "F32", "shape": [2]"#
    private static let eightBytes = [UInt8](repeating: 0, count: 8)
    private var f32x2: String { Self.f32x2 }
    private var eightBytes: [UInt8] { Self.eightBytes }

    // MARK: Length prefix and header

    func testEmptyAndTruncatedFiles() {
        assertLayoutError([], "file is empty (0 bytes)")
        assertLayoutError([8, 0, 0], "file is 3 bytes, too short for the 8-byte safetensors header length")
        assertLayoutError([2, 0, 0, 0, 0, 0, 0], "file is 7 bytes")
    }

    func testHeaderLengthBounds() {
        assertLayoutError(rawFile("", declaredLength: 0), "safetensors header length 0 is less than 2")
        assertLayoutError(rawFile("{", declaredLength: 1), "safetensors header length 1 is less than 2")
        assertLayoutError(rawFile("{}", declaredLength: 100_000_001),
                          "safetensors header length 100000001 exceeds the limit of 100000000 bytes")
        assertLayoutError(rawFile("{}", declaredLength: UInt64.max), "header length 18446744073709551615 exceeds")
        assertLayoutError(rawFile("{}", declaredLength: 3),
                          "safetensors header length 3 extends past the end of the file (2 bytes follow")
        XCTAssertNoThrow(try parse(rawFile("{}")))
    }

    func testHeaderMustBeAJSONObject() {
        assertLayoutError(rawFile("{\"a\": }"), "safetensors header is not valid JSON: unexpected character '}'")
        assertLayoutError(rawFile("{\"a\": }"), "at header byte 6 (file offset 14)")
        assertLayoutError(rawFile("[1, 2]"), "safetensors header is a JSON array, expected an object")
        assertLayoutError(rawFile("\"text\""), "safetensors header is a JSON string")
        assertLayoutError(rawFile("{} trailing"), "after the JSON value")
        assertLayoutError(rawFile(#"{"t": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}, "t": 1}"#,
                                  data: [0, 0, 0, 0]), "duplicate key \"t\"")
        let deep = String(repeating: "[", count: 10_000)
        assertLayoutError(rawFile(deep), "nesting deeper than 64 levels")
    }

    func testHeaderPaddingWithSpacesIsAccepted() throws {
        let layout = try parse(rawFile(#"{"a": {\#(f32x2), "data_offsets": [0, 8]}}      "#, data: eightBytes))
        XCTAssertEqual(layout.tensors.map(\.name), ["a"])
    }

    func testMetadataValuesMustBeStrings() {
        assertLayoutError(rawFile(#"{"__metadata__": {"format": "cxrcaption/1", "hidden": 512}}"#),
                          "__metadata__ key \"hidden\" has a JSON integer value; metadata values must be strings")
        assertLayoutError(rawFile(#"{"__metadata__": ["a"]}"#), "__metadata__ is a JSON array, expected an object")
    }

    // MARK: Entries

    func testEntryFieldsAreChecked() {
        let cases: [(String, String)] = [
            (#"{"a": 3}"#, "tensor a: header entry is a JSON integer, expected an object"),
            (#"{"a": {"shape": [2], "data_offsets": [0, 8]}}"#, "tensor a: missing \"dtype\""),
            (#"{"a": {"dtype": "F32", "data_offsets": [0, 8]}}"#, "tensor a: missing \"shape\""),
            (#"{"a": {\#(f32x2)}}"#, "tensor a: missing \"data_offsets\""),
            (#"{"a": {\#(f32x2), "data_offsets": [0, 8], "x": 1}}"#, "tensor a: unexpected header field \"x\""),
            (#"{"a": {"dtype": 5, "shape": [2], "data_offsets": [0, 8]}}"#, "tensor a: dtype is a JSON integer"),
            (#"{"a": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}}"#, "tensor a has unknown dtype \"Q4\""),
            (#"{"a": {"dtype": "f32", "shape": [2], "data_offsets": [0, 8]}}"#, "tensor a has unknown dtype \"f32\""),
            (#"{"a": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}}"#, "tensor a: shape is a JSON integer"),
            (#"{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}"#,
             "tensor a: shape [-2] must contain non-negative integers"),
            (#"{"a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}"#, "shape [2.5] must contain"),
            (#"{"a": {\#(f32x2), "data_offsets": [0]}}"#, "tensor a: data_offsets [0] must be [begin, end]"),
            (#"{"a": {\#(f32x2), "data_offsets": [0, -8]}}"#, "data_offsets [0,-8] must be [begin, end]"),
            (#"{"a": {\#(f32x2), "data_offsets": "0-8"}}"#, "data_offsets \"0-8\" must be"),
        ]
        for (header, fragment) in cases { assertLayoutError(rawFile(header, data: eightBytes), fragment) }
    }

    func testOffsetsMustBeInBoundsAndOrdered() {
        assertLayoutError(rawFile(#"{"a": {\#(f32x2), "data_offsets": [8, 16]}}"#, data: eightBytes),
                          "tensor a has data_offsets [8, 16] beyond the data section of 8 bytes")
        assertLayoutError(rawFile(#"{"a": {\#(f32x2), "data_offsets": [0, 9223372036854775807]}}"#, data: eightBytes),
                          "beyond the data section of 8 bytes")
        assertLayoutError(rawFile(#"{"a": {\#(f32x2), "data_offsets": [8, 0]}}"#, data: eightBytes),
                          "tensor a has data_offsets [8, 0]: begin is after end")
    }

    func testByteSizeMustMatchShapeAndDType() {
        assertLayoutError(rawFile(#"{"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 8]}}"#, data: eightBytes),
                          "tensor a has 8 bytes of data (data_offsets [0, 8]) but shape [2, 2] x F32 needs 16 bytes")
        assertLayoutError(rawFile(#"{"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 8]}}"#, data: eightBytes),
                          "shape [2] x F16 needs 4 bytes")
        // Element count x dtype size overflows Int: checked arithmetic, no trap.
        assertLayoutError(rawFile(#"{"a": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 8]}}"#,
                                  data: eightBytes),
                          "needs more than 9223372036854775807 bytes")
        assertLayoutError(rawFile(#"{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}}"#,
                                  data: eightBytes),
                          "tensor a: shape [4294967296,4294967296] has too many elements")
    }

    func testTensorsMustNotOverlap() {
        let header = #"{"a": {\#(f32x2), "data_offsets": [0, 8]}, "b": {\#(f32x2), "data_offsets": [4, 12]}}"#
        assertLayoutError(rawFile(header, data: [UInt8](repeating: 0, count: 12)),
                          "tensors a (data_offsets [0, 8]) and b (data_offsets [4, 12]) overlap")
        let same = #"{"a": {\#(f32x2), "data_offsets": [0, 8]}, "b": {\#(f32x2), "data_offsets": [0, 8]}}"#
        assertLayoutError(rawFile(same, data: eightBytes), "overlap")
    }

    func testTensorsMustCoverTheDataContiguously() {
        let gap = #"{"a": {\#(f32x2), "data_offsets": [0, 8]}, "b": {\#(f32x2), "data_offsets": [12, 20]}}"#
        assertLayoutError(rawFile(gap, data: [UInt8](repeating: 0, count: 20)),
                          "gap in the data section: bytes [8, 12) before tensor b belong to no tensor")
        let leading = #"{"a": {\#(f32x2), "data_offsets": [4, 12]}}"#
        assertLayoutError(rawFile(leading, data: [UInt8](repeating: 0, count: 12)), "bytes [0, 4) before tensor a")
        assertLayoutError(rawFile(#"{"a": {\#(f32x2), "data_offsets": [0, 8]}}"#, data: eightBytes + [1, 2]),
                          "the data section has 10 bytes but the tensors cover only 8; 2 trailing bytes")
        assertLayoutError(rawFile("{}", data: [1]), "the data section has 1 bytes but the tensors cover only 0")
    }

    func testOutOfOrderAndEmptyTensorsAreAccepted() throws {
        let header = #"{"b": {\#(f32x2), "data_offsets": [8, 16]}, "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [8, 8]}, "a": {\#(f32x2), "data_offsets": [0, 8]}, "s": {"dtype": "BF16", "shape": [], "data_offsets": [16, 18]}}"#
        var data: [UInt8] = []
        for value: Float in [1, 2, 3, 4] { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 } }
        data += [0x40, 0x40]  // BF16 3.0
        let layout = try parse(rawFile(header, data: data))
        XCTAssertEqual(layout.tensors.map(\.name), ["b", "e", "a", "s"])  // header order kept
        XCTAssertEqual(layout.tensor(named: "e")?.elementCount, 0)
        XCTAssertEqual(layout.tensor(named: "s")?.shape, [])
        let file = SafeTensorsFileBytes(rawFile(header, data: data))
        XCTAssertEqual(try file.floats("a"), [1, 2])
        XCTAssertEqual(try file.floats("b"), [3, 4])
        XCTAssertEqual(try file.floats("e"), [])
        XCTAssertEqual(try file.floats("s"), [3])
    }

    // MARK: Generic reader and writer

    func testWriterOutputReadsBack() throws {
        var writer = SafeTensorsWriter()
        writer.metadata = [("note", "golden \"case\" ✓"), ("format", "x")]
        try writer.add("logits", shape: [2, 3], values: [1, -2, 0.5, 1e-8, .infinity, -0.0])
        try writer.add("half", shape: [3], values: [1, 0.1, 70000], dtype: .f16)
        try writer.add("brain", shape: [1, 1, 2], values: [1, 0.1], dtype: .bf16)
        try writer.add("scalar", shape: [], values: [42])
        let bytes = writer.serialized()
        XCTAssertEqual((8 + Int(bytes[0]) + Int(bytes[1]) << 8) % 8, 0)  // header padded to 8 bytes

        let file = try SafeTensorsFile(bytes: bytes)
        XCTAssertEqual(file.tensors.map(\.name), ["logits", "half", "brain", "scalar"])
        XCTAssertEqual(file.metadata.map(\.key), ["note", "format"])
        XCTAssertEqual(file.metadataValue("note"), "golden \"case\" ✓")
        let logits = try file.floats(named: "logits")
        XCTAssertEqual(logits.shape, [2, 3])
        XCTAssertEqual(logits.values.map(\.bitPattern), [1, -2, 0.5, 1e-8, .infinity, -0.0].map { Float($0).bitPattern })
        XCTAssertEqual(try file.floats(named: "half").values, [1, HalfPrecision.float(fromF16: 0x2E66), .infinity])
        XCTAssertEqual(try file.floats(named: "brain").values, [1, HalfPrecision.float(fromBF16: 0x3DCD)])
        XCTAssertEqual(file.tensor(named: "half")?.dtype, .f16)
        XCTAssertEqual(try file.floats(named: "scalar").shape, [])
        assertCXRError(.invalidArgument, "no tensor named missing") { try file.floats(named: "missing") }
    }

    func testWriterRejectsBadInput() {
        var writer = SafeTensorsWriter()
        assertCXRError(.invalidArgument, "shape [2, 2] has 4 elements but 3 values") {
            try writer.add("a", shape: [2, 2], values: [1, 2, 3])
        }
        assertCXRError(.invalidArgument, "not I64") { try writer.add("a", shape: [1], values: [1], dtype: .i64) }
        XCTAssertNoThrow(try writer.add("a", shape: [1], values: [1]))
        assertCXRError(.invalidArgument, "already used") { try writer.add("a", shape: [1], values: [1]) }
        assertCXRError(.invalidArgument, "reserved") { try writer.add("__metadata__", shape: [1], values: [1]) }
    }

    func testIntegerTensorsAreStructurallyValidButNotReadableAsFloat() throws {
        var writer = SafeTensorsWriter()
        writer.addRaw("steps", dtype: .i64, shape: [1], data: [1, 0, 0, 0, 0, 0, 0, 0])
        let file = try SafeTensorsFile(bytes: writer.serialized())
        assertCXRError(.invalidModel, "tensor steps has dtype I64; only F32, F16 and BF16 tensors can be read") {
            try file.floats(named: "steps")
        }
    }

    func testFileReaderErrors() throws {
        let directory = NSTemporaryDirectory() + "weights-io-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        assertCXRError(.io, "cannot open '\(directory)/none.safetensors': no such file or directory") {
            try SafeTensorsFile(contentsOfFile: directory + "/none.safetensors")
        }
        assertCXRError(.io, "'\(directory)' is a directory, not a file") { try FileReader.readAll(path: directory) }
        assertCXRError(.io, "the path is empty") { try FileReader.readAll(path: "") }
        assertCXRError(.io, "is not a regular file") { try FileReader.readAll(path: "/dev/null") }

        let path = directory + "/small.bin"
        try FileWriter.writeAll(path: path, bytes: [1, 2, 3, 4, 5])
        XCTAssertEqual(try FileReader.readAll(path: path), [1, 2, 3, 4, 5])
        assertCXRError(.io, "is 5 bytes, more than the limit of 4 bytes") { try FileReader.readAll(path: path, maximumSize: 4) }

        let empty = directory + "/empty.safetensors"
        try FileWriter.writeAll(path: empty, bytes: [])
        assertCXRError(.invalidModel, "file is empty (0 bytes)") { try TestWeights.load(path: empty) }

        if getuid() != 0 {
            let locked = directory + "/locked.bin"
            try FileWriter.writeAll(path: locked, bytes: [1])
            chmod(locked, 0)
            assertCXRError(.io, "permission denied") { try FileReader.readAll(path: locked) }
        }
        assertCXRError(.io, "cannot create") { try FileWriter.writeAll(path: directory + "/no/such/dir", bytes: [1]) }
    }
}

/// A file's bytes with its parsed layout, for reading tensors in tests.
private struct SafeTensorsFileBytes {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func floats(_ name: String) throws -> [Float] {
        try SafeTensorsFile(bytes: bytes).floats(named: name).values
    }
}
