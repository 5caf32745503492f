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
        for decoder in [withTable, without] {
            try assertStepsFollowNaive(decoder, features: features, weights: weights, sizes: sizes,
                                       steps: [[1, 4], [6, 6], [0, 2]], "table \(decoder.tokenGates != nil)")
        }
    }
}
