import XCTest
@testable import CXRMetrics

/// pycocoevalcap's ROUGE-L: F(beta = 1.2) of the best LCS precision and the best LCS recall.
final class ROUGELTests: XCTestCase {
    func rouge(_ candidate: String, _ references: [String]) throws -> Double {
        try CaptionScorer(bestOf: 1).score([ScoringItem(id: "x", candidates: [candidate], references: references)])
            .topOne.perImage[0].rougeL
    }

    func testLongestCommonSubsequence() {
        XCTAssertEqual(ROUGEL.longestCommonSubsequence([1, 2, 3, 4], [1, 3, 4, 5, 6]), 3)
        XCTAssertEqual(ROUGEL.longestCommonSubsequence([1, 2], [3]), 0)
        XCTAssertEqual(ROUGEL.longestCommonSubsequence([], [3]), 0)
        XCTAssertEqual(ROUGEL.longestCommonSubsequence([7, 7, 7], [7, 7]), 2)
    }

    func testFMeasureWithBetaOnePointTwo() throws {
        // LCS("a b c d", "a c d e f") = 3: P = 3/4, R = 3/5.
        let p = 0.75, r = 0.6
        XCTAssertEqual(try rouge("a b c d", ["a c d e f"]), (2.44 * p * r) / (r + 1.44 * p), accuracy: 1e-12)
    }

    func testPrecisionAndRecallAreMaximisedSeparatelyOverReferences() throws {
        // Reference 1 gives P = 1 (R = 1/4); reference 2 gives R = 1 (P = 1/2): F uses P = 1, R = 1.
        XCTAssertEqual(try rouge("a b", ["a b c d", "a"]), 1, accuracy: 1e-12)
    }

    func testEmptyCandidateScoresZeroAgainstWords() throws {
        XCTAssertEqual(try rouge("", ["no acute disease"]), 0)
        XCTAssertEqual(try rouge("normal", ["no acute disease"]), 0)
    }

    func testEmptyAgainstEmptyIsOneAsInPycocoevalcap() {
        // "".split(" ") is [""]: the empty sentence is one empty token that matches another empty sentence.
        XCTAssertEqual(ROUGEL.score(candidate: [], references: [[]]), 1)
        XCTAssertEqual(ROUGEL.score(candidate: [3], references: [[]]), 0)
        XCTAssertEqual(ROUGEL.score(candidate: [], references: [[3], []]), 1)
    }
}
