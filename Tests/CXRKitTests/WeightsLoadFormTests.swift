import XCTest
@testable import CXRDenseNet
@testable import CXRKernels
@testable import CXRKit
@testable import CXRModel
@testable import CXRSupport
@testable import CXRWeights

/// What `CaptionModel` loads: 3x3 convolutions Winograd-transformed while reading (no raw copy kept), the
/// decoder's tensors and token-gate table on a second thread (`ConcurrentPair`). Both must give exactly
/// what the plain load gives, and bad files the same named errors.
final class WeightsLoadFormTests: XCTestCase {
    func testWinogradFormEqualsTransformingTheOIHWWeights() throws {
        let path = NSTemporaryDirectory() + "weights-winograd-\(getpid()).safetensors"
        defer { unlink(path) }
        for dtype in [SafeTensorsDType.f32, .f16, .bf16] {
            var tiny = TinyModel(withFindings: true)
            tiny.setDType(dtype)
            try tiny.writer().write(toFile: path)
            let plain = try TestWeights.load(path: path)
            let fromFile = try TestWeights.load(path: path, threeByThree: .winograd)
            let fromBytes = try tiny.bytes().withUnsafeBytes { try TestWeights.load(bytes: $0, threeByThree: .winograd) }
            for loaded in [fromFile, fromBytes] {
                for (block, layers) in plain.weights.encoder.blocks.enumerated() {
                    for (index, layer) in layers.enumerated() {
                        let raw = try XCTUnwrap(layer.conv2.oihw)
                        let expected = WinogradConvolution(outChannels: raw.outChannels, inChannels: raw.inChannels,
                                                           oihw: raw.weight)
                        guard case .winograd(let got) = loaded.weights.encoder.blocks[block][index].conv2 else {
                            return XCTFail("\(dtype) block \(block) layer \(index): not Winograd-transformed")
                        }
                        XCTAssertEqual(got.transformed, expected.transformed, "\(dtype) block \(block)")
                        XCTAssertEqual([got.outChannels, got.inChannels], [raw.outChannels, raw.inChannels])
                    }
                }
                XCTAssertEqual(loaded.weights.decoder.lstmInputWeight, plain.weights.decoder.lstmInputWeight)
                XCTAssertEqual(loaded.weights.findings?.weight, plain.weights.findings?.weight)
            }
            // The encoders built both ways agree exactly (same U, same kernels).
            let image: [Float] = (0..<(64 * 64)).map { (index: Int) -> Float in Float((index * 37) % 101) / 50 - 1 }
            let a = try DenseNetEncoder(weights: plain.weights.encoder, configuration: plain.denseNet)
            let b = try DenseNetEncoder(weights: fromFile.weights.encoder, configuration: fromFile.denseNet)
            XCTAssertEqual(try a.encode(input: image, workspace: a.makeWorkspace(), threads: 1),
                           try b.encode(input: image, workspace: b.makeWorkspace(), threads: 1), "\(dtype)")
            assertCXRError(.invalidArgument, "was loaded Winograd-transformed") {
                _ = try DenseNetEncoder(weights: fromFile.weights.encoder, configuration: fromFile.denseNet, winograd: false)
            }
        }
    }

    func testTheLoadedDecoderHasTheTokenGateTable() throws {
        let tiny = TinyModel()
        let loaded = try tiny.load()
        // The model's decoder is built on the loader's second thread, its table with it.
        let table = try XCTUnwrap(try tiny.captionModel().decoder.tokenGates)
        let weights = loaded.weights.decoder, config = loaded.config
        let e = config.embed, width = 4 * config.hidden, f = config.featureChannels
        XCTAssertEqual(table.count, loaded.vocabulary.count * width)
        for token in 0..<loaded.vocabulary.count {
            for gate in 0..<width {
                var sum = 0.0
                for p in 0..<e {
                    sum += Double(weights.embedding[token * e + p]) * Double(weights.lstmInputWeight[gate * (e + f) + p])
                }
                XCTAssertEqual(Double(table[token * width + gate]), sum, accuracy: 1e-5 * max(1, abs(sum)))
            }
        }
        XCTAssertEqual(try loaded.decoder().tokenGates, table, "the same product wherever the decoder is built")
        let off = try AttentionDecoder(weights: weights, dimensions: config.decoderDimensions,
                                       vocabularySize: loaded.vocabulary.count, tokenGateLimit: 0)
        XCTAssertNil(off.tokenGates, "the limit still turns the table off")
    }

    func testNonFiniteThreeByThreeWeightsAreRejectedByNameInEveryForm() throws {
        let name = "encoder.features.denseblock2.denselayer1.conv2.weight"
        var tiny = TinyModel()
        let position = tiny.tensors.firstIndex { $0.name == name }!
        tiny.tensors[position].values[9] = .nan
        let bytes = try tiny.bytes()
        for form in [ThreeByThreeForm.oihw, .winograd] {
            assertCXRError(.invalidModel, "tensor \(name)[9] is nan; model parameters must be finite") {
                _ = try bytes.withUnsafeBytes { try TestWeights.load(bytes: $0, threeByThree: form) }
            }
        }
        assertCXRError(.invalidModel, "tensor \(name)[9] is nan") {
            _ = try bytes.withUnsafeBytes { try CaptionModel(bytes: $0) }
        }
    }

    func testEncoderErrorsWinOverDecoderErrors() throws {
        // Both threads fail; the encoder's (foreground) error is the one reported, whatever the timing.
        var tiny = TinyModel()
        for (name, index) in [("encoder.features.norm5.running_mean", 0), ("decoder.out_h.weight", 0)] {
            let position = tiny.tensors.firstIndex { $0.name == name }!
            tiny.tensors[position].values[index] = .infinity
        }
        let bytes = try tiny.bytes()
        for _ in 0..<20 {
            assertCXRError(.invalidModel, "tensor encoder.features.norm5.running_mean[0] is inf") {
                _ = try bytes.withUnsafeBytes { try CaptionModel(bytes: $0) }  // the two-thread load
            }
        }
    }

    func testConcurrentPairReturnsBothResultsAndPrefersTheForegroundError() throws {
        struct Failure: Error, Equatable { var side: String }
        let (a, b) = try ConcurrentPair.run({ (0..<1000).reduce(0, +) }) { (0..<10).map { $0 * 2 } }
        XCTAssertEqual(a, 499_500)
        XCTAssertEqual(b, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
        XCTAssertThrowsError(try ConcurrentPair.run({ 1 }) { () throws -> Int in throw Failure(side: "background") }) {
            XCTAssertEqual($0 as? Failure, Failure(side: "background"))
        }
        XCTAssertThrowsError(try ConcurrentPair.run({ () throws -> Int in throw Failure(side: "foreground") }) {
            () throws -> Int in throw Failure(side: "background")
        }) {
            XCTAssertEqual($0 as? Failure, Failure(side: "foreground"))
        }
    }
}
