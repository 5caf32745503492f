import XCTest
@testable import CXRDecoding
@testable import CXRIntake
@testable import CXRKit

/// `generateWithFindings` gives what `generate` and `findings` give separately, from one encoder pass.
final class CaptionSessionFindingsTests: XCTestCase {
    private func image(side: Int) -> (bytes: [UInt8], descriptor: ImageDescriptor) {
        let bytes = (0..<side * side).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761) >> 13) }
        return (bytes, ImageDescriptor(width: side, height: side, format: .gray8))
    }

    func testCaptionsAndFindingsMatchTheSeparateCalls() throws {
        let model = try TinyModel(withFindings: true).captionModel()
        let session = try CaptionSession(model: model)
        var parameters = GenerationParameters()
        parameters.threads = 1
        for side in [40, 97] {
            let (bytes, descriptor) = image(side: side)
            let both = try bytes.withUnsafeBytes {
                try session.generateWithFindings(pixels: $0, image: descriptor, parameters: parameters)
            }
            let captions = try bytes.withUnsafeBytes {
                try session.generate(pixels: $0, image: descriptor, parameters: parameters)
            }
            let findings = try bytes.withUnsafeBytes {
                try session.findings(pixels: $0, image: descriptor, threads: 1)
            }
            XCTAssertEqual(both.captions.map(\.tokens), captions.map(\.tokens))
            XCTAssertEqual(both.captions.map(\.logProbability), captions.map(\.logProbability))
            XCTAssertEqual(both.findings, findings)
            XCTAssertEqual(findings.count, model.labels.count)
        }
    }

    func testWithoutAHeadFindingsAreNil() throws {
        let model = try TinyModel().captionModel()
        let session = try CaptionSession(model: model)
        let (bytes, descriptor) = image(side: 32)
        let both = try bytes.withUnsafeBytes { try session.generateWithFindings(pixels: $0, image: descriptor) }
        XCTAssertNil(both.findings)
        XCTAssertFalse(both.captions.isEmpty)
    }
}
