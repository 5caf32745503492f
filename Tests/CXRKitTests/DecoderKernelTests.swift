import Foundation
import XCTest
@testable import CXRKit

/// The decoder's kernels (few-row products, fast activations, LSTM update, attention scores, log-softmax)
/// against plain Double loops, and the decoder with and without its per-image context table.
final class DecoderKernelTests: XCTestCase {
    /// FewRowProduct for one row (GEMV), banded rows and many rows (sgemm), beta 0 and 1, ldc > n and a
    /// B that is a column slice of a wider matrix.
    func testFewRowProductMatchesNaiveProduct() {
        var random = DecoderTestRandom(seed: 21)
        for (m, n, k) in [(1, 7, 5), (2, 1201, 3), (3, 700, 513), (5, 33, 64), (32, 50, 9), (40, 45, 17)] {
            let lda = k + 2, ldb = k + 3, ldc = n + 1
            let a = random.floats(m * lda), b = random.floats(n * ldb)
            for beta: Float in [0, 1] {
                let initial = random.floats(m * ldc)
                var c = initial
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        c.withUnsafeMutableBufferPointer { c in
                            FewRowProduct.multiply(rows: m, columns: n, depth: k, a: a.baseAddress!, lda: lda,
                                                   b: b.baseAddress!, ldb: ldb, c: c.baseAddress!, ldc: ldc,
                                                   beta: beta)
                        }
                    }
                }
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = Double(beta) * Double(initial[i * ldc + j])
                        for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[j * ldb + p]) }
                        XCTAssertEqual(Double(c[i * ldc + j]), sum, accuracy: 1e-4 * max(1, abs(sum)),
                                       "m \(m) n \(n) k \(k) beta \(beta) at [\(i), \(j)]")
                    }
                    // The padding column is left alone.
                    XCTAssertEqual(c[i * ldc + n], initial[i * ldc + n])
                }
            }
        }
        XCTAssertEqual(FewRowProduct.bandRows(rows: 3, depth: 512), 400)
        XCTAssertEqual(FewRowProduct.bandRows(rows: 3, depth: 1024), 325)
        XCTAssertEqual(FewRowProduct.bandRows(rows: 2000, depth: 1), 1)
    }

    /// exp within 2 ulp (relative 2.4e-7) over its range, sigmoid and tanh within 1e-6 absolute.
    func testFastActivationsMatchLibm() {
        var worstExp = 0.0, worstSigmoid = 0.0, worstTanh = 0.0
        var x = -87.0
        while x <= 88.0 {
            let value = Float(x)
            let exact = Foundation.exp(Double(value))
            worstExp = max(worstExp, abs(Double(FastActivations.exp(value)) - exact) / exact)
            x += 0.0137
        }
        x = -20.0
        while x <= 20.0 {
            let value = Float(x)
            worstSigmoid = max(worstSigmoid,
                               abs(Double(FastActivations.sigmoid(value)) - 1 / (1 + Foundation.exp(-Double(value)))))
            worstTanh = max(worstTanh, abs(Double(FastActivations.tanh(value)) - Foundation.tanh(Double(value))))
            x += 0.000_71
        }
        XCTAssertLessThanOrEqual(worstExp, 2.4e-7, "max relative exp error")
        XCTAssertLessThanOrEqual(worstSigmoid, 1e-6, "max sigmoid error")
        XCTAssertLessThanOrEqual(worstTanh, 1e-6, "max tanh error")
        XCTAssertEqual(FastActivations.exp(0), 1)
        XCTAssertEqual(FastActivations.exp(-.infinity), 0)
        XCTAssertEqual(FastActivations.exp(-200), 0)
        XCTAssertEqual(FastActivations.exp(200), .infinity)
        XCTAssertEqual(FastActivations.sigmoid(200), 1)
        XCTAssertEqual(FastActivations.sigmoid(-200), 0)
        XCTAssertTrue(FastActivations.exp(.nan).isNaN)
        XCTAssertTrue(FastActivations.sigmoid(.nan).isNaN)
        XCTAssertTrue(FastActivations.tanh(.nan).isNaN)
        for value: Float in [1e-8, 0.3, 2.5, 8.9, 9.5, 100, .infinity] {
            XCTAssertEqual(FastActivations.tanh(-value), -FastActivations.tanh(value), "tanh is odd at \(value)")
        }
        XCTAssertEqual(FastActivations.tanh(100), 1, accuracy: 1e-6)
        XCTAssertEqual(FastActivations.tanh(1e-8), 1e-8, accuracy: 1e-12)
    }

    func testLSTMCellUpdateMatchesFormula() {
        var random = DecoderTestRandom(seed: 22)
        for units in [1, 5, 8, 13, 512] {
            let gates = random.floats(4 * units, scale: 4)
            let cellBefore = random.floats(units, scale: 2)
            var cell = cellBefore
            var hidden = [Float](repeating: .nan, count: units)
            gates.withUnsafeBufferPointer { gates in
                cell.withUnsafeMutableBufferPointer { cell in
                    hidden.withUnsafeMutableBufferPointer { hidden in
                        LSTMCellUpdate.apply(gates: gates.baseAddress!, cell: cell.baseAddress!,
                                             hidden: hidden.baseAddress!, units: units)
                    }
                }
            }
            func sigmoid(_ x: Float) -> Double { 1 / (1 + Foundation.exp(-Double(x))) }
            for u in 0..<units {
                let c = sigmoid(gates[units + u]) * Double(cellBefore[u])
                    + sigmoid(gates[u]) * Foundation.tanh(Double(gates[2 * units + u]))
                XCTAssertEqual(Double(cell[u]), c, accuracy: 3e-6, "units \(units) cell \(u)")
                XCTAssertEqual(Double(hidden[u]), sigmoid(gates[3 * units + u]) * Foundation.tanh(c),
                               accuracy: 3e-6, "units \(units) hidden \(u)")
            }
        }
    }

    func testAdditiveAttentionScoresMatchFormula() {
        var random = DecoderTestRandom(seed: 23)
        for (width, rows) in [(1, 1), (7, 3), (16, 2), (37, 5), (512, 4)] {
            let query = random.floats(width, scale: 2), keys = random.floats(rows * width, scale: 2)
            let weights = random.floats(width)
            var scratch = [Float](repeating: 0, count: width)
            var scores = [Float](repeating: .nan, count: rows)
            query.withUnsafeBufferPointer { query in
                keys.withUnsafeBufferPointer { keys in
                    weights.withUnsafeBufferPointer { weights in
                        scratch.withUnsafeMutableBufferPointer { scratch in
                            scores.withUnsafeMutableBufferPointer { scores in
                                AdditiveAttention.scores(query: query.baseAddress!, keys: keys.baseAddress!,
                                                         weights: weights.baseAddress!, width: width, rows: rows,
                                                         scratch: scratch.baseAddress!, into: scores.baseAddress!)
                            }
                        }
                    }
                }
            }
            for row in 0..<rows {
                var expected = 0.0
                for d in 0..<width {
                    expected += Double(weights[d]) * Foundation.tanh(Double(query[d]) + Double(keys[row * width + d]))
                }
                XCTAssertEqual(Double(scores[row]), expected, accuracy: 1e-6 * Double(width) + 1e-6,
                               "width \(width) row \(row)")
            }
        }
    }

    func testLogSoftmaxMatchesDouble() {
        var random = DecoderTestRandom(seed: 24)
        for count in [1, 2, 15, 16, 17, 300, 486] {
            let logits = random.floats(count, scale: 12)
            var output = [Float](repeating: .nan, count: count)
            logits.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { output in
                    LogSoftmax.apply(input.baseAddress!, count: count, into: output.baseAddress!)
                }
            }
            let largest = Double(logits.max()!)
            let logTotal = Foundation.log(logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - largest) })
            for index in 0..<count {
                XCTAssertEqual(Double(output[index]), Double(logits[index]) - largest - logTotal, accuracy: 1e-5,
                               "count \(count) index \(index)")
            }
        }
    }

    /// The decoder with P = V W_ecᵀ precomputed per image and without it: both follow the scalar formulas.
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
