import XCTest
@testable import CXRKernels
@testable import CXRTensor

final class KernelBatchNormReLUTests: XCTestCase {
    func testStridedSliceIntoDenseOutputAndInPlace() {
        var random = SeededGenerator(seed: 21)
        let channels = 5, height = 3, width = 7, stride = 9, offset = 2
        let image = PlanarImage(channels: channels, height: height, width: width,
                                values: random.floats(channels * height * width, in: -2...2))
        let scale = random.floats(channels, in: -1.5...1.5)
        let shift = random.floats(channels, in: -0.5...0.5)
        let expected = NaiveReference.batchNormReLU(image, scale: scale, shift: shift)
        XCTAssertTrue(expected.values.contains(0) && expected.values.contains { $0 > 0 })

        var wide = random.floats(height * width * stride, in: -1...1)
        let dense = image.channelsLast
        for p in 0..<(height * width) { for c in 0..<channels { wide[p * stride + offset + c] = dense[p * channels + c] } }
        let before = wide
        var output = [Float](repeating: .nan, count: height * width * channels)
        wide.withUnsafeMutableBufferPointer { wide in
            output.withUnsafeMutableBufferPointer { output in
                let slice = FeatureMapView(base: wide.baseAddress!, height: height, width: width, channels: stride)
                    .channels(offset..<(offset + channels))
                let out = FeatureMapView(base: output.baseAddress!, height: height, width: width, channels: channels)
                BatchNormReLU.apply(input: slice, scale: scale, shift: shift, output: out)
                BatchNormReLU.apply(input: slice, scale: scale, shift: shift, output: slice)  // in place
            }
        }
        XCTAssertEqual(PlanarImage(channelsLast: output, channels: channels, height: height, width: width).values,
                       expected.values)
        XCTAssertEqual(PlanarImage(channelsLast: wide, channels: channels, height: height, width: width,
                                   pixelStride: stride, offset: offset).values, expected.values)
        for p in 0..<(height * width) {
            for c in 0..<stride where c < offset || c >= offset + channels {
                XCTAssertEqual(wide[p * stride + c], before[p * stride + c])
            }
        }
    }

    func testPlanarToChannelsLast() {
        var random = SeededGenerator(seed: 22)
        let image = PlanarImage(channels: 3, height: 5, width: 4, values: random.floats(60, in: -1...1))
        var output = [Float](repeating: 0, count: 5 * 4 * 6)
        output.withUnsafeMutableBufferPointer { output in
            let view = FeatureMapView(base: output.baseAddress!, height: 5, width: 4, channels: 6).channels(0..<3)
            LayoutConversion.planarToChannelsLast(image.values, output: view)
        }
        XCTAssertEqual(PlanarImage(channelsLast: output, channels: 3, height: 5, width: 4, pixelStride: 6).values,
                       image.values)
    }
}
