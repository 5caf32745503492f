import XCTest
@testable import CXRIntake
@testable import CXRKit

/// The abort callback is polled while a large image is scanned and resized, so that a caller can stop a
/// huge intake promptly instead of waiting for the first dense layer.
final class IntakeAbortTests: XCTestCase {
    /// A GRAY16 ramp of `side` x `side` (no window: the modality range is scanned, then the image resized).
    private func gray16(side: Int) -> (bytes: [UInt8], descriptor: ImageDescriptor) {
        var bytes = [UInt8](repeating: 0, count: side * side * 2)
        for index in 0..<side * side {
            let value = UInt16(truncatingIfNeeded: index &* 2654435761 >> 16)
            bytes[2 * index] = UInt8(truncatingIfNeeded: value)
            bytes[2 * index + 1] = UInt8(truncatingIfNeeded: value >> 8)
        }
        return (bytes, ImageDescriptor(width: side, height: side, format: .gray16))
    }

    func testIntakePollsEveryBandOfRowsAndStopsAtOnce() throws {
        let side = 1024
        let (bytes, descriptor) = gray16(side: side)
        var polls = 0
        let image = try bytes.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: descriptor, size: 64,
                                           shouldAbort: { polls += 1; return false })
        }
        // One poll per band of rows in the range scan and again in the resize.
        XCTAssertEqual(polls, 2 * side / ImageIntake.abortPollRows)
        let plain = try bytes.withUnsafeBytes { try ImageIntake.equalizedImage(pixels: $0, descriptor: descriptor, size: 64) }
        XCTAssertEqual(image, plain)

        for abortAt in [1, side / ImageIntake.abortPollRows + 1] {  // during the scan, then during the resize
            polls = 0
            assertCXRError(.aborted, "aborted by the caller's abort callback") {
                try bytes.withUnsafeBytes {
                    try ImageIntake.equalizedImage(pixels: $0, descriptor: descriptor, size: 64,
                                                   shouldAbort: { polls += 1; return polls >= abortAt })
                }
            }
            XCTAssertEqual(polls, abortAt)
        }
    }

    func testSessionPassesTheCallbackToIntake() throws {
        let model = try TinyModel(withFindings: true).captionModel()
        let session = try CaptionSession(model: model)
        let side = 1024
        let (bytes, descriptor) = gray16(side: side)
        // A GRAYF32 image whose last row holds a NaN: intake would reject it when the scan reaches it, so an
        // `aborted` error shows that the callback was polled inside intake, before that row.
        var floats = [Float](repeating: 0.5, count: side * side)
        floats[side * side - 1] = .nan
        let broken = ImageDescriptor(width: side, height: side, format: .grayFloat32)
        var polls = 0
        assertCXRError(.aborted, "aborted") {
            try floats.withUnsafeBytes {
                try session.generate(pixels: $0, image: broken, shouldAbort: { polls += 1; return true })
            }
        }
        XCTAssertEqual(polls, 1)
        polls = 0
        assertCXRError(.aborted, "aborted") {
            try floats.withUnsafeBytes {
                try session.findings(pixels: $0, image: broken, shouldAbort: { polls += 1; return polls == 3 })
            }
        }
        XCTAssertEqual(polls, 3)
        assertCXRError(.invalidImage, "GRAYF32 samples must be finite") {
            try floats.withUnsafeBytes { try session.findings(pixels: $0, image: broken, shouldAbort: { false }) }
        }
        // The session still works after an abort.
        polls = 0
        let captions = try bytes.withUnsafeBytes {
            try session.generate(pixels: $0, image: descriptor, shouldAbort: { polls += 1; return false })
        }
        XCTAssertFalse(captions.isEmpty)
        XCTAssertGreaterThan(polls, 2 * side / ImageIntake.abortPollRows)
    }
}
