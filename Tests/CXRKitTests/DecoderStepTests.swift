import XCTest
@testable import CXRDecoding
@testable import CXRModel
@testable import CXRSupport

/// A deterministic random source for test weights (SplitMix64).
struct DecoderTestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float.random(in: -scale...scale, using: &self) }
    }
}

/// Sizes of a small test decoder.
struct DecoderSizes {
    var features = 6, regions = 4, hidden = 5, embed = 3, attention = 4, vocabulary = 9

    var dimensions: DecoderDimensions {
        DecoderDimensions(hidden: hidden, embed: embed, attention: attention, featureChannels: features,
                          regionCount: regions)
    }
}

func makeRandomDecoderWeights(_ sizes: DecoderSizes, seed: UInt64) -> DecoderWeights {
    var random = DecoderTestRandom(seed: seed)
    let h = sizes.hidden, e = sizes.embed, f = sizes.features, a = sizes.attention, v = sizes.vocabulary
    return DecoderWeights(
        embedding: random.floats(v * e), lstmInputWeight: random.floats(4 * h * (e + f), scale: 0.6),
        lstmHiddenWeight: random.floats(4 * h * h, scale: 0.6), lstmBias: random.floats(4 * h, scale: 0.3),
        attentionHidden: random.floats(a * h), attentionFeature: random.floats(a * f, scale: 0.5),
        attentionFeatureBias: random.floats(a, scale: 0.3), attentionScore: random.floats(a, scale: 1.5),
        outputHidden: random.floats(v * h, scale: 1.5), outputBias: random.floats(v, scale: 0.5),
        outputContext: random.floats(v * f, scale: 1.5))
}

/// The decoder step written out from the formulas in docs/WEIGHTS.md, scalar, in Double.
struct NaiveDecoder {
    let weights: DecoderWeights
    let sizes: DecoderSizes
    let features: [Float]  // [R, F]

    var mean: [Double] {
        (0..<sizes.features).map { channel in
            (0..<sizes.regions).reduce(0.0) { $0 + Double(features[$1 * sizes.features + channel]) }
                / Double(sizes.regions)
        }
    }

    func step(token: Int, hidden: [Double], cell: [Double])
        -> (hidden: [Double], cell: [Double], attention: [Double], logits: [Double]) {
        let h = sizes.hidden, e = sizes.embed, f = sizes.features, a = sizes.attention
        let r = sizes.regions, v = sizes.vocabulary
        func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        let x = (0..<e).map { Double(weights.embedding[token * e + $0]) } + mean
        var gates = [Double](repeating: 0, count: 4 * h)
        for gate in 0..<(4 * h) {
            var sum = Double(weights.lstmBias[gate])
            for j in 0..<(e + f) { sum += Double(weights.lstmInputWeight[gate * (e + f) + j]) * x[j] }
            for j in 0..<h { sum += Double(weights.lstmHiddenWeight[gate * h + j]) * hidden[j] }
            gates[gate] = sum
        }
        var newCell = [Double](repeating: 0, count: h), newHidden = newCell
        for u in 0..<h {
            newCell[u] = sigmoid(gates[h + u]) * cell[u] + sigmoid(gates[u]) * tanh(gates[2 * h + u])
            newHidden[u] = sigmoid(gates[3 * h + u]) * tanh(newCell[u])
        }
        var scores = [Double](repeating: 0, count: r)
        for region in 0..<r {
            var score = 0.0
            for d in 0..<a {
                var pre = Double(weights.attentionFeatureBias[d])
                for j in 0..<h { pre += Double(weights.attentionHidden[d * h + j]) * newHidden[j] }
                for j in 0..<f {
                    pre += Double(weights.attentionFeature[d * f + j]) * Double(features[region * f + j])
                }
                score += Double(weights.attentionScore[d]) * tanh(pre)
            }
            scores[region] = score
        }
        let top = scores.max()!
        let exps = scores.map { exp($0 - top) }
        let alpha = exps.map { $0 / exps.reduce(0, +) }
        let context = (0..<f).map { j in
            (0..<r).reduce(0.0) { $0 + alpha[$1] * Double(features[$1 * f + j]) }
        }
        let logits = (0..<v).map { w -> Double in
            var sum = Double(weights.outputBias[w])
            for j in 0..<h { sum += Double(weights.outputHidden[w * h + j]) * newHidden[j] }
            for j in 0..<f { sum += Double(weights.outputContext[w * f + j]) * context[j] }
            return sum
        }
        return (newHidden, newCell, alpha, logits)
    }
}

