import XCTest
@testable import CXRIntake
@testable import CXRSupport

/// Bad buffers and descriptors are refused with a CXRError naming the value; nothing traps.
final class IntakeValidationTests: XCTestCase {
    private func expectIntakeError(_ kind: CXRError.Kind, _ fragment: String, bytes: [UInt8],
                                   _ descriptor: ImageDescriptor, size: Int = 256,
                                   file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try bytes.withUnsafeBytes {
                try ImageIntake.equalizedImage(pixels: $0, descriptor: descriptor, size: size)
            }
            XCTFail("expected an error containing \"\(fragment)\"", file: file, line: line)
        } catch let error as CXRError {
            XCTAssertEqual(error.kind, kind, error.message, file: file, line: line)
            XCTAssertTrue(error.message.contains(fragment), "\"\(error.message)\" lacks \"\(fragment)\"",
                          file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    // Static, not per instance: XCTest keeps every test case alive to the end, and LeakSanitizer then
    // reports what instances hold.
    private static let gray = [UInt8](repeating: 100, count: 256 * 256)
    private var gray: [UInt8] { Self.gray }

    func testSidesOutsideLimits() {
        expectIntakeError(.invalidImage, "image width 15 is outside 16...16384", bytes: gray,
                          ImageDescriptor(width: 15, height: 16, format: .gray8))
        expectIntakeError(.invalidImage, "image height 16385 is outside 16...16384", bytes: gray,
                          ImageDescriptor(width: 16, height: 16385, format: .gray8))
        expectIntakeError(.invalidImage, "image width -4", bytes: gray,
                          ImageDescriptor(width: -4, height: 16, format: .gray8))
    }

    func testSizeOutsideLimits() {
        let d = ImageDescriptor(width: 16, height: 16, format: .gray8)
        expectIntakeError(.invalidArgument, "input size 0 is outside 1...4096", bytes: gray, d, size: 0)
        expectIntakeError(.invalidArgument, "input size 4097", bytes: gray, d, size: 4097)
    }

    func testRowBytesShorterThanARow() {
        expectIntakeError(.invalidImage, "image rowBytes 100 is less than width 256 x 1 byte", bytes: gray,
                          ImageDescriptor(width: 256, height: 16, format: .gray8, rowBytes: 100))
        expectIntakeError(.invalidImage, "image rowBytes 511 is less than width 256 x 2 bytes", bytes: gray,
                          ImageDescriptor(width: 256, height: 16, format: .gray16, rowBytes: 511))
    }

    func testBufferTooShortAndHugeStrides() {
        // (height - 1) x row_bytes + width x bpp = 15 x 300 + 256 = 4756 bytes needed.
        expectIntakeError(.invalidImage, "image buffer holds 4755 bytes but width 256, height 16, rowBytes 300 need 4756",
                          bytes: [UInt8](repeating: 0, count: 4755),
                          ImageDescriptor(width: 256, height: 16, format: .gray8, rowBytes: 300))
        expectIntakeError(.invalidImage, "overflows", bytes: gray,
                          ImageDescriptor(width: 256, height: 16, format: .gray8, rowBytes: Int.max / 2))
        expectIntakeError(.invalidImage, "need", bytes: gray,
                          ImageDescriptor(width: 16384, height: 16384, format: .rgba8))
        // An empty buffer (nil base address) is refused, not dereferenced.
        expectIntakeError(.invalidImage, "image buffer holds 0 bytes", bytes: [],
                          ImageDescriptor(width: 16, height: 16, format: .gray8))
    }

    func testExactBufferLengthWithoutLastRowPaddingIsAccepted() throws {
        let descriptor = ImageDescriptor(width: 16, height: 16, format: .gray16, rowBytes: 40)
        let bytes = (0..<(15 * 40 + 32)).map { UInt8($0 % 251) }
        let output = try bytes.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: descriptor, size: 8)
        }
        XCTAssertEqual(output.count, 64)
    }

    func testBitsStored() {
        for bits in [0, 17, -1] {
            expectIntakeError(.invalidImage, "image bitsStored \(bits) is outside 1...16", bytes: gray,
                              ImageDescriptor(width: 16, height: 16, format: .gray16, bitsStored: bits))
        }
    }

