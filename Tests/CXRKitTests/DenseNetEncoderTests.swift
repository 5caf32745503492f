import Foundation
import XCTest
@testable import CXRDenseNet
@testable import CXRSupport

final class DenseNetEncoderTests: XCTestCase {
    private func checkAgainstNaive(_ config: DenseNetConfiguration, seed: UInt64, file: StaticString = #filePath,
                                   line: UInt = #line) throws {
        let weights = DenseNetTestModel.randomWeights(config, seed: seed)
        let encoder = try DenseNetEncoder(weights: weights, configuration: config)
        var random = SeededGenerator(seed: seed &+ 1000)
        let side = config.input.size
        let input = PlanarImage(channels: config.input.channels, height: side, width: side,
                                values: random.floats(config.input.channels * side * side, in: -2...2))
        let expected = DenseNetTestModel.naiveForward(weights, input: input)
        XCTAssertEqual(expected.channels, encoder.featureChannels, file: file, line: line)
        XCTAssertEqual(expected.height, encoder.gridSize, file: file, line: line)
        XCTAssertEqual(encoder.outputCount, expected.values.count, file: file, line: line)
        XCTAssertTrue(expected.values.contains { $0 > 0.1 }, "reference features are degenerate", file: file, line: line)

        let actual = try encoder.encode(input: input.values, workspace: encoder.makeWorkspace(), threads: 1)
        assertClose(actual, DenseNetTestModel.regionMajor(expected), relativeTolerance: 1e-4,
                    "encoder vs naive", file: file, line: line)
    }

    func testTinyConfigMatchesNaiveDefinition() throws {
        let config = DenseNetTestModel.config(blocks: [2, 2], growth: 4, bnSize: 2, initFeatures: 8, inChannels: 1,
                                              inputSize: 64)
        try checkAgainstNaive(config, seed: 42)
    }

    func testFourBlocksOnGoldenSizedConfig() throws {
        let config = DenseNetTestModel.config(blocks: [2, 2, 2, 2], growth: 8, bnSize: 2, initFeatures: 16,
                                              inChannels: 1, inputSize: 64)
        XCTAssertEqual(try DenseNetEncoder(weights: DenseNetTestModel.randomWeights(config, seed: 1),
                                           configuration: config).regionCount, config.regionCount)
        try checkAgainstNaive(config, seed: 7)
    }

    func testOddSidesThreeChannelsAndAnEmptyBlock() throws {
        // input 60: conv0 30, pool0 15, blocks at 15, 7 and 3 pixels (odd sides: pooling drops edges).
        let config = DenseNetTestModel.config(blocks: [2, 0, 3], growth: 3, bnSize: 3, initFeatures: 5,
                                              inChannels: 3, inputSize: 60)
        try checkAgainstNaive(config, seed: 9)
    }

