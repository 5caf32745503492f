import XCTest
@testable import CXRDecoding
@testable import CXRModel
@testable import CXRSupport

final class VocabularyTests: XCTestCase {
    static let english = Vocabulary(tokens: ["<pad>", "<start>", "<end>", "<unk>", "no", "acute", "disease", ".", ",",
                                      "%", ")", "(", "?!", "..", "a.b", ""],
                             padID: 0, startID: 1, endID: 2, unknownID: 3, join: .spaceSeparated)
    static let chinese = Vocabulary(tokens: ["<pad>", "<s>", "</s>", "<nou>", "心", "肺", "未见", "异常", "。", "，"],
                             padID: 0, startID: 1, endID: 2, unknownID: 3, join: .concatenate)

    func testEnglishSeparatesWordsAndAttachesPunctuation() throws {
        XCTAssertEqual(try Self.english.text(for: [4, 5, 6, 7]), "no acute disease.")
        XCTAssertEqual(try Self.english.text(for: [4, 8, 5, 7, 6]), "no, acute. disease")
        XCTAssertEqual(try Self.english.text(for: [11, 4, 10, 9, 12, 13]), "( no)%?!..")
        // Mixed tokens are words; a leading punctuation token has nothing to attach to.
        XCTAssertEqual(try Self.english.text(for: [4, 14]), "no a.b")
        XCTAssertEqual(try Self.english.text(for: [7, 4]), ". no")
        XCTAssertEqual(try Self.english.text(for: []), "")
    }

    func testSpecialTokensAreLeftOutAndUnknownIsWrittenAsNou() throws {
        XCTAssertEqual(try Self.english.text(for: [1, 4, 0, 3, 7, 2]), "no <nou>.")
        XCTAssertEqual(try Self.english.text(for: [3]), "<nou>")
        XCTAssertEqual(try Self.chinese.text(for: [1, 4, 5, 3, 2]), "心肺<nou>")
    }

    func testChineseConcatenatesUTF8() throws {
        let text = try Self.chinese.text(for: [4, 5, 6, 7, 8, 9, 4])
        XCTAssertEqual(text, "心肺未见异常。，心")
        XCTAssertEqual(Array(text.utf8).count, 27)
    }

    func testRejectsIDsOutsideTheVocabulary() {
        XCTAssertThrowsError(try Self.english.text(for: [4, 16])) {
            XCTAssertEqual($0 as? CXRError, CXRError(.invalidArgument, "token id 16 is outside 0..<16"))
        }
        XCTAssertThrowsError(try Self.chinese.text(for: [-1])) {
            XCTAssertEqual($0 as? CXRError, CXRError(.invalidArgument, "token id -1 is outside 0..<10"))
        }
    }

    func testPunctuationClassification() {
        for token in [".", ",", ";", ":", "!", "?", "%", ")", "]", "...", ").", "]%"] {
            XCTAssertTrue(Vocabulary.attachesToPrevious(token), token)
        }
        for token in ["", "a", "(", "[", "-", ".a", "。", "1.", "<nou>"] {
            XCTAssertFalse(Vocabulary.attachesToPrevious(token), token)
        }
    }
}