func assertDecoderClose(_ actual: [Float], _ expected: [Double], tolerance: Double, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): count", file: file, line: line)
    for (index, (a, e)) in zip(actual, expected).enumerated() where !(abs(Double(a) - e) <= tolerance) {
        XCTFail("\(what)[\(index)] = \(a), expected \(e)", file: file, line: line)
        return
    }
}

/// Runs `decoder` from a zero state through `steps` (each step: the previous token of every hypothesis)
/// and checks every hypothesis's h, c, attention and logits against `NaiveDecoder` after each step.
func assertStepsFollowNaive(_ decoder: AttentionDecoder, features: [Float], weights: DecoderWeights,
                            sizes: DecoderSizes, steps: [[Int]], _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
    let rows = steps[0].count, h = sizes.hidden, v = sizes.vocabulary, r = sizes.regions
    let naive = NaiveDecoder(weights: weights, sizes: sizes, features: features)
    let context = try decoder.prepare(features: features)
    let workspace = DecoderWorkspace(decoder: decoder, capacity: rows)
    workspace.resetState(rows: rows)
    var states = Array(repeating: (hidden: [Double](repeating: 0, count: h), cell: [Double](repeating: 0, count: h)),
                       count: rows)
    for (step, tokens) in steps.enumerated() {
        try decoder.step(previousTokens: tokens, context: context, workspace: workspace)
        for row in 0..<rows {
            let expected = naive.step(token: tokens[row], hidden: states[row].hidden, cell: states[row].cell)
            states[row] = (expected.hidden, expected.cell)
            let at = "\(what), step \(step), row \(row)"
            assertDecoderClose(Array(workspace.hidden[(row * h)..<((row + 1) * h)]), expected.hidden,
                               tolerance: 1e-5, "h, \(at)", file: file, line: line)
            assertDecoderClose(Array(workspace.cell[(row * h)..<((row + 1) * h)]), expected.cell,
                               tolerance: 1e-5, "c, \(at)", file: file, line: line)
            assertDecoderClose(Array(workspace.attention[(row * r)..<((row + 1) * r)]), expected.attention,
                               tolerance: 1e-5, "alpha, \(at)", file: file, line: line)
            assertDecoderClose(Array(workspace.logits[(row * v)..<((row + 1) * v)]), expected.logits,
                               tolerance: 1e-4, "logits, \(at)", file: file, line: line)
        }
    }
}

final class DecoderStepTests: XCTestCase {
    let sizes = DecoderSizes()

    func makeDecoder(seed: UInt64 = 1) throws -> (AttentionDecoder, DecoderWeights) {
        let weights = makeRandomDecoderWeights(sizes, seed: seed)
        return (try AttentionDecoder(weights: weights, dimensions: sizes.dimensions,
                                     vocabularySize: sizes.vocabulary), weights)
    }

    func testPrepareComputesMeanFeatures() throws {
        let (decoder, _) = try makeDecoder()
        var random = DecoderTestRandom(seed: 7)
        let features = random.floats(sizes.regions * sizes.features)
        let context = try decoder.prepare(features: features)
        let naive = NaiveDecoder(weights: makeRandomDecoderWeights(sizes, seed: 1), sizes: sizes,
                                 features: features)
        assertDecoderClose(context.meanFeatures, naive.mean, tolerance: 1e-6, "V_gav")
    }

    /// Three batched steps of three distinct hypotheses against the scalar formulas.
    func testBatchedStepsMatchScalarFormulas() throws {
        let (decoder, weights) = try makeDecoder()
        var random = DecoderTestRandom(seed: 11)
        let features = random.floats(sizes.regions * sizes.features, scale: 2).map { max($0, 0) }
        // hypotheses 0, 1, 2 are fed [2, 5, 8], [0, 0, 3] and [7, 1, 4]
        try assertStepsFollowNaive(decoder, features: features, weights: weights, sizes: sizes,
                                   steps: [[2, 0, 7], [5, 0, 1], [8, 3, 4]], "batched")
    }

