import XCTest
@testable import CXRDenseNet

// Naive reference implementations for the kernel and DenseNet tests, written straight from PyTorch's
// definitions on planar (NCHW, one image) arrays with Double accumulation, plus a seeded random source.
// The tests at the bottom check the references themselves on hand-computed values.

/// SplitMix64: a small deterministic generator so that test data is the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func floats(_ count: Int, in range: ClosedRange<Float>) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &self) }
    }
}

/// A planar [channels, height, width] image.
struct PlanarImage {
    var channels: Int
    var height: Int
    var width: Int
    var values: [Float]

    init(channels: Int, height: Int, width: Int, values: [Float]) {
        precondition(values.count == channels * height * width)
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }

    subscript(c: Int, y: Int, x: Int) -> Float { values[(c * height + y) * width + x] }

    /// Channels-last copy: [height * width, channels].
    var channelsLast: [Float] {
        var out = [Float](repeating: 0, count: values.count)
        for c in 0..<channels { for y in 0..<height { for x in 0..<width {
            out[(y * width + x) * channels + c] = self[c, y, x]
        } } }
        return out
    }

    /// From a channels-last array with `pixelStride` floats per pixel, channels starting at `offset`.
    init(channelsLast: [Float], channels: Int, height: Int, width: Int, pixelStride: Int? = nil, offset: Int = 0) {
        let stride = pixelStride ?? channels
        var values = [Float](repeating: 0, count: channels * height * width)
        for c in 0..<channels { for y in 0..<height { for x in 0..<width {
            values[(c * height + y) * width + x] = channelsLast[(y * width + x) * stride + offset + c]
        } } }
        self.init(channels: channels, height: height, width: width, values: values)
    }

    /// Concatenation along channels (what a dense layer does in PyTorch).
    func appending(_ other: PlanarImage) -> PlanarImage {
        precondition(other.height == height && other.width == width)
        return PlanarImage(channels: channels + other.channels, height: height, width: width,
                           values: values + other.values)
    }
}

enum NaiveReference {
    static func outputSize(_ input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (input + 2 * padding - kernel) / stride + 1
    }

    /// PyTorch `conv2d` without bias; weight is OIHW.
    static func convolution(_ x: PlanarImage, weight: [Float], outChannels: Int, kernel: Int, stride: Int,
                            padding: Int) -> PlanarImage {
        let ho = outputSize(x.height, kernel: kernel, stride: stride, padding: padding)
        let wo = outputSize(x.width, kernel: kernel, stride: stride, padding: padding)
        var out = [Float](repeating: 0, count: outChannels * ho * wo)
        for o in 0..<outChannels { for oy in 0..<ho { for ox in 0..<wo {
            var sum = 0.0
            for c in 0..<x.channels { for ky in 0..<kernel { for kx in 0..<kernel {
                let y = oy * stride - padding + ky, xx = ox * stride - padding + kx
                guard y >= 0, y < x.height, xx >= 0, xx < x.width else { continue }
                sum += Double(x[c, y, xx]) * Double(weight[((o * x.channels + c) * kernel + ky) * kernel + kx])
            } } }
            out[(o * ho + oy) * wo + ox] = Float(sum)
        } } }
        return PlanarImage(channels: outChannels, height: ho, width: wo, values: out)
    }

    /// max(0, x * scale[c] + shift[c]).
    static func batchNormReLU(_ x: PlanarImage, scale: [Float], shift: [Float]) -> PlanarImage {
        var out = x
        for c in 0..<x.channels { for p in 0..<(x.height * x.width) {
            let i = c * x.height * x.width + p
            out.values[i] = max(0, x.values[i] * scale[c] + shift[c])
        } }
        return out
    }

