import XCTest
@testable import CXRKit

/// `teacherForcedLogits` returns exactly one row per given token, and refuses an empty token list.
final class CaptionSessionTeacherForcingTests: XCTestCase {
    func testOneRowPerTokenAndNoEmptyTokenList() throws {
        let model = try TinyModel().captionModel()
        let session = try CaptionSession(model: model)
        let side = model.config.inputSize
        let input = (0..<model.config.inChannels * side * side).map { Float($0 % 17) / 17 - 0.5 }
        let vocabularySize = model.vocabulary.count

        let two = try session.teacherForcedLogits(modelInput: input, tokens: [4, 5])
        XCTAssertEqual(two.count, 2 * vocabularySize)
        let one = try session.teacherForcedLogits(modelInput: input, tokens: [4])
        XCTAssertEqual(one, Array(two[..<vocabularySize]))  // row 0 depends only on <start>
        assertCXRError(.invalidArgument, "teacher forcing needs at least one token") {
            try session.teacherForcedLogits(modelInput: input, tokens: [])
        }
    }
}