    func testBatchedEqualsOneRowAtATime() throws {
        let (decoder, _) = try makeDecoder(seed: 3)
        var random = DecoderTestRandom(seed: 5)
        let context = try decoder.prepare(features: random.floats(sizes.regions * sizes.features))
        let sequences = [[1, 6, 2, 2], [4, 4, 0, 8], [3, 7, 5, 1]]
        let batched = DecoderWorkspace(decoder: decoder)
        batched.resetState(rows: 3)
        var batchedLogits: [[Float]] = [[], [], []]
        for step in 0..<4 {
            try decoder.step(previousTokens: sequences.map { $0[step] }, context: context, workspace: batched)
            for row in 0..<3 {
                batchedLogits[row] += batched.logits[(row * sizes.vocabulary)..<((row + 1) * sizes.vocabulary)]
            }
        }
        for row in 0..<3 {
            let single = try decoder.teacherForcedOutputs(previousTokens: sequences[row], context: context,
                                                          workspace: DecoderWorkspace(decoder: decoder))
            assertDecoderClose(single.logits, batchedLogits[row].map(Double.init), tolerance: 1e-6, "row \(row)")
        }
    }

    func testReorderStateFollowsParents() throws {
        let (decoder, _) = try makeDecoder(seed: 4)
        var random = DecoderTestRandom(seed: 9)
        let context = try decoder.prepare(features: random.floats(sizes.regions * sizes.features))
        let workspace = DecoderWorkspace(decoder: decoder)
        workspace.resetState(rows: 3)
        try decoder.step(previousTokens: [1, 2, 3], context: context, workspace: workspace)
        let h = sizes.hidden
        let before = (0..<3).map { Array(workspace.hidden[($0 * h)..<(($0 + 1) * h)]) }
        let cellsBefore = (0..<3).map { Array(workspace.cell[($0 * h)..<(($0 + 1) * h)]) }
        workspace.reorderState(parents: [2, 0, 2])
        XCTAssertEqual(workspace.rows, 3)
        for (row, parent) in [2, 0, 2].enumerated() {
            XCTAssertEqual(Array(workspace.hidden[(row * h)..<((row + 1) * h)]), before[parent])
            XCTAssertEqual(Array(workspace.cell[(row * h)..<((row + 1) * h)]), cellsBefore[parent])
        }
        XCTAssertNotEqual(before[0], before[2])
    }

    func testTeacherForcingMatchesScalarFormulas() throws {
        let (decoder, weights) = try makeDecoder(seed: 8)
        var random = DecoderTestRandom(seed: 2)
        let features = random.floats(sizes.regions * sizes.features)
        let context = try decoder.prepare(features: features)
        let naive = NaiveDecoder(weights: weights, sizes: sizes, features: features)
        let inputs = [1, 4, 4, 6, 0]
        let output = try decoder.teacherForcedOutputs(previousTokens: inputs, context: context,
                                                      workspace: DecoderWorkspace(decoder: decoder))
        var hidden = [Double](repeating: 0, count: sizes.hidden), cell = hidden
        var expectedLogits: [Double] = [], expectedAttention: [Double] = []
        for token in inputs {
            let step = naive.step(token: token, hidden: hidden, cell: cell)
            (hidden, cell) = (step.hidden, step.cell)
            expectedLogits += step.logits
            expectedAttention += step.attention
        }
        assertDecoderClose(output.logits, expectedLogits, tolerance: 1e-4, "teacher-forced logits")
        assertDecoderClose(output.attention, expectedAttention, tolerance: 1e-5, "teacher-forced attention")
    }

    func testRejectsBadInputs() throws {
        let (decoder, _) = try makeDecoder()
        XCTAssertThrowsError(try decoder.prepare(features: [1, 2, 3])) { error in
            XCTAssertEqual(error as? CXRError, CXRError(.invalidArgument,
                "decoder features hold 3 values, expected 4 regions x 6 channels"))
        }
        let context = try decoder.prepare(features: [Float](repeating: 0.5, count: 24))
        let workspace = DecoderWorkspace(decoder: decoder)
        workspace.resetState(rows: 1)
        XCTAssertThrowsError(try decoder.step(previousTokens: [9], context: context, workspace: workspace)) {
            XCTAssertEqual($0 as? CXRError, CXRError(.invalidArgument, "token id 9 is outside 0..<9"))
        }
        XCTAssertThrowsError(try decoder.step(previousTokens: [1, 2], context: context, workspace: workspace)) {
            XCTAssertEqual(($0 as? CXRError)?.kind, .invalidArgument)
        }
        XCTAssertThrowsError(try decoder.teacherForcedOutputs(previousTokens: [-1], context: context,
                                                              workspace: workspace)) {
            XCTAssertEqual($0 as? CXRError, CXRError(.invalidArgument, "token id -1 is outside 0..<9"))
        }
    }

