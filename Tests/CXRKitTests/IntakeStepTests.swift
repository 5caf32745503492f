import XCTest
@testable import CXRIntake

/// Each step of docs/INTAKE.md on inputs small enough to check by hand.
final class IntakeStepTests: XCTestCase {
    func testAreaWeightsCoverEachOutputExactly() {
        for (source, target) in [(1955, 256), (256, 256), (17, 16), (4000, 224), (300, 7)] {
            let axis = ResizeAxis(source: source, target: target)
            XCTAssertEqual(axis.denominator, source)
            for t in 0..<target {
                let taps = axis.taps[axis.targetStart[t]..<axis.targetStart[t + 1]]
                XCTAssertEqual(taps.map(\.weight).reduce(0, +), source, "\(source)->\(target) output \(t)")
                XCTAssertTrue(taps.allSatisfy { $0.weight > 0 && $0.weight <= target })
            }
            // Each input contributes its full width (target units) in total.
            for s in 0..<source {
                let taps = axis.tapsBySource[axis.sourceStart[s]..<axis.sourceStart[s + 1]]
                XCTAssertEqual(taps.map(\.weight).reduce(0, +), target)
            }
        }
        // 3 -> 2: output 0 = (2 x0 + 1 x1) / 3, output 1 = (1 x1 + 2 x2) / 3.
        let axis = ResizeAxis(source: 3, target: 2)
        XCTAssertEqual(axis.taps.map { [$0.target, $0.source, $0.weight] }, [[0, 0, 2], [0, 1, 1], [1, 1, 1], [1, 2, 2]])
    }

    func testBilinearHalfPixelWeights() {
        // 2 -> 4: centers at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1); denominator 8.
        let axis = ResizeAxis(source: 2, target: 4)
        XCTAssertEqual(axis.denominator, 8)
        XCTAssertEqual(axis.taps.map { [$0.target, $0.source, $0.weight] },
                       [[0, 0, 8], [1, 0, 6], [1, 1, 2], [2, 0, 2], [2, 1, 6], [3, 1, 8]])
        let wide = ResizeAxis(source: 231, target: 256)
        for t in 0..<256 {
            let taps = wide.taps[wide.targetStart[t]..<wide.targetStart[t + 1]]
            XCTAssertEqual(taps.map(\.weight).reduce(0, +), 512)
        }
    }

    func testLumaRoundsHalfUp() {
        XCTAssertEqual(PixelRows.luma(255, 255, 255), 255)
        XCTAssertEqual(PixelRows.luma(1, 0, 0), 0)    // 0.299
        XCTAssertEqual(PixelRows.luma(0, 1, 0), 1)    // 0.587
        XCTAssertEqual(PixelRows.luma(0, 0, 5), 1)    // 0.570
        XCTAssertEqual(PixelRows.luma(10, 0, 0), 3)   // 2.99
        XCTAssertEqual(PixelRows.luma(0, 0, 4), 0)    // 0.456
        XCTAssertEqual(PixelRows.luma(0, 0, 0), 0)
        for v in [0, 1, 77, 128, 254, 255] {
            XCTAssertEqual(PixelRows.luma(UInt8(v), UInt8(v), UInt8(v)), v)
        }
    }

    func testLinearVOIFunction() {
        // DICOM PS3.3 C.11.2.1.2.1: c = 100, w = 21: x <= 89.5 -> 0, x > 109.5 -> 1, 99.5 -> 0.5.
        let mapping = IntensityMapping(slope: 1, intercept: 0, normalization: .window(centerLow: 99.5, widthLess1: 20),
                                       invert: false)
        XCTAssertEqual(mapping.level(stored: 89.5), 0)
        XCTAssertEqual(mapping.level(stored: 80), 0)
        XCTAssertEqual(mapping.level(stored: 109.5), 65535)
        XCTAssertEqual(mapping.level(stored: 500), 65535)
        XCTAssertEqual(mapping.level(stored: 99.5), 32768)  // 0.5 x 65535 + 0.5 = 32768 (round half up)
        XCTAssertEqual(mapping.level(stored: 94.5), 16384)  // 0.25 x 65535 = 16383.75
        let inverted = IntensityMapping(slope: 2, intercept: -100, normalization: .window(centerLow: 99.5,
                                                                                           widthLess1: 20),
                                        invert: true)
        XCTAssertEqual(inverted.level(stored: 40), 65535)   // x = -20 -> 0 -> inverted 1
        XCTAssertEqual(inverted.level(stored: 200), 0)      // x = 300 -> 1 -> 0
    }

