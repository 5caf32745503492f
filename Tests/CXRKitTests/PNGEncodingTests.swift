import CXRImageIO
import Foundation
import XCTest

/// Encoding through libpng, checked by decoding again (and against Pillow-made files).
final class PNGEncodingTests: XCTestCase {
    func testRoundTripsEveryLayout() throws {
        for channels in 1...4 {
            let samples = (0..<(19 * 13 * channels)).map { UInt8(($0 * 37) % 256) }
            let image = PNGImage(width: 19, height: 13, channels: channels, samples8: samples)
            XCTAssertEqual(try PNGImage(decoding: try image.encoded()), image, "8-bit, \(channels) channels")
            let wide = (0..<(19 * 13 * channels)).map { UInt16(($0 * 4099) % 65536) }
            let image16 = PNGImage(width: 19, height: 13, channels: channels, samples16: wide)
            XCTAssertEqual(try PNGImage(decoding: try image16.encoded()), image16, "16-bit, \(channels) channels")
        }
    }

    func testWritesAFileThatDecodesLikeThePillowFile() throws {
        let pillow = try IntakeFixtures.png("png_rgb8.png")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-png-\(getpid()).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try pillow.write(to: path)
        XCTAssertEqual(try PNGImage(contentsOf: path), pillow)
    }

    func testRefusesInconsistentImages() {
        let short = PNGImage(width: 4, height: 4, channels: 1, samples8: [1, 2, 3])
        XCTAssertThrowsError(try short.encoded()) { error in
            XCTAssertTrue("\(error)".contains("needs 16 samples but has 3"), "\(error)")
        }
        let channels = PNGImage(width: 1, height: 1, channels: 5, samples8: [1, 2, 3, 4, 5])
        XCTAssertThrowsError(try channels.encoded())
        let empty = PNGImage(width: 0, height: 3, channels: 1, samples8: [])
        XCTAssertThrowsError(try empty.encoded())
    }
}
