import CVectorKernels
import Foundation
import XCTest
@testable import CXRKernels
@testable import CXRModel

/// The C kernels (`CVectorKernels`: activations, LSTM update, attention scores, log-softmax, Winograd
/// transforms) against plain Double loops, at every vector level this machine runs, and bit for bit equal
/// across those levels. (The few-row product: DecoderKernelTests and DecoderThreadsTests.)
final class VectorKernelTests: XCTestCase {
    /// Runs `body` at every supported level and checks that each level's output equals the generic one's,
    /// bit for bit (any NaN counts as the same NaN: its sign and payload may differ between levels).
    private func forEachLevel(_ what: String, _ body: (VectorLevel) -> [Float]) -> [Float] {
        func bits(_ values: [Float]) -> [UInt32] { values.map { $0.isNaN ? Float.nan.bitPattern : $0.bitPattern } }
        let generic = body(.generic)
        for level in VectorLevel.supported where level != .generic {
            XCTAssertEqual(bits(body(level)), bits(generic), "\(what): \(level) vs generic")
        }
        return generic
    }

    /// `function` (`cvk_apply`: the exp, sigmoid and tanh every kernel inlines) of each value.
    private func activation(_ function: cvk_function, _ values: [Float], level: VectorLevel = .best) -> [Float] {
        var output = [Float](repeating: .nan, count: values.count)
        values.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                cvk_apply(level.cLevel, function, input.baseAddress!, output.baseAddress!, input.count)
            }
        }
        return output
    }

    func testTheMachineRunsAVectorLevel() {
        // Says what the other tests covered here (levels above `best` are skipped: this CPU cannot run them).
        print("vector levels tested: \(VectorLevel.supported) of \(VectorLevel.allCases)")
        XCTAssertTrue(VectorLevel.supported.contains(.generic))
        XCTAssertEqual(VectorLevel.supported.last, VectorLevel.best)
    }

    /// exp within 2 ulp (relative 2.4e-7) over its range, sigmoid and tanh within 1e-6 absolute, and the
    /// special values; lengths that leave every tail size.
    func testActivationsMatchLibm() {
        let expInputs = stride(from: -87.0, through: 88.0, by: 0.0137).map { Float($0) }
        let inputs = stride(from: -20.0, through: 20.0, by: 0.000_71).map { Float($0) }
        let exps = forEachLevel("exp") { activation(CVK_EXP, expInputs, level: $0) }
        let sigmoids = forEachLevel("sigmoid") { activation(CVK_SIGMOID, inputs, level: $0) }
        let tanhs = forEachLevel("tanh") { activation(CVK_TANH, inputs, level: $0) }
        var worstExp = 0.0, worstSigmoid = 0.0, worstTanh = 0.0
        for (value, result) in zip(expInputs, exps) {
            let exact = Foundation.exp(Double(value))
            worstExp = max(worstExp, abs(Double(result) - exact) / exact)
        }
        for (index, value) in inputs.enumerated() {
            worstSigmoid = max(worstSigmoid, abs(Double(sigmoids[index]) - 1 / (1 + Foundation.exp(-Double(value)))))
            worstTanh = max(worstTanh, abs(Double(tanhs[index]) - Foundation.tanh(Double(value))))
        }
        XCTAssertLessThanOrEqual(worstExp, 2.4e-7, "max relative exp error")
        XCTAssertLessThanOrEqual(worstSigmoid, 1e-6, "max sigmoid error")
        XCTAssertLessThanOrEqual(worstTanh, 1e-6, "max tanh error")

        let special: [Float] = [0, -.infinity, -200, 200, .nan, 100, 1e-8, .infinity]
        let exp = forEachLevel("exp, special") { activation(CVK_EXP, special, level: $0) }
        let sigmoid = forEachLevel("sigmoid, special") { activation(CVK_SIGMOID, special, level: $0) }
        let tanh = forEachLevel("tanh, special") { activation(CVK_TANH, special, level: $0) }
        XCTAssertEqual(Array(exp[0..<4]), [1, 0, 0, .infinity])
        XCTAssertEqual(Array(sigmoid[2..<4]), [0, 1])
        XCTAssertTrue(exp[4].isNaN && sigmoid[4].isNaN && tanh[4].isNaN, "NaN gives NaN")
        XCTAssertEqual(tanh[5], 1, accuracy: 1e-6)
        XCTAssertEqual(tanh[6], 1e-8, accuracy: 1e-12)
        let odd: [Float] = [1e-8, 0.3, 2.5, 8.9, 9.5, 100, .infinity]
        for level in VectorLevel.supported {
            let positive = activation(CVK_TANH, odd, level: level)
            let negative = activation(CVK_TANH, odd.map { -$0 }, level: level)
            XCTAssertEqual(negative, positive.map { -$0 }, "tanh is odd (\(level))")
        }
    }

    func testLSTMCellUpdateMatchesFormula() {
        var random = DecoderTestRandom(seed: 22)
        for units in [1, 5, 8, 13, 17, 512] {
            let gates = random.floats(4 * units, scale: 4)
            let cellBefore = random.floats(units, scale: 2)
            var cellAfter: [Float] = []
            let hidden = forEachLevel("LSTM, \(units) units") { level in
                var cell = cellBefore
                var hidden = [Float](repeating: .nan, count: units)
                gates.withUnsafeBufferPointer { gates in
                    cell.withUnsafeMutableBufferPointer { cell in
                        hidden.withUnsafeMutableBufferPointer { hidden in
                            LSTMCellUpdate.apply(gates: gates.baseAddress!, cell: cell.baseAddress!,
                                                 hidden: hidden.baseAddress!, units: units, level: level)
                        }
                    }
                }
                if level == .generic { cellAfter = cell }
                return hidden + cell
            }
            func sigmoid(_ x: Float) -> Double { 1 / (1 + Foundation.exp(-Double(x))) }
            for u in 0..<units {
                let c = sigmoid(gates[units + u]) * Double(cellBefore[u])
                    + sigmoid(gates[u]) * Foundation.tanh(Double(gates[2 * units + u]))
                XCTAssertEqual(Double(cellAfter[u]), c, accuracy: 3e-6, "units \(units) cell \(u)")
                XCTAssertEqual(Double(hidden[u]), sigmoid(gates[3 * units + u]) * Foundation.tanh(c),
                               accuracy: 3e-6, "units \(units) hidden \(u)")
            }
        }
    }

    /// Several queries against channel-major keys, region counts that leave every tail; the whole range
    /// and the same regions computed in two pieces give the same bits.
    func testAdditiveAttentionScoresMatchFormula() {
        var random = DecoderTestRandom(seed: 23)
        for (width, regions, queries) in [(1, 1, 1), (7, 3, 2), (16, 16, 3), (37, 21, 1), (512, 64, 3), (515, 35, 4)] {
            let query = random.floats(queries * width, scale: 2), keys = random.floats(width * regions, scale: 2)
            let weights = random.floats(width)
            func scores(_ ranges: [Range<Int>], _ level: VectorLevel) -> [Float] {
                var scores = [Float](repeating: .nan, count: queries * regions)
                query.withUnsafeBufferPointer { query in
                    keys.withUnsafeBufferPointer { keys in
                        weights.withUnsafeBufferPointer { weights in
                            scores.withUnsafeMutableBufferPointer { scores in
                                for range in ranges {
                                    AdditiveAttention.scores(queries: query.baseAddress!, queryCount: queries,
                                                             keys: keys.baseAddress!, regions: regions,
                                                             weights: weights.baseAddress!, width: width,
                                                             regionRange: range, into: scores.baseAddress!,
                                                             level: level)
                                }
                            }
                        }
                    }
                }
                return scores
            }
            let whole = forEachLevel("attention, width \(width), \(regions) regions") { scores([0..<regions], $0) }
            for level in VectorLevel.supported {
                for split in Set([1, regions / 2, regions - 1]) where split > 0 && split < regions {
                    XCTAssertEqual(scores([0..<split, split..<regions], level).map(\.bitPattern),
                                   whole.map(\.bitPattern), "\(level), split at region \(split)")
                }
            }
            for i in 0..<queries {
                for r in 0..<regions {
                    var expected = 0.0
                    for d in 0..<width {
                        expected += Double(weights[d])
                            * Foundation.tanh(Double(query[i * width + d]) + Double(keys[d * regions + r]))
                    }
                    XCTAssertEqual(Double(whole[i * regions + r]), expected, accuracy: 1e-6 * Double(width) + 1e-6,
                                   "width \(width) query \(i) region \(r)")
                }
            }
        }
    }

    func testLogSoftmaxMatchesDouble() {
        var random = DecoderTestRandom(seed: 24)
        for count in [1, 2, 15, 16, 17, 300, 486] {
            let logits = random.floats(count, scale: 12)
            let output = forEachLevel("log_softmax, \(count) values") { level in
                var output = [Float](repeating: .nan, count: count)
                logits.withUnsafeBufferPointer { input in
                    output.withUnsafeMutableBufferPointer { output in
                        LogSoftmax.apply(input.baseAddress!, count: count, into: output.baseAddress!, level: level)
                    }
                }
                return output
            }
            let largest = Double(logits.max()!)
            let logTotal = Foundation.log(logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - largest) })
            for index in 0..<count {
                XCTAssertEqual(Double(output[index]), Double(logits[index]) - largest - logTotal, accuracy: 1e-5,
                               "count \(count) index \(index)")
            }
        }
    }

    /// F(2x2, 3x3) transforms of one tile against Bᵀ d B and Aᵀ M A in Double, channel counts that leave
    /// every tail, one patch pixel a row of zeros (padding).
    func testWinogradTransformsMatchMatrices() {
        let bT: [[Double]] = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
        let aT: [[Double]] = [[1, 1, 1, 0], [0, 1, -1, -1]]
        var random = DecoderTestRandom(seed: 27)
        for channels in [1, 3, 4, 15, 16, 17, 128] {
            let pixels = (0..<16).map { $0 == 5 ? [Float](repeating: 0, count: channels) : random.floats(channels, scale: 3) }
            let v = forEachLevel("Winograd input, \(channels) channels") { level in
                var v = [Float](repeating: .nan, count: 16 * channels)
                let patch = pixels.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: channels) }
                defer { patch.forEach { $0.deallocate() } }
                for (pointer, values) in zip(patch, pixels) { pointer.update(from: values, count: channels) }
                let pointers: [UnsafePointer<Float>?] = patch.map { UnsafePointer($0) }
                pointers.withUnsafeBufferPointer { pointers in
                    v.withUnsafeMutableBufferPointer { cvk_winograd_input(level.cLevel, pointers.baseAddress!, channels, $0.baseAddress!) }
                }
                return v
            }
            let m = random.floats(16 * channels, scale: 3)
            let y = forEachLevel("Winograd output, \(channels) channels") { level in
                var y = [Float](repeating: .nan, count: 4 * channels)
                m.withUnsafeBufferPointer { m in
                    y.withUnsafeMutableBufferPointer { y in
                        let base = y.baseAddress!
                        cvk_winograd_output(level.cLevel, m.baseAddress!, channels, base, base + channels,
                                            base + 2 * channels, base + 3 * channels)
                    }
                }
                return y
            }
            for c in 0..<channels {
                for i in 0..<4 {
                    for j in 0..<4 {
                        var expected = 0.0
                        for r in 0..<4 {
                            for s in 0..<4 { expected += bT[i][r] * Double(pixels[4 * r + s][c]) * bT[j][s] }
                        }
                        XCTAssertEqual(Double(v[(4 * i + j) * channels + c]), expected, accuracy: 1e-5,
                                       "input transform, channel \(c), element \(4 * i + j)")
                    }
                }
                for i in 0..<2 {
                    for j in 0..<2 {
                        var expected = 0.0
                        for r in 0..<4 {
                            for s in 0..<4 { expected += aT[i][r] * Double(m[(4 * r + s) * channels + c]) * aT[j][s] }
                        }
                        XCTAssertEqual(Double(y[(2 * i + j) * channels + c]), expected, accuracy: 1e-5,
                                       "output transform, channel \(c), output \(2 * i + j)")
                    }
                }
            }
        }
    }
}
