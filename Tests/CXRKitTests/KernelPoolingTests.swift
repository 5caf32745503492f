import XCTest
@testable import CXRKernels
@testable import CXRTensor

final class KernelPoolingTests: XCTestCase {
    private enum Operation { case max(padding: Int), average, batchNormReLUAverage }

    private func run(_ operation: Operation, channels: Int, height: Int, width: Int, kernel: Int, stride: Int,
                     inputStride: Int? = nil, valueRange: ClosedRange<Float> = -1...1, seed: UInt64,
                     file: StaticString = #filePath, line: UInt = #line) {
        var random = SeededGenerator(seed: seed)
        let image = PlanarImage(channels: channels, height: height, width: width,
                                values: random.floats(channels * height * width, in: valueRange))
        let scale = random.floats(channels, in: -1.5...1.5)
        let shift = random.floats(channels, in: -0.5...0.5)
        let expected: PlanarImage
        let padding: Int
        switch operation {
        case .max(let p):
            padding = p
            expected = NaiveReference.maxPool(image, kernel: kernel, stride: stride, padding: p)
        case .average:
            padding = 0
            expected = NaiveReference.averagePool(image, kernel: kernel, stride: stride)
        case .batchNormReLUAverage:
            padding = 0
            expected = NaiveReference.averagePool(NaiveReference.batchNormReLU(image, scale: scale, shift: shift),
                                                  kernel: kernel, stride: stride)
        }
        XCTAssertEqual(Pooling.outputSize(input: height, kernel: kernel, stride: stride, padding: padding),
                       expected.height, file: file, line: line)
        let stridePixels = inputStride ?? channels
        var input = [Float](repeating: 1e9, count: height * width * stridePixels)
        let dense = image.channelsLast
        for p in 0..<(height * width) { for c in 0..<channels { input[p * stridePixels + c] = dense[p * channels + c] } }
        var output = [Float](repeating: .nan, count: expected.height * expected.width * channels)
        input.withUnsafeMutableBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                let inView = FeatureMapView(base: input.baseAddress!, height: height, width: width,
                                            channels: stridePixels).channels(0..<channels)
                let outView = FeatureMapView(base: output.baseAddress!, height: expected.height,
                                             width: expected.width, channels: channels)
                switch operation {
                case .max(let p):
                    Pooling.maxPool(input: inView, output: outView, kernel: kernel, stride: stride, padding: p)
                case .average:
                    Pooling.averagePool(input: inView, output: outView, kernel: kernel, stride: stride)
                case .batchNormReLUAverage:
                    Pooling.batchNormReLUAveragePool(input: inView, scale: scale, shift: shift, output: outView,
                                                     kernel: kernel, stride: stride)
                }
            }
        }
        let actual = PlanarImage(channelsLast: output, channels: channels, height: expected.height,
                                 width: expected.width)
        assertClose(actual.values, expected.values, relativeTolerance: 1e-6,
                    "\(operation) \(height)x\(width) k\(kernel) s\(stride)", file: file, line: line)
    }

    func testMaxPoolThreeByThreeStrideTwoPaddingOne() {
        run(.max(padding: 1), channels: 3, height: 8, width: 8, kernel: 3, stride: 2, seed: 1)
        run(.max(padding: 1), channels: 5, height: 7, width: 9, kernel: 3, stride: 2, inputStride: 8, seed: 2)
        run(.max(padding: 1), channels: 2, height: 1, width: 1, kernel: 3, stride: 2, seed: 3)
        run(.max(padding: 1), channels: 2, height: 2, width: 3, kernel: 3, stride: 2, seed: 4)
    }

    func testMaxPoolPaddingIsNegativeInfinity() {
        // All inputs negative: a zero padding value would win at the borders; -inf must not.
        run(.max(padding: 1), channels: 4, height: 5, width: 6, kernel: 3, stride: 2, valueRange: -3 ... -1, seed: 5)
        XCTAssertEqual(Pooling.outputSize(input: 128, kernel: 3, stride: 2, padding: 1), 64)
        XCTAssertEqual(Pooling.outputSize(input: 7, kernel: 3, stride: 2, padding: 1), 4)
        XCTAssertEqual(Pooling.outputSize(input: 1, kernel: 2, stride: 2, padding: 0), 0)
    }

    func testAveragePoolTwoByTwoDropsOddEdges() {
        run(.average, channels: 3, height: 8, width: 6, kernel: 2, stride: 2, seed: 6)
        run(.average, channels: 4, height: 7, width: 9, kernel: 2, stride: 2, inputStride: 7, seed: 7)
        run(.average, channels: 2, height: 9, width: 7, kernel: 3, stride: 2, seed: 8)
    }

    func testBatchNormReLUAveragePoolMatchesBNReLUThenPool() {
        run(.batchNormReLUAverage, channels: 6, height: 8, width: 8, kernel: 2, stride: 2, seed: 9)
        run(.batchNormReLUAverage, channels: 5, height: 7, width: 5, kernel: 2, stride: 2, inputStride: 9, seed: 10)
    }
}
