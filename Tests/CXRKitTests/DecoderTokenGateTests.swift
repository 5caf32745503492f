import XCTest
@testable import CXRKit

/// The decoder precomputes W_ih[:, :e] · E[y] per token when the table is small; with the table turned off
/// it multiplies per step. Both must follow the scalar formulas.
final class DecoderTokenGateTests: XCTestCase {
    let sizes = DecoderSizes()

    func testStepsWithAndWithoutTheTokenGateTable() throws {
        let weights = makeRandomDecoderWeights(sizes, seed: 5)
        let withTable = try AttentionDecoder(weights: weights, config: sizes.config, vocabularySize: sizes.vocabulary)
        let without = try AttentionDecoder(weights: weights, config: sizes.config, vocabularySize: sizes.vocabulary,
                                           tokenGateLimit: 0)
        XCTAssertNotNil(withTable.tokenGates)
        XCTAssertNil(without.tokenGates)
        var random = DecoderTestRandom(seed: 6)
        let features = random.floats(sizes.regions * sizes.features, scale: 2).map { max($0, 0) }
        let naive = NaiveDecoder(weights: weights, sizes: sizes, features: features)
        for decoder in [withTable, without] {
            let context = try decoder.prepare(features: features)
            let workspace = DecoderWorkspace(decoder: decoder, capacity: 2)
            workspace.resetState(rows: 2)
            var states = Array(repeating: (hidden: [Double](repeating: 0, count: sizes.hidden),
                                           cell: [Double](repeating: 0, count: sizes.hidden)), count: 2)
            for tokens in [[1, 4], [6, 6], [0, 2]] {
                try decoder.step(previousTokens: tokens, context: context, workspace: workspace)
                for row in 0..<2 {
                    let expected = naive.step(token: tokens[row], hidden: states[row].hidden, cell: states[row].cell)
                    states[row] = (expected.hidden, expected.cell)
                    let h = sizes.hidden, v = sizes.vocabulary
                    assertDecoderClose(Array(workspace.hidden[(row * h)..<((row + 1) * h)]), expected.hidden,
                                       tolerance: 1e-5, "h, table \(decoder.tokenGates != nil)")
                    assertDecoderClose(Array(workspace.logits[(row * v)..<((row + 1) * v)]), expected.logits,
                                       tolerance: 1e-4, "logits, table \(decoder.tokenGates != nil)")
                }
            }
        }
    }
}