    func testRangeAndEightBitMappings() {
        let range = IntensityMapping(slope: 1, intercept: 0, normalization: .range(minimum: 10, maximum: 20),
                                     invert: false)
        XCTAssertEqual(range.level(stored: 10), 0)
        XCTAssertEqual(range.level(stored: 20), 65535)
        XCTAssertEqual(range.level(stored: 15), 32768)
        let constant = IntensityMapping(slope: 1, intercept: 0, normalization: .range(minimum: 7, maximum: 7),
                                        invert: false)
        XCTAssertEqual(constant.level(stored: 7), 0)
        let eight = IntensityMapping(slope: 1, intercept: 0, normalization: .eightBit, invert: false)
        for v in 0...255 { XCTAssertEqual(eight.level(stored: Double(v)), 257 * v) }
    }

    func testEqualizationFollowsOpenCVDefinition() {
        // Levels 10 (x4), 20 (x2), 30 (x2): cdf 4, 6, 8; cdf_min 4; N - cdf_min = 4.
        var image: [UInt8] = [10, 10, 10, 10, 20, 20, 30, 30]
        HistogramEqualization.equalize(&image)
        // lut[20] = round(2 x 255 / 4) = round(127.5) = 128 (half up); lut[30] = 255.
        XCTAssertEqual(image, [0, 0, 0, 0, 128, 128, 255, 255])
        var constant = [UInt8](repeating: 42, count: 9)
        HistogramEqualization.equalize(&constant)
        XCTAssertEqual(constant, [UInt8](repeating: 42, count: 9))
    }

    func testPipelineOnTinyBuffers() throws {
        // A 16 x 16 gray8 ramp to 16 x 16: identity resize; equalization spreads 16 equal groups evenly.
        var ramp = [UInt8](repeating: 0, count: 256)
        for y in 0..<16 { for x in 0..<16 { ramp[y * 16 + x] = UInt8(x * 3) } }
        let output = try ramp.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: ImageDescriptor(width: 16, height: 16,
                                                                                    format: .gray8), size: 16)
        }
        // Column x has cdf 16 (x + 1); lut = round(16 x x x 255 / 240) = round(17 x).
        for x in 0..<16 { XCTAssertEqual(output[5 * 16 + x], UInt8(17 * x)) }
        // MONOCHROME1 reverses the ramp.
        let inverted = try ramp.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: ImageDescriptor(width: 16, height: 16,
                                                                                    format: .gray8,
                                                                                    photometric: .monochrome1),
                                           size: 16)
        }
        for x in 0..<16 { XCTAssertEqual(inverted[x], UInt8(255 - 17 * x)) }
        // RGBA with row padding and garbage alpha: same as the gray ramp.
        var rgba = [UInt8](repeating: 0xEE, count: 16 * 70)
        for y in 0..<16 {
            for x in 0..<16 {
                rgba[y * 70 + 4 * x] = UInt8(x * 3); rgba[y * 70 + 4 * x + 1] = UInt8(x * 3)
                rgba[y * 70 + 4 * x + 2] = UInt8(x * 3); rgba[y * 70 + 4 * x + 3] = UInt8(y * 13)
            }
        }
        let fromRGBA = try rgba.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: ImageDescriptor(width: 16, height: 16,
                                                                                    format: .rgba8, rowBytes: 70),
                                           size: 16)
        }
        XCTAssertEqual(fromRGBA, output)
        // GRAY16 with bits_stored 8 and garbage above: same as 8-bit ramp scaled by the range.
        var words = [UInt16](repeating: 0, count: 256)
        for i in 0..<256 { words[i] = UInt16(ramp[i]) | UInt16(0xA500) }
        let fromWords = try words.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: ImageDescriptor(width: 16, height: 16,
                                                                                    format: .gray16, bitsStored: 8),
                                           size: 16)
        }
        XCTAssertEqual(fromWords, output)
    }

    func testModelInputNormalizesAndReplicates() {
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let equalized: [UInt8] = [0, 255, 128, 51]
        let input = ImageIntake.modelInput(equalized: equalized, size: 2, channels: 3, mean: mean, std: std)
        XCTAssertEqual(input.count, 12)
        for c in 0..<3 {
            for i in 0..<4 {
                let x = Float(equalized[i]) / 255
                XCTAssertEqual(input[c * 4 + i], (x - mean[c]) / std[c])
            }
        }
        XCTAssertEqual(input[1], (1 - 0.485) / 0.229, accuracy: 1e-6)
        let gray = ImageIntake.modelInput(equalized: equalized, size: 2, channels: 1, mean: [0.5], std: [0.25])
        XCTAssertEqual(gray, [-2, 2, (Float(128) / 255 - 0.5) / 0.25, (Float(51) / 255 - 0.5) / 0.25])
    }
}
