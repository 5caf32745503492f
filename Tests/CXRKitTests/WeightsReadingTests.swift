import Foundation
import XCTest
@testable import CXRSupport
@testable import CXRWeights

/// Reading tensors: the non-finite scan, F16/BF16 files read in chunks, and loading from a path (tensor by
/// tensor with pread) against loading the same bytes from memory.
final class WeightsReadingTests: XCTestCase {
    func testFirstNonFinite() {
        for count in [0, 1, 7, 8, 9, 100] {
            var values = (0..<count).map { Float($0) - 50 }
            values.withUnsafeBufferPointer { XCTAssertNil(FloatScan.firstNonFinite($0)) }
            for bad in [Float.infinity, -.infinity, .nan, Float(bitPattern: 0xFFC0_0001)] where count > 0 {
                for position in Set([0, count / 2, count - 1]) {
                    var copy = values
                    copy[position] = bad
                    if position + 1 < count { copy[count - 1] = .greatestFiniteMagnitude }
                    copy.withUnsafeBufferPointer { XCTAssertEqual(FloatScan.firstNonFinite($0), position) }
                }
            }
            values = values.map { $0 * 1e30 }  // large but finite
            values.withUnsafeBufferPointer { XCTAssertNil(FloatScan.firstNonFinite($0)) }
        }
    }

    /// Loading from a path (tensor by tensor with pread) gives the same model as loading the same bytes
    /// from memory, for every float dtype; a file shorter than its header says is rejected.
    /// F16 and BF16 tensors are read from a file in chunks of 2^15 values: one that spans three chunks
    /// (the last partial) decodes exactly as from memory.
    func testSixteenBitTensorsReadFromAFileInChunks() throws {
        let path = NSTemporaryDirectory() + "weights-chunks-\(getpid()).safetensors"
        defer { unlink(path) }
        let count = 2 * (1 << 15) + 123
        let values = (0..<count).map { Float($0 % 4099 - 2049) / 64 }
        for dtype in [SafeTensorsDType.f16, .bf16] {
            var writer = SafeTensorsWriter()
            try writer.add("a", shape: [7], values: Array(values.prefix(7)), dtype: dtype)
            try writer.add("big", shape: [count], values: values, dtype: dtype)
            let bytes = writer.serialized()
            try writer.write(toFile: path)
            let layout = try bytes.withUnsafeBytes { try SafeTensorsLayout.parse($0) }
            let big = try XCTUnwrap(layout.tensors.first { $0.name == "big" })
            let fromMemory = try bytes.withUnsafeBytes { try layout.floats(of: big, in: $0) }
            let fromFile = try layout.floats(of: big, from: try ReadableFile(path: path, maximumSize: bytes.count))
            XCTAssertEqual(fromFile.count, count)
            XCTAssertEqual(fromFile, fromMemory, "\(dtype)")
            // the values survive the round trip as far as the format allows (spot checks in every chunk)
            for index in [0, 1 << 15 - 1, 1 << 15, 2 << 15, count - 1] {
                XCTAssertEqual(fromFile[index], values[index], accuracy: abs(values[index]) / 64 + 1e-3, "\(dtype) \(index)")
            }
        }
    }

    func testLoadingFromAPathEqualsLoadingBytes() throws {
        let path = NSTemporaryDirectory() + "weights-pread-\(getpid()).safetensors"
        defer { unlink(path) }
        for dtype in [SafeTensorsDType.f32, .f16, .bf16] {
            var tiny = TinyModel(withFindings: true)
            tiny.setDType(dtype)
            let bytes = try tiny.bytes()
            try tiny.writer().write(toFile: path)
            let fromFile = try TestWeights.load(path: path)
            let fromBytes = try bytes.withUnsafeBytes { try TestWeights.load(bytes: $0) }
            XCTAssertEqual(fromFile.tensorSummary.parameterCount, fromBytes.tensorSummary.parameterCount)
            let a = fromFile.weights, b = fromBytes.weights
            XCTAssertEqual(a.decoder.lstmInputWeight, b.decoder.lstmInputWeight, "\(dtype)")
            XCTAssertEqual(a.decoder.outputContext, b.decoder.outputContext, "\(dtype)")
            XCTAssertEqual(a.decoder.embedding, b.decoder.embedding, "\(dtype)")
            XCTAssertEqual(a.encoder.conv0.weight, b.encoder.conv0.weight, "\(dtype)")
            XCTAssertEqual(a.encoder.blocks[3][0].conv2.oihw?.weight, b.encoder.blocks[3][0].conv2.oihw?.weight, "\(dtype)")
            XCTAssertEqual(a.encoder.norm5.scale, b.encoder.norm5.scale, "\(dtype)")
            XCTAssertEqual(a.findings?.weight, b.findings?.weight, "\(dtype)")
        }
        // Cut the file short: the header's tensors no longer cover the data section.
        let bytes = try TinyModel().bytes()
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes.dropLast(4))))
        assertCXRError(.invalidModel, "beyond the data section") { try TestWeights.load(path: path) }
    }
}
