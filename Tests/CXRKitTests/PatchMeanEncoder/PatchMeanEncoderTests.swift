import XCTest
@testable import CXRDecoding
@testable import CXRIntake
@testable import CXRKit
@testable import CXRModel
@testable import CXRWeights

/// A model whose config names the test-only `patch-mean` encoder runs through `CaptionSession` like a
/// DenseNet one, once its kind is registered; the library's own registry refuses it by name.
final class PatchMeanEncoderTests: XCTestCase {
    /// The one registration line: the library's support plus the new kind.
    static let support = ModelSupport(encoders: EncoderRegistry.builtIn.adding(PatchMeanKind()),
                                      intakeVersion: ImageIntake.version)
    var support: ModelSupport { Self.support }

    static let side = 64, patch = 16, features = 6, vocabularySize = 7

    /// A cxrcaption/1 file: the patch-mean encoder's two tensors, the decoder's (shapes from
    /// `DecoderWeights.expectedTensors`), seeded random values.
    static func modelFile() throws -> [UInt8] {
        let dimensions = DecoderDimensions(hidden: 5, embed: 4, attention: 3, featureChannels: features,
                                           regionCount: (side / patch) * (side / patch))
        var writer = SafeTensorsWriter()
        writer.metadata = [
            ("format", "cxrcaption/1"),
            ("config", """
                {"encoder": "patch-mean", "patch_size": \(patch), "features": \(features), "in_channels": 1, \
                "input_size": \(side), "hidden": 5, "embed": 4, "attention_dim": 3, "mean": [0.5], \
                "std": [0.25], "preprocessing": 1}
                """),
            ("vocab", #"["<pad>", "<start>", "<end>", "<nou>", "heart", "normal", "."]"#),
            ("special_tokens", #"{"pad": 0, "start": 1, "end": 2, "nou": 3}"#),
            ("join", " "),
        ]
        var random = SeededGenerator(seed: 77)
        let tensors = [("encoder.patch.weight", [features, 1]), ("encoder.patch.bias", [features])]
            + DecoderWeights.expectedTensors(dimensions, vocabularySize: vocabularySize)
        for (name, shape) in tensors {
            try writer.add(name, shape: shape, values: random.floats(shape.reduce(1, *), in: -1...1))
        }
        return writer.serialized()
    }

    func testAModelNamingTheEncoderCaptionsThroughTheSession() throws {
        let bytes = try Self.modelFile()
        let model = try bytes.withUnsafeBytes { try CaptionModel(bytes: $0, support: support) }
        XCTAssertEqual(model.config.encoderKind, "patch-mean")
        XCTAssertEqual(model.config.featureChannels, Self.features)
        XCTAssertEqual(model.config.regionCount, 16)
        XCTAssertEqual(model.file.config.encoder.summary, "patch means, patch 16, 6 features")

        // V is the encoder's definition, computed here independently.
        let session = try CaptionSession(model: model)
        let input = (0..<(Self.side * Self.side)).map { Float(($0 * 29) % 97) / 48 - 1 }
        let features = try session.encode(modelInput: input)
        let tensors = try bytes.withUnsafeBytes { try SafeTensorsReader(bytes: $0) }
        let weight = try tensors.floats("encoder.patch.weight"), bias = try tensors.floats("encoder.patch.bias")
        let grid = Self.side / Self.patch
        for region in 0..<(grid * grid) {
            let (gy, gx) = (region / grid, region % grid)
            var mean = 0.0
            for y in (gy * Self.patch)..<((gy + 1) * Self.patch) {
                for x in (gx * Self.patch)..<((gx + 1) * Self.patch) { mean += Double(input[y * Self.side + x]) }
            }
            mean /= Double(Self.patch * Self.patch)
            for feature in 0..<Self.features {
                let expected = max(Double(bias[feature]) + Double(weight[feature]) * mean, 0)
                XCTAssertEqual(Double(features[region * Self.features + feature]), expected, accuracy: 1e-6)
            }
        }

        // The session's search over that V is the decoder's own beam search.
        let parameters = GenerationParameters()
        let direct = try BeamSearch.run(decoder: model.decoder, context: model.decoder.prepare(features: features),
                                        vocabulary: model.vocabulary, parameters: parameters,
                                        workspace: DecoderWorkspace(decoder: model.decoder))
        XCTAssertEqual(try session.generate(modelInput: input, parameters: parameters), direct)

        // And from pixels, through intake, like any model.
        let pixels = (0..<(80 * 72)).map { UInt8(truncatingIfNeeded: ($0 * 7) ^ ($0 >> 5)) }
        let captions = try pixels.withUnsafeBytes {
            try session.generate(pixels: $0, image: ImageDescriptor(width: 80, height: 72, format: .gray8))
        }
        XCTAssertEqual(captions.count, 3)
        for caption in captions {
            XCTAssertTrue(caption.logProbability.isFinite && caption.logProbability <= 0)
            XCTAssertEqual(caption.attention.count, caption.tokens.count * 16)
        }
    }

    func testTheLibraryAloneRefusesTheUnregisteredKind() throws {
        let bytes = try Self.modelFile()
        assertCXRError(.invalidModel, #"config encoder is "patch-mean"; this library knows "densenet""#) {
            try bytes.withUnsafeBytes { try CaptionModel(bytes: $0) }
        }
    }
}
