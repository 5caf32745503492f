import XCTest
@testable import CXRDenseNet
@testable import CXRKernels
@testable import CXRTensor

final class KernelWinogradTests: XCTestCase {
    /// Runs `WinogradConvolution.forward` on a strided input slice into a strided output slice (pre-filled
    /// with a sentinel), band by band (`scratchTileRows` tile rows of scratch) or split into the given tile
    /// row ranges, and compares with the naive planar 3x3 convolution (padding 1).
    private func check(inChannels: Int, outChannels: Int, height: Int, width: Int, inputStride: Int? = nil,
                       inputOffset: Int = 0, outputStride: Int? = nil, outputOffset: Int = 0,
                       scratchTileRows: Int = 1, splits: Int = 1, seed: UInt64,
                       file: StaticString = #filePath, line: UInt = #line) {
        var random = SeededGenerator(seed: seed)
        let image = PlanarImage(channels: inChannels, height: height, width: width,
                                values: random.floats(inChannels * height * width, in: -1...1))
        let oihw = random.floats(outChannels * inChannels * 9, in: -1...1)
        let expected = NaiveReference.convolution(image, weight: oihw, outChannels: outChannels, kernel: 3,
                                                  stride: 1, padding: 1)
        let winograd = WinogradConvolution(outChannels: outChannels, inChannels: inChannels, oihw: oihw)

        let inStride = inputStride ?? inChannels
        var input = [Float](repeating: 99, count: height * width * inStride)
        let dense = image.channelsLast
        for p in 0..<(height * width) {
            for c in 0..<inChannels { input[p * inStride + inputOffset + c] = dense[p * inChannels + c] }
        }
        let outStride = outputStride ?? outChannels
        let sentinel: Float = -12345
        var output = [Float](repeating: sentinel, count: height * width * outStride)
        let scratchCount = winograd.scratchCount(tiles: WinogradConvolution.tiles(width)) * scratchTileRows
        var scratch = [Float](repeating: .nan, count: scratchCount)
        let zeros = [Float](repeating: 0, count: inChannels)
        let tileRows = WinogradConvolution.tiles(height)
        input.withUnsafeMutableBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    zeros.withUnsafeBufferPointer { zeros in
                        let inView = FeatureMapView(base: input.baseAddress!, height: height, width: width,
                                                    channels: inStride).channels(inputOffset..<(inputOffset + inChannels))
                        let outView = FeatureMapView(base: output.baseAddress!, height: height, width: width,
                                                     channels: outStride)
                            .channels(outputOffset..<(outputOffset + outChannels))
                        for part in 0..<splits {
                            winograd.forward(input: inView, output: outView,
                                             tileRows: ParallelFor.range(part, of: splits, count: tileRows),
                                             scratch: scratch.baseAddress!, scratchCount: scratchCount,
                                             zeros: zeros.baseAddress!)
                        }
                    }
                }
            }
        }
        let actual = PlanarImage(channelsLast: output, channels: outChannels, height: height, width: width,
                                 pixelStride: outStride, offset: outputOffset)
        assertClose(actual.values, expected.values, relativeTolerance: 1e-5,
                    "Winograd \(inChannels)->\(outChannels) \(height)x\(width)", file: file, line: line)
        for p in 0..<(height * width) {
            for c in 0..<outStride where c < outputOffset || c >= outputOffset + outChannels {
                XCTAssertEqual(output[p * outStride + c], sentinel, "channel \(c) outside the output was written",
                               file: file, line: line)
            }
        }
    }

    func testEvenSidesWholeVectorsOfChannels() {
        check(inChannels: 16, outChannels: 8, height: 8, width: 8, seed: 11)
        check(inChannels: 128, outChannels: 32, height: 6, width: 10, scratchTileRows: 2, seed: 12)
    }

    func testOddSidesAndChannelTails() {
        check(inChannels: 6, outChannels: 5, height: 7, width: 5, seed: 13)
        check(inChannels: 1, outChannels: 1, height: 1, width: 1, seed: 14)
        check(inChannels: 9, outChannels: 3, height: 3, width: 2, scratchTileRows: 3, seed: 15)
    }

    func testStridedSlicesAndBandsSplitAcrossCalls() {
        // Input channels 3..<11 of a 13-wide buffer; output channels 10..<14 of a 17-wide one, the way a
        // dense layer appends its growth channels; tile rows split in three calls.
        check(inChannels: 8, outChannels: 4, height: 9, width: 7, inputStride: 13, inputOffset: 3,
              outputStride: 17, outputOffset: 10, splits: 3, seed: 16)
    }

    /// The encoder with Winograd 3x3 convolutions and the one with im2col agree to rounding, on one and on
    /// all threads.
    func testEncoderWinogradAgreesWithIm2col() throws {
        let config = DenseNetTestModel.config(blocks: [2, 3, 2], growth: 8, bnSize: 4, initFeatures: 16,
                                              inChannels: 1, inputSize: 70)
        let weights = DenseNetTestModel.randomWeights(config, seed: 21)
        let fast = try DenseNetEncoder(weights: weights, configuration: config, winograd: true)
        let exact = try DenseNetEncoder(weights: weights, configuration: config, winograd: false)
        XCTAssertTrue(fast.usesWinograd)
        XCTAssertFalse(exact.usesWinograd)
        var random = SeededGenerator(seed: 22)
        let input = random.floats(fast.inputCount, in: -2...2)
        let want = try exact.encode(input: input, workspace: exact.makeWorkspace(), threads: 1)
        XCTAssertTrue(want.contains { $0 > 0.1 }, "features are degenerate")
        for threads in [1, 0, 3] {
            let got = try fast.encode(input: input, workspace: fast.makeWorkspace(), threads: threads)
            assertClose(got, want, relativeTolerance: 1e-5, "Winograd vs im2col, threads \(threads)")
        }
    }
}