    /// Features large enough that the decoder's sums overflow: an error naming where, never NaN logits.
    func testNonFiniteContextAndLogitsAreErrors() throws {
        var weights = makeRandomDecoderWeights(sizes, seed: 3)
        weights.attentionFeature = [Float](repeating: 1, count: weights.attentionFeature.count)
        let huge = [Float](repeating: 1e38, count: sizes.regions * sizes.features)  // 6 x 1e38 overflows
        let decoder = try AttentionDecoder(weights: weights, dimensions: sizes.dimensions,
                                           vocabularySize: sizes.vocabulary)
        assertCXRError(.invalidModel, "decoder image context (W_v V) is not finite") {
            try decoder.prepare(features: huge)
        }
        // W_v V small, W_ec V too large: P is where it overflows; without P, the step's logits are.
        weights.attentionFeature = [Float](repeating: 0, count: weights.attentionFeature.count)
        weights.outputContext = [Float](repeating: 1e9, count: weights.outputContext.count)
        let large = [Float](repeating: 1e30, count: sizes.regions * sizes.features)
        let withTable = try AttentionDecoder(weights: weights, dimensions: sizes.dimensions,
                                             vocabularySize: sizes.vocabulary)
        assertCXRError(.invalidModel, "decoder image context (P = W_ec V) is not finite") {
            try withTable.prepare(features: large)
        }
        let withoutTable = try AttentionDecoder(weights: weights, dimensions: sizes.dimensions,
                                                vocabularySize: sizes.vocabulary, contextTableRegionLimit: 0)
        let context = try withoutTable.prepare(features: large)
        let vocabulary = Vocabulary(tokens: (0..<sizes.vocabulary).map { "t\($0)" }, padID: 0, startID: 1, endID: 2,
                                    unknownID: 3, join: .spaceSeparated)
        assertCXRError(.invalidModel, "decoder logits are not finite at step 1") {
            try BeamSearch.run(decoder: withoutTable, context: context, vocabulary: vocabulary,
                               parameters: GenerationParameters(), workspace: DecoderWorkspace(decoder: withoutTable))
        }
    }

    func testRejectsWeightsOfTheWrongSize() throws {
        var weights = makeRandomDecoderWeights(sizes, seed: 1)
        weights.outputContext.removeLast()
        XCTAssertThrowsError(try AttentionDecoder(weights: weights, dimensions: sizes.dimensions,
                                                  vocabularySize: sizes.vocabulary)) {
            XCTAssertEqual($0 as? CXRError, CXRError(.invalidModel,
                "decoder.out_c.weight holds 53 values, expected 54"))
        }
        XCTAssertThrowsError(try AttentionDecoder(weights: makeRandomDecoderWeights(sizes, seed: 1),
                                                  dimensions: sizes.dimensions, vocabularySize: 10)) {
            XCTAssertEqual(($0 as? CXRError)?.kind, .invalidModel)
        }
    }
}

final class DecoderFindingsHeadTests: XCTestCase {
    func testProbabilitiesAreSigmoidOfLinear() throws {
        var random = DecoderTestRandom(seed: 21)
        let weights = (weight: random.floats(3 * 6, scale: 2), bias: random.floats(3))
        let head = try FindingsHead(weight: weights.weight, bias: weights.bias, featureChannels: 6)
        let mean = random.floats(6)
        let expected = (0..<3).map { label -> Double in
            var z = Double(weights.bias[label])
            for j in 0..<6 { z += Double(weights.weight[label * 6 + j]) * Double(mean[j]) }
            return 1 / (1 + exp(-z))
        }
        assertDecoderClose(try head.probabilities(meanFeatures: mean), expected, tolerance: 1e-6, "findings")
        XCTAssertThrowsError(try head.probabilities(meanFeatures: [1])) {
            XCTAssertEqual($0 as? CXRError, CXRError(.invalidArgument,
                "findings head got 1 mean features, expected 6"))
        }
        assertCXRError(.invalidModel, "findings head output is not finite") {
            try FindingsHead(weight: [Float](repeating: 1e9, count: 18), bias: [0, 0, 0], featureChannels: 6)
                .probabilities(meanFeatures: [Float](repeating: 1e30, count: 6))
        }
        XCTAssertThrowsError(try FindingsHead(weight: [1, 2], bias: [0], featureChannels: 6)) {
            XCTAssertEqual(($0 as? CXRError)?.kind, .invalidModel)
        }
    }
}
