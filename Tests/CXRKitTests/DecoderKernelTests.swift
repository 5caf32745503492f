import Foundation
import XCTest
@testable import CXRKit

/// The decoder's few-row products against plain Double loops, and the decoder with and without its
/// per-image context table (the element-wise kernels: VectorKernelTests).
final class DecoderKernelTests: XCTestCase {
    /// FewRowProduct for one row (GEMV), 1 to 4 rows (the vector kernel, at every level this machine runs;
    /// depths and widths that leave every tail), banded rows and many rows (sgemm), beta 0 (C not read:
    /// it starts as NaN) and 1, ldc > n and a B that is a column slice of a wider matrix.
    func testFewRowProductMatchesNaiveProduct() {
        var random = DecoderTestRandom(seed: 21)
        let shapes = [(1, 7, 5), (2, 1201, 3), (3, 700, 513), (4, 9, 31), (3, 5, 16), (2, 3, 8), (1, 50, 100),
                      (5, 33, 64), (32, 50, 9), (40, 45, 17)]
        for (m, n, k) in shapes {
            let lda = k + 2, ldb = k + 3, ldc = n + 1
            let a = random.floats(m * lda), b = random.floats(n * ldb)
            for beta: Float in [0, 1] {
                let initial = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : random.floats(m * ldc)
                for level in VectorLevel.supported {
                    var c = initial
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            c.withUnsafeMutableBufferPointer { c in
                                FewRowProduct.multiply(rows: m, columns: n, depth: k, a: a.baseAddress!, lda: lda,
                                                       b: b.baseAddress!, ldb: ldb, c: c.baseAddress!, ldc: ldc,
                                                       beta: beta, level: level)
                            }
                        }
                    }
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = beta == 0 ? 0 : Double(initial[i * ldc + j])
                            for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[j * ldb + p]) }
                            XCTAssertEqual(Double(c[i * ldc + j]), sum, accuracy: 1e-4 * max(1, abs(sum)),
                                           "m \(m) n \(n) k \(k) beta \(beta) \(level) at [\(i), \(j)]")
                        }
                        // The padding column is left alone.
                        XCTAssertEqual(c[i * ldc + n].bitPattern, initial[i * ldc + n].bitPattern)
                    }
                }
            }
        }
        XCTAssertEqual(FewRowProduct.bandRows(rows: 3, depth: 512), 400)
        XCTAssertEqual(FewRowProduct.bandRows(rows: 3, depth: 1024), 325)
        XCTAssertEqual(FewRowProduct.bandRows(rows: 2000, depth: 1), 1)
    }

    /// The decoder with P = W_ec Vᵀ precomputed per image and without it: both follow the scalar formulas.
    func testStepsWithAndWithoutTheContextTable() throws {
        let sizes = DecoderSizes()
        let weights = makeRandomDecoderWeights(sizes, seed: 25)
        let withTable = try AttentionDecoder(weights: weights, config: sizes.config, vocabularySize: sizes.vocabulary)
        let without = try AttentionDecoder(weights: weights, config: sizes.config, vocabularySize: sizes.vocabulary,
                                           contextTableRegionLimit: 0)
        XCTAssertTrue(withTable.usesContextTable)
        XCTAssertFalse(without.usesContextTable)
        var random = DecoderTestRandom(seed: 26)
        let features = random.floats(sizes.regions * sizes.features, scale: 2).map { max($0, 0) }
        for decoder in [withTable, without] {
            XCTAssertEqual(try decoder.prepare(features: features).contextLogits != nil, decoder.usesContextTable)
            try assertStepsFollowNaive(decoder, features: features, weights: weights, sizes: sizes,
                                       steps: [[1, 4, 8], [6, 6, 0], [0, 2, 5]], "table \(decoder.usesContextTable)")
        }
    }

    func testFirstNonFinite() {
        for count in [0, 1, 7, 8, 9, 100] {
            var values = (0..<count).map { Float($0) - 50 }
            values.withUnsafeBufferPointer { XCTAssertNil(TensorDecoding.firstNonFinite($0)) }
            for bad in [Float.infinity, -.infinity, .nan, Float(bitPattern: 0xFFC0_0001)] where count > 0 {
                for position in Set([0, count / 2, count - 1]) {
                    var copy = values
                    copy[position] = bad
                    if position + 1 < count { copy[count - 1] = .greatestFiniteMagnitude }
                    copy.withUnsafeBufferPointer { XCTAssertEqual(TensorDecoding.firstNonFinite($0), position) }
                }
            }
            values = values.map { $0 * 1e30 }  // large but finite
            values.withUnsafeBufferPointer { XCTAssertNil(TensorDecoding.firstNonFinite($0)) }
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
            let fromFile = try ModelLoader.load(path: path)
            let fromBytes = try bytes.withUnsafeBytes { try ModelLoader.load(bytes: $0) }
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
        assertCXRError(.invalidModel, "beyond the data section") { try ModelLoader.load(path: path) }
    }
}