    func testWorkspaceReuseIsExactAndThreadCountDoesNotMatter() throws {
        let config = DenseNetTestModel.config(blocks: [2, 2], growth: 4, bnSize: 2, initFeatures: 8, inChannels: 1,
                                              inputSize: 64)
        let encoder = try DenseNetEncoder(weights: DenseNetTestModel.randomWeights(config, seed: 3), configuration: config)
        var random = SeededGenerator(seed: 4)
        let first = random.floats(encoder.inputCount, in: -2...2)
        let second = random.floats(encoder.inputCount, in: -2...2)
        let workspace = try encoder.makeWorkspace()
        let a = try encoder.encode(input: first, workspace: workspace, threads: 1)
        let b = try encoder.encode(input: second, workspace: workspace, threads: 1)
        let again = try encoder.encode(input: first, workspace: workspace, threads: 1)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a, again)
        let fresh = try encoder.encode(input: first, workspace: encoder.makeWorkspace(), threads: 1)
        XCTAssertEqual(a, fresh)
        let allCores = try encoder.encode(input: first, workspace: workspace, threads: 0)
        assertClose(allCores, a, relativeTolerance: 1e-5, "threads 0 vs 1")
    }

    func testOneEncoderSharedByConcurrentCallersWithOwnWorkspaces() throws {
        let config = DenseNetTestModel.config(blocks: [2, 2], growth: 4, bnSize: 2, initFeatures: 8, inChannels: 1,
                                              inputSize: 64)
        let encoder = try DenseNetEncoder(weights: DenseNetTestModel.randomWeights(config, seed: 11), configuration: config)
        var random = SeededGenerator(seed: 12)
        let inputs = (0..<4).map { _ in random.floats(encoder.inputCount, in: -2...2) }
        let serial = try inputs.map { try encoder.encode(input: $0, workspace: encoder.makeWorkspace(), threads: 1) }
        let results = ConcurrentResults(count: inputs.count)
        DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
            guard let workspace = try? encoder.makeWorkspace() else { return }
            for _ in 0..<3 {
                results.store(index, try? encoder.encode(input: inputs[index], workspace: workspace, threads: 1))
            }
        }
        for index in inputs.indices {
            XCTAssertEqual(results.value(index), serial[index], "caller \(index)")
        }
    }

    func testAbortStopsBetweenDenseLayersAndLeavesWorkspaceUsable() throws {
        let config = DenseNetTestModel.config(blocks: [2, 3], growth: 4, bnSize: 2, initFeatures: 8, inChannels: 1,
                                              inputSize: 64)
        let encoder = try DenseNetEncoder(weights: DenseNetTestModel.randomWeights(config, seed: 5), configuration: config)
        let input = SeededGenerator(seed: 6).floatsCopy(encoder.inputCount)
        let workspace = try encoder.makeWorkspace()
        var polls = 0
        XCTAssertThrowsError(try encoder.encode(input: input, workspace: workspace, threads: 1,
                                                shouldAbort: { polls += 1; return polls == 3 })) { error in
            XCTAssertEqual((error as? CXRError)?.kind, .aborted)
        }
        XCTAssertEqual(polls, 3)
        var total = 0
        let completed = try encoder.encode(input: input, workspace: workspace, threads: 1,
                                           shouldAbort: { total += 1; return false })
        XCTAssertEqual(total, 5, "polled once before each of the 5 dense layers")
        XCTAssertEqual(completed, try encoder.encode(input: input, workspace: encoder.makeWorkspace(), threads: 1))
    }

    func testRejectsMismatchedWeightsInputsAndWorkspaces() throws {
        let config = DenseNetTestModel.config(blocks: [2, 2], growth: 4, bnSize: 2, initFeatures: 8, inChannels: 1,
                                              inputSize: 64)
        var weights = DenseNetTestModel.randomWeights(config, seed: 8)
        weights.blocks[1][1].conv1.inChannels += 1
        XCTAssertThrowsError(try DenseNetEncoder(weights: weights, configuration: config)) { error in
            XCTAssertEqual((error as? CXRError)?.kind, .invalidModel)
            XCTAssertTrue("\(error)".contains("denseblock2.denselayer2.conv1.weight"), "\(error)")
        }
        weights = DenseNetTestModel.randomWeights(config, seed: 8)
        weights.norm5.shift.removeLast()
        XCTAssertThrowsError(try DenseNetEncoder(weights: weights, configuration: config)) { error in
            XCTAssertTrue("\(error)".contains("norm5"), "\(error)")
        }
        weights = DenseNetTestModel.randomWeights(config, seed: 8)
        weights.transitions.removeAll()
        XCTAssertThrowsError(try DenseNetEncoder(weights: weights, configuration: config))

        var tooSmall = config
        tooSmall.input.size = 2
        XCTAssertThrowsError(try DenseNetEncoder(weights: DenseNetTestModel.randomWeights(tooSmall, seed: 1),
                                                 configuration: tooSmall)) { error in
            XCTAssertTrue("\(error)".contains("input_size 2"), "\(error)")
        }
        var huge = config
        huge.input.size = 1 << 40
        XCTAssertThrowsError(try DenseNetPlan(configuration: huge)) { error in
            XCTAssertEqual((error as? CXRError)?.kind, .outOfMemory)
        }

        let encoder = try DenseNetEncoder(weights: DenseNetTestModel.randomWeights(config, seed: 8), configuration: config)
        XCTAssertThrowsError(try encoder.encode(input: [1, 2, 3], workspace: encoder.makeWorkspace())) { error in
            XCTAssertEqual((error as? CXRError)?.kind, .invalidArgument)
            XCTAssertTrue("\(error)".contains("3 floats"), "\(error)")
        }
        var other = config
        other.input.size = 96
        let otherEncoder = try DenseNetEncoder(weights: DenseNetTestModel.randomWeights(other, seed: 8), configuration: other)
        let input = [Float](repeating: 0.5, count: encoder.inputCount)
        XCTAssertThrowsError(try encoder.encode(input: input, workspace: otherEncoder.makeWorkspace())) { error in
            XCTAssertEqual((error as? CXRError)?.kind, .invalidArgument)
        }
        XCTAssertThrowsError(try encoder.encode(input: input, workspace: encoder.makeWorkspace(), threads: -1))
    }

    func testWorkspaceSizeIsFixedByTheConfiguration() throws {
        // DenseNet-121 at 256: the block buffers alone are 64²·256 + 32²·512 + 16²·1024 + 8²·1024 floats.
        let plan = try DenseNetPlan(configuration: .densenet121)
        XCTAssertEqual(plan.blockFloats, [64 * 64 * 256, 32 * 32 * 512, 16 * 16 * 1024, 8 * 8 * 1024])
        XCTAssertEqual(plan.featureChannels, 1024)
        XCTAssertEqual(plan.outputSide, 8)
        XCTAssertEqual(plan.stemSide, 128)
        XCTAssertLessThan(plan.columnFloats, 2_000_000, "im2col works in bands, not the whole image at once")
    }
}

/// Results written by concurrent callers, one slot each, behind a lock.
private final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Float]?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func store(_ index: Int, _ value: [Float]?) { lock.lock(); values[index] = value; lock.unlock() }
    func value(_ index: Int) -> [Float]? { lock.lock(); defer { lock.unlock() }; return values[index] }
}

private extension SeededGenerator {
    func floatsCopy(_ count: Int) -> [Float] {
        var copy = self
        return copy.floats(count, in: -2...2)
    }
}
