import XCTest
@testable import CXRMetrics

/// pycocoevalcap's BLEU: clipped n-gram precision with its tiny/small smoothing, "closest" reference length.
final class BLEUTests: XCTestCase {
    func report(_ pairs: [(String, [String])]) throws -> ScoringReport {
        try CaptionScorer(bestOf: 1).score(pairs.enumerated().map {
            ScoringItem(id: "i\($0.offset)", candidates: [$0.element.0], references: $0.element.1)
        })
    }

    func testExactMatchIsOneUpToTheSmoothing() throws {
        let bleu = try report([("the cat sat on the mat", ["the cat sat on the mat"])]).topOne.perImage[0].bleu
        // (6 + 1e-15) / (6 + 1e-9) etc.: 1 - O(1e-10).
        for value in bleu { XCTAssertEqual(value, 1, accuracy: 1e-9) }
        XCTAssertLessThan(bleu[3], 1)
    }

    func testUnigramCountsAreClippedAtTheReferenceCount() throws {
        let bleu = try report([("the the the", ["the cat"])]).topOne.perImage[0].bleu
        XCTAssertEqual(bleu[0], (1 + BLEU.tiny) / (3 + BLEU.small), accuracy: 1e-15)  // no brevity penalty
        XCTAssertLessThan(bleu[1], 1e-7, "no bigram matches: only the 1e-15 smoothing remains")
    }

    func testClosestReferenceLengthPrefersTheShorterOnATie() throws {
        // Candidate length 4; references of length 2 and 6 are both 2 away: the 2 is used, no brevity penalty.
        let tie = try report([("a b c d", ["a b", "a b c d e f"])]).topOne.perImage[0]
        XCTAssertEqual(tie.bleu[0], 1, accuracy: 1e-9)
        // Length 5 is closest here: brevity penalty exp(1 - 5/4).
        let closer = try report([("a b c d", ["a b", "a b c d e"])]).topOne.perImage[0]
        XCTAssertEqual(closer.bleu[0], exp(1 - 5.0 / 4), accuracy: 1e-9)
    }

    func testEmptyCandidateScoresZero() throws {
        let bleu = try report([("", ["no acute disease"])]).topOne.perImage[0].bleu
        XCTAssertEqual(bleu, [0, 0, 0, 0])
    }

    func testCorpusBLEUSumsStatisticsRatherThanAveragingImages() throws {
        let scores = try report([("a b c d", ["a b c d"]), ("x", ["y z"])]).topOne
        // Corpus unigrams: 4 matches of 5 guesses; lengths 5 vs 6: brevity penalty exp(1 - 6/5).
        let expected = (4 + BLEU.tiny) / (5 + BLEU.small) * exp(1 - (6 + BLEU.small) / (5 + BLEU.tiny))
        XCTAssertEqual(scores.corpus.bleu[0], expected, accuracy: 1e-12)
        let meanOfImages = (scores.perImage[0].bleu[0] + scores.perImage[1].bleu[0]) / 2
        XCTAssertGreaterThan(abs(scores.corpus.bleu[0] - meanOfImages), 0.1)
    }
}