    func testNonFiniteAndDegenerateParameters() {
        expectIntakeError(.invalidImage, "image rescaleSlope nan is not finite", bytes: gray,
                          ImageDescriptor(width: 16, height: 16, format: .gray8, rescaleSlope: .nan))
        expectIntakeError(.invalidImage, "image rescaleIntercept inf is not finite", bytes: gray,
                          ImageDescriptor(width: 16, height: 16, format: .gray8, rescaleIntercept: .infinity))
        expectIntakeError(.invalidImage, "image window.center -inf is not finite", bytes: gray,
                          ImageDescriptor(width: 16, height: 16, format: .gray8,
                                          window: Window(center: -.infinity, width: 10)))
        for width in [1.0, 0.5, 0, -3, .nan] {
            expectIntakeError(.invalidImage, "image window.width \(width) must be a finite number greater than 1",
                              bytes: gray, ImageDescriptor(width: 16, height: 16, format: .gray8,
                                                           window: Window(center: 10, width: width)))
        }
        expectIntakeError(.invalidImage, "is not finite", bytes: gray,
                          ImageDescriptor(width: 16, height: 16, format: .gray16, rescaleSlope: 1e305))
    }

    func testDegenerateImagesAreRefused() {
        let constant = "image is constant after the modality and VOI steps: every pixel maps to level"
        expectIntakeError(.invalidImage, "image rescaleSlope is 0, which maps every pixel to the intercept",
                          bytes: Self.ramp, ImageDescriptor(width: 16, height: 16, format: .gray8, rescaleSlope: 0,
                                                            rescaleIntercept: 5))
        expectIntakeError(.invalidImage, "\(constant) 25700 of 65535", bytes: gray,
                          ImageDescriptor(width: 16, height: 16, format: .gray8))
        expectIntakeError(.invalidImage, "\(constant) 39835 of 65535", bytes: gray,
                          ImageDescriptor(width: 16, height: 16, format: .gray8, photometric: .monochrome1))
        expectIntakeError(.invalidImage, constant, bytes: gray, ImageDescriptor(width: 16, height: 16, format: .rgb8))
        // A varying image whose values all lie below the window: every level is 0.
        expectIntakeError(.invalidImage, "\(constant) 0 of 65535 (a blank image, or a window that no pixel falls inside)",
                          bytes: Self.ramp, ImageDescriptor(width: 16, height: 16, format: .gray8,
                                                            window: Window(center: 1000, width: 10)))
        let floats = [Float](repeating: -3.5, count: 16 * 16).withUnsafeBytes { [UInt8]($0) }
        expectIntakeError(.invalidImage, "\(constant) 0 of 65535", bytes: floats,
                          ImageDescriptor(width: 16, height: 16, format: .grayFloat32))
        // Constant only in the first rows: the last row differs, and the image is accepted.
        var lastRowDiffers = [UInt8](repeating: 100, count: 16 * 20)
        lastRowDiffers[16 * 19 + 15] = 101
        XCTAssertNoThrow(try lastRowDiffers.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: ImageDescriptor(width: 16, height: 20, format: .gray8),
                                           size: 8)
        })
    }

    private static let ramp = (0..<(16 * 16)).map { UInt8($0) }

    func testNonFiniteFloatPixels() {
        for bad in [Float.nan, .infinity, -.infinity] {
            var samples = [Float](repeating: 1, count: 16 * 16)
            samples[3 * 16 + 5] = bad
            let bytes = samples.withUnsafeBytes { [UInt8]($0) }
            expectIntakeError(.invalidImage, "image pixel (5, 3) is \(Double(bad)); GRAYF32 samples must be finite",
                              bytes: bytes, ImageDescriptor(width: 16, height: 16, format: .grayFloat32))
        }
        // Finite samples whose modality value overflows.
        let big = [Float](repeating: 3e38, count: 16 * 16).withUnsafeBytes { [UInt8]($0) }
        expectIntakeError(.invalidImage, "image pixel (0, 0) = ", bytes: big,
                          ImageDescriptor(width: 16, height: 16, format: .grayFloat32, rescaleSlope: 1e300))
        var spread = [Float](repeating: 3e38, count: 16 * 16)
        spread[0] = -3e38
        let spreadBytes = spread.withUnsafeBytes { [UInt8]($0) }
        expectIntakeError(.invalidImage, "is too wide to normalize", bytes: spreadBytes,
                          ImageDescriptor(width: 16, height: 16, format: .grayFloat32, rescaleSlope: 5e269))
    }
}
