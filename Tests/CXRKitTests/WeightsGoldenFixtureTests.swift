import Foundation
import XCTest
@testable import CXRSupport
@testable import CXRWeights

/// Loads the golden fixtures written by the PyTorch reference (training/, `safetensors.torch.save_file`):
/// files from the real safetensors library must pass every check and land in the right structs.
final class WeightsGoldenFixtureTests: XCTestCase {
    private var goldenDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden").path
    }

    private func path(_ name: String) throws -> String {
        let path = goldenDirectory + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingFixture("golden fixture \(name) is absent (written by the reference model's fixture script)")
        }
        return path
    }

    private func casesJSON() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try path("cases.json")))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testF32ModelLoadsAndMatchesItsRawTensors() throws {
        let modelPath = try path("model.safetensors")
        let model = try TestWeights.load(path: modelPath)
        let raw = try SafeTensorsFile(contentsOfFile: modelPath)
        let cases = try casesJSON()

        XCTAssertEqual(model.formatVersion, "cxrcaption/1")
        XCTAssertEqual(model.config.gridSize, cases["grid"] as? Int)
        XCTAssertEqual(model.vocabulary.tokens, cases["vocab"] as? [String])
        XCTAssertEqual(model.labels, cases["labels"] as? [String])
        let special = try XCTUnwrap(cases["special_tokens"] as? [String: Int])
        XCTAssertEqual(model.vocabulary.padID, special["pad"])
        XCTAssertEqual(model.vocabulary.startID, special["start"])
        XCTAssertEqual(model.vocabulary.endID, special["end"])
        XCTAssertEqual(model.vocabulary.unknownID, special["nou"])
        XCTAssertEqual(model.vocabulary.join, (cases["join"] as? String) == "" ? .concatenate : .spaceSeparated)
        XCTAssertEqual(model.problems, [])
        XCTAssertEqual(model.tensorSummary.dtypes, [.f32])

        // num_batches_tracked (I64, one per BatchNorm) is ignored; everything else counts as a parameter.
        let counters = raw.tensors.filter { $0.name.hasSuffix(".num_batches_tracked") }
        XCTAssertFalse(counters.isEmpty)
        XCTAssertEqual(Set(model.tensorSummary.ignored), Set(counters.map(\.name)))
        XCTAssertEqual(model.tensorSummary.parameterCount,
                       raw.tensors.filter { !$0.name.hasSuffix(".num_batches_tracked") }.reduce(0) { $0 + $1.elementCount })

        let weights = model.weights
        XCTAssertEqual(weights.encoder.blocks.map(\.count), model.denseNet.blockConfig)
        XCTAssertEqual(weights.encoder.norm5.channels, model.config.featureChannels)
        XCTAssertEqual(weights.decoder.outputContext, try raw.floats(named: "decoder.out_c.weight").values)
        XCTAssertEqual(weights.decoder.embedding, try raw.floats(named: "decoder.embedding.weight").values)
        XCTAssertEqual(weights.encoder.blocks[1][1].conv2.oihw?.weight,
                       try raw.floats(named: "encoder.features.denseblock2.denselayer2.conv2.weight").values)
        XCTAssertEqual(weights.findings?.bias, try raw.floats(named: "findings.bias").values)
        let lstmBias = zip(try raw.floats(named: "decoder.lstm.bias_ih").values,
                           try raw.floats(named: "decoder.lstm.bias_hh").values).map { $0 + $1 }
        XCTAssertEqual(weights.decoder.lstmBias, lstmBias)

        let prefix = "encoder.features.denseblock3.denselayer2.norm1"
        let gamma = try raw.floats(named: prefix + ".weight").values
        let beta = try raw.floats(named: prefix + ".bias").values
        let mean = try raw.floats(named: prefix + ".running_mean").values
        let variance = try raw.floats(named: prefix + ".running_var").values
        let folded = weights.encoder.blocks[2][1].norm1
        for channel in gamma.indices {
            let scale = Double(gamma[channel]) / (Double(variance[channel]) + Double(model.denseNet.bnEps)).squareRoot()
            XCTAssertEqual(folded.scale[channel], Float(scale))
            XCTAssertEqual(folded.shift[channel], Float(Double(beta[channel]) - Double(mean[channel]) * scale))
        }
    }

    func testHalfPrecisionModelsMatchTheF32Model() throws {
        let reference = try TestWeights.load(path: try path("model.safetensors"))
        for (name, dtype, relative) in [("model-f16.safetensors", SafeTensorsDType.f16, Float(0x1p-11)),
                                        ("model-bf16.safetensors", .bf16, Float(0x1p-8))] {
            let model = try TestWeights.load(path: try path(name))
            XCTAssertTrue(model.tensorSummary.dtypes.contains(dtype), "\(name): \(model.tensorSummary.dtypes)")
            XCTAssertEqual(model.tensorSummary.parameterCount, reference.tensorSummary.parameterCount)
            XCTAssertEqual(model.vocabulary, reference.vocabulary)
            XCTAssertEqual(model.config, reference.config)
            let pairs = [(model.weights.decoder.outputContext, reference.weights.decoder.outputContext),
                         (model.weights.encoder.conv0.weight, reference.weights.encoder.conv0.weight),
                         (model.weights.decoder.lstmInputWeight, reference.weights.decoder.lstmInputWeight)]
            for (narrow, wide) in pairs {
                XCTAssertEqual(narrow.count, wide.count)
                for (a, b) in zip(narrow, wide) {
                    XCTAssertLessThanOrEqual(abs(a - b), abs(b) * relative + 1e-7, name)
                }
            }
        }
    }

    func testCasesFileReadsThroughTheGenericReader() throws {
        let model = try TestWeights.load(path: try path("model.safetensors"))
        let cases = try SafeTensorsFile(contentsOfFile: try path("cases.safetensors"))
        let features = try cases.floats(named: "features0")
        let grid = model.config.gridSize
        XCTAssertEqual(features.shape, [model.config.featureChannels, grid, grid])
        XCTAssertEqual(features.values.count, model.config.featureChannels * grid * grid)
        XCTAssertTrue(features.values.allSatisfy { $0 >= 0 })  // V is after a ReLU
        let input = try cases.floats(named: "input0")
        XCTAssertEqual(input.shape, [model.config.inChannels, model.config.inputSize, model.config.inputSize])
        let tokens = try cases.integers(named: "tokens0")
        let logits = try cases.floats(named: "logits0")
        XCTAssertEqual(logits.shape, [tokens.values.count, model.vocabulary.count])
        XCTAssertTrue(tokens.values.allSatisfy { (0..<model.vocabulary.count).contains($0) })
        XCTAssertEqual(try cases.floats(named: "findings0").shape, [model.labels.count])
    }
}
