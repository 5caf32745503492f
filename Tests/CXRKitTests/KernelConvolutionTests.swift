import XCTest
@testable import CXRKernels
@testable import CXRTensor

final class KernelConvolutionTests: XCTestCase {
    /// Runs `Convolution.forward` with the input placed at channel `inputOffset` of a buffer `inputStride`
    /// wide and the output written at `outputOffset` of a buffer `outputStride` wide (pre-filled with a
    /// sentinel), and compares with the naive planar convolution. Also checks that nothing outside the
    /// output channels changed.
    private func check(inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int,
                       padding: Int, inputStride: Int? = nil, inputOffset: Int = 0, outputStride: Int? = nil,
                       outputOffset: Int = 0, scratchRows: Int? = nil, seed: UInt64,
                       file: StaticString = #filePath, line: UInt = #line) {
        var random = SeededGenerator(seed: seed)
        let image = PlanarImage(channels: inChannels, height: height, width: width,
                                values: random.floats(inChannels * height * width, in: -1...1))
        let oihw = random.floats(outChannels * inChannels * kernel * kernel, in: -1...1)
        let expected = NaiveReference.convolution(image, weight: oihw, outChannels: outChannels, kernel: kernel,
                                                  stride: stride, padding: padding)
        let packed = PackedConvolution(outChannels: outChannels, inChannels: inChannels, kernel: kernel,
                                       stride: stride, padding: padding, oihw: oihw)
        XCTAssertEqual(packed.outputSize(height), expected.height, file: file, line: line)
        XCTAssertEqual(packed.outputSize(width), expected.width, file: file, line: line)

        let inStride = inputStride ?? inChannels
        var input = [Float](repeating: 99, count: height * width * inStride)
        let dense = image.channelsLast
        for p in 0..<(height * width) {
            for c in 0..<inChannels { input[p * inStride + inputOffset + c] = dense[p * inChannels + c] }
        }
        let outStride = outputStride ?? outChannels
        let sentinel: Float = -12345
        var output = [Float](repeating: sentinel, count: expected.height * expected.width * outStride)
        let fullScratch = Convolution.scratchCount(for: packed, outputHeight: expected.height,
                                                   outputWidth: expected.width, targetBandPixels: 1 << 30)
        let scratchCount = scratchRows.map { $0 * expected.width * packed.columnLength } ?? fullScratch
        var scratch = [Float](repeating: .nan, count: max(scratchCount, 1))
        input.withUnsafeMutableBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    let inView = FeatureMapView(base: input.baseAddress!, height: height, width: width,
                                                channels: inStride).channels(inputOffset..<(inputOffset + inChannels))
                    let outView = FeatureMapView(base: output.baseAddress!, height: expected.height,
                                                 width: expected.width, channels: outStride)
                        .channels(outputOffset..<(outputOffset + outChannels))
                    Convolution.forward(input: inView, weights: packed, output: outView,
                                        scratch: scratch.baseAddress!, scratchCount: scratchCount)
                }
            }
        }
        let actual = PlanarImage(channelsLast: output, channels: outChannels, height: expected.height,
                                 width: expected.width, pixelStride: outStride, offset: outputOffset)
        assertClose(actual.values, expected.values, relativeTolerance: 1e-5,
                    "k\(kernel) s\(stride) p\(padding) \(height)x\(width)", file: file, line: line)
        for p in 0..<(expected.height * expected.width) {
            for c in 0..<outStride where c < outputOffset || c >= outputOffset + outChannels {
                XCTAssertEqual(output[p * outStride + c], sentinel, "channel \(c) outside the output was written",
                               file: file, line: line)
            }
        }
    }

    func testPointwiseIsOneGEMMOnStridedSlices() {
        // A 1x1 conv reading channels 2..<7 of a 11-wide buffer, writing channels 3..<6 of an 8-wide one.
        check(inChannels: 5, outChannels: 3, height: 7, width: 9, kernel: 1, stride: 1, padding: 0,
              inputStride: 11, inputOffset: 2, outputStride: 8, outputOffset: 3, seed: 1)
        XCTAssertEqual(Convolution.scratchCount(
            for: PackedConvolution(outChannels: 2, inChannels: 3, kernel: 1, stride: 1, padding: 0,
                                   oihw: [Float](repeating: 0, count: 6)),
            outputHeight: 5, outputWidth: 5, targetBandPixels: 100), 0)
    }

    func testThreeByThreePaddingOneOnOddSizes() {
        check(inChannels: 6, outChannels: 4, height: 7, width: 5, kernel: 3, stride: 1, padding: 1, seed: 2)
        check(inChannels: 1, outChannels: 1, height: 1, width: 1, kernel: 3, stride: 1, padding: 1, seed: 3)
        // Written into a slice of a wider buffer, the way a dense layer appends its growth channels.
        check(inChannels: 8, outChannels: 3, height: 5, width: 6, kernel: 3, stride: 1, padding: 1,
              outputStride: 13, outputOffset: 10, seed: 4)
    }

    func testSevenBySevenStrideTwoPaddingThree() {
        check(inChannels: 1, outChannels: 8, height: 13, width: 11, kernel: 7, stride: 2, padding: 3, seed: 5)
        check(inChannels: 3, outChannels: 5, height: 16, width: 16, kernel: 7, stride: 2, padding: 3, seed: 6)
        check(inChannels: 2, outChannels: 3, height: 2, width: 3, kernel: 7, stride: 2, padding: 3, seed: 7)
    }

    func testStrideAndNoPaddingCases() {
        check(inChannels: 3, outChannels: 2, height: 9, width: 8, kernel: 3, stride: 2, padding: 0, seed: 8)
        check(inChannels: 2, outChannels: 3, height: 6, width: 7, kernel: 2, stride: 2, padding: 0, seed: 9)
        check(inChannels: 4, outChannels: 2, height: 5, width: 5, kernel: 1, stride: 2, padding: 0, seed: 10)
    }

    func testBandsOfOneRowAndOfUnevenRowsMatch() {
        check(inChannels: 5, outChannels: 4, height: 9, width: 7, kernel: 3, stride: 1, padding: 1,
              scratchRows: 1, seed: 11)
        check(inChannels: 5, outChannels: 4, height: 9, width: 7, kernel: 3, stride: 1, padding: 1,
              scratchRows: 4, seed: 11)
        XCTAssertEqual(Convolution.bandRows(outputHeight: 9, outputWidth: 7, targetBandPixels: 30), 4)
        XCTAssertEqual(Convolution.bandRows(outputHeight: 9, outputWidth: 7, targetBandPixels: 3), 1)
        XCTAssertEqual(Convolution.bandRows(outputHeight: 9, outputWidth: 7, targetBandPixels: 1000), 9)
    }

    func testPackingOrdersTapsThenChannels() {
        // OIHW [1, 2, 2, 2] = 0...7 -> packed (ky, kx, c): c fastest.
        let packed = PackedConvolution(outChannels: 1, inChannels: 2, kernel: 2, stride: 1, padding: 0,
                                       oihw: (0..<8).map(Float.init))
        XCTAssertEqual(packed.weights, [0, 4, 1, 5, 2, 6, 3, 7])
        XCTAssertEqual(packed.columnLength, 8)
    }
}
