import Foundation
import XCTest
@testable import CXRDenseNet
@testable import CXRWeights

/// The encoder against the PyTorch reference's features on the committed golden fixtures
/// (Fixtures/golden: model.safetensors and cases.safetensors with `input{i}` [C, S, S] and
/// `features{i}` [F, G, G], written by training/).
final class DenseNetGoldenTests: XCTestCase {
    private var goldenDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden")
    }

    func testFeaturesMatchPyTorchReference() throws {
        let modelPath = goldenDirectory.appendingPathComponent("model.safetensors").path
        let casesPath = goldenDirectory.appendingPathComponent("cases.safetensors").path
        guard FileManager.default.fileExists(atPath: modelPath), FileManager.default.fileExists(atPath: casesPath) else {
            throw MissingFixture("golden fixtures not present at \(goldenDirectory.path)")
        }
        let model = try TestWeights.load(path: modelPath)
        let encoder = try DenseNetEncoder(weights: model.weights.encoder, configuration: model.denseNet)
        let cases = try SafeTensorsFile(contentsOfFile: casesPath)
        let workspace = try encoder.makeWorkspace()
        var index = 0
        while cases.tensor(named: "input\(index)") != nil {
            let input = try cases.floats(named: "input\(index)")
            let features = try cases.floats(named: "features\(index)")
            XCTAssertEqual(input.shape, [model.config.inChannels, model.config.inputSize, model.config.inputSize])
            XCTAssertEqual(features.shape, [encoder.featureChannels, encoder.gridSize, encoder.gridSize])
            let expected = PlanarImage(channels: features.shape[0], height: features.shape[1],
                                       width: features.shape[2], values: features.values).channelsLast
            let actual = try encoder.encode(input: input.values, workspace: workspace, threads: 1)
            let error = assertClose(actual, expected, relativeTolerance: 1e-4, "golden case \(index)")
            print("golden case \(index): max |V_swift - V_torch| / max |V_torch| = \(error)")
            index += 1
        }
        XCTAssertGreaterThan(index, 0, "cases.safetensors holds no input0")
    }
}