    /// PyTorch `max_pool2d` (padding is -inf, floor mode).
    static func maxPool(_ x: PlanarImage, kernel: Int, stride: Int, padding: Int) -> PlanarImage {
        let ho = outputSize(x.height, kernel: kernel, stride: stride, padding: padding)
        let wo = outputSize(x.width, kernel: kernel, stride: stride, padding: padding)
        var out = [Float](repeating: 0, count: x.channels * ho * wo)
        for c in 0..<x.channels { for oy in 0..<ho { for ox in 0..<wo {
            var best = -Float.infinity
            for ky in 0..<kernel { for kx in 0..<kernel {
                let y = oy * stride - padding + ky, xx = ox * stride - padding + kx
                if y >= 0, y < x.height, xx >= 0, xx < x.width { best = max(best, x[c, y, xx]) }
            } }
            out[(c * ho + oy) * wo + ox] = best
        } } }
        return PlanarImage(channels: x.channels, height: ho, width: wo, values: out)
    }

    /// PyTorch `avg_pool2d` without padding (floor mode).
    static func averagePool(_ x: PlanarImage, kernel: Int, stride: Int) -> PlanarImage {
        let ho = outputSize(x.height, kernel: kernel, stride: stride, padding: 0)
        let wo = outputSize(x.width, kernel: kernel, stride: stride, padding: 0)
        var out = [Float](repeating: 0, count: x.channels * ho * wo)
        for c in 0..<x.channels { for oy in 0..<ho { for ox in 0..<wo {
            var sum = 0.0
            for ky in 0..<kernel { for kx in 0..<kernel { sum += Double(x[c, oy * stride + ky, ox * stride + kx]) } }
            out[(c * ho + oy) * wo + ox] = Float(sum / Double(kernel * kernel))
        } } }
        return PlanarImage(channels: x.channels, height: ho, width: wo, values: out)
    }
}

/// Asserts max |actual - expected| <= tolerance x max(|expected|, 1e-30) and returns the relative error.
@discardableResult
func assertClose(_ actual: [Float], _ expected: [Float], relativeTolerance: Float,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(actual.count, expected.count, "count \(message)", file: file, line: line)
    guard actual.count == expected.count, !expected.isEmpty else { return 0 }
    let magnitude = max(expected.map { abs($0) }.max()!, 1e-30)
    var worst: Float = 0
    for (a, e) in zip(actual, expected) {
        let error = abs(a - e)
        worst = error.isNaN ? .infinity : max(worst, error)
    }
    let relative = worst / magnitude
    XCTAssertLessThanOrEqual(relative, relativeTolerance,
                             "max error \(worst) vs max magnitude \(magnitude) \(message)", file: file, line: line)
    return relative
}

final class KernelNaiveReferenceTests: XCTestCase {
    func testReferenceConvolutionOnHandComputedValues() {
        // 1 channel 3x3 image 1...9, 2x2 kernel of ones, stride 1, padding 0: sums of 2x2 windows.
        let x = PlanarImage(channels: 1, height: 3, width: 3, values: (1...9).map(Float.init))
        let y = NaiveReference.convolution(x, weight: [1, 1, 1, 1], outChannels: 1, kernel: 2, stride: 1, padding: 0)
        XCTAssertEqual(y.values, [12, 16, 24, 28])
        // 3x3 kernel with only the centre tap = 2, padding 1: the image doubled.
        let centre = NaiveReference.convolution(x, weight: [0, 0, 0, 0, 2, 0, 0, 0, 0], outChannels: 1,
                                                kernel: 3, stride: 1, padding: 1)
        XCTAssertEqual(centre.values, (1...9).map { Float($0 * 2) })
    }

    func testReferencePoolingOnHandComputedValues() {
        let x = PlanarImage(channels: 1, height: 3, width: 3, values: [-1, -2, -3, -4, -5, -6, -7, -8, -9])
        // 3x3/2 pad 1 on 3x3 gives 2x2; padding is -inf, so all-negative windows keep their max.
        XCTAssertEqual(NaiveReference.maxPool(x, kernel: 3, stride: 2, padding: 1).values, [-1, -2, -4, -5])
        // 2x2/2 average on 3x3 gives one value (the last row and column are dropped).
        XCTAssertEqual(NaiveReference.averagePool(x, kernel: 2, stride: 2).values, [-3])
    }
}
