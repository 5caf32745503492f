import XCTest
@testable import CXRMetrics

/// CIDEr-D and CIDEr on cases small enough to work out by hand.
final class CIDErTests: XCTestCase {
    func scores(_ pairs: [(candidate: String, references: [String])]) throws -> [MetricScores] {
        let items = pairs.enumerated().map {
            ScoringItem(id: "i\($0.offset)", candidates: [$0.element.candidate], references: $0.element.references)
        }
        return try CaptionScorer(bestOf: 1).score(items).topOne.perImage
    }

    func testSingleImageCorpusScoresZeroBecauseEveryIdfIsZero() throws {
        let result = try scores([("no acute cardiopulmonary abnormality", ["no acute cardiopulmonary abnormality"])])
        XCTAssertEqual(result[0].ciderD, 0)
        XCTAssertEqual(result[0].cider, 0)
        XCTAssertEqual(result[0].bleu[0], 1, accuracy: 1e-9, "BLEU does not depend on the corpus")
    }

    func testExactMatchScoresTenWhenAllFourOrdersExist() throws {
        let result = try scores([("heart size is normal", ["heart size is normal"]),
                                 ("lungs are clear", ["no effusion seen"])])
        // idf ln 2 for every n-gram of image 0; cosine 1 for n = 1...4; no length difference.
        XCTAssertEqual(result[0].ciderD, 10, accuracy: 1e-12)
        XCTAssertEqual(result[0].cider, 10, accuracy: 1e-12)
        XCTAssertEqual(result[1].ciderD, 0)
    }

    func testShortExactMatchLosesTheOrdersItLacks() throws {
        // Two words: n = 1, 2 have cosine 1, n = 3, 4 have no n-grams: (1 + 1 + 0 + 0) / 4 x 10.
        let result = try scores([("normal chest", ["normal chest"]), ("x", ["y"])])
        XCTAssertEqual(result[0].ciderD, 5, accuracy: 1e-12)
    }

    func testClippingOfRepeatedNGrams() throws {
        // Candidate "red red" against "red car" (other image "blue sky"): idf ln 2 everywhere.
        // n = 1: clipped min(2 ln2, ln2) ln2 / (2 ln2 * sqrt(2) ln2) = 1 / (2 sqrt 2); plain: 1 / sqrt 2.
        // n = 2: "red red" is not in the reference: 0. Same bigram count (1 each): no penalty.
        let result = try scores([("red red", ["red car"]), ("blue", ["blue sky"])])
        XCTAssertEqual(result[0].ciderD, 10 / (8 * 2.0.squareRoot()), accuracy: 1e-12)
        XCTAssertEqual(result[0].cider, 10 / (4 * 2.0.squareRoot()), accuracy: 1e-12)
    }

    func testGaussianLengthPenaltyWithSigmaSix() throws {
        // No clipping binds here (the candidate's counts are below the reference's), so CIDEr-D / CIDEr is the
        // penalty exp(-delta^2 / 72), delta = bigram counts 1 - 4.
        let result = try scores([("red car", ["red car red car red"]), ("blue", ["blue sky"])])
        XCTAssertGreaterThan(result[0].cider, 0)
        XCTAssertEqual(result[0].ciderD / result[0].cider, exp(-9.0 / 72), accuracy: 1e-14)
    }

    func testEmptyCandidateScoresZero() throws {
        let result = try scores([("", ["normal chest"]), ("...", ["no effusion"]), ("x", ["y"])])
        XCTAssertEqual(result[0].ciderD, 0)
        XCTAssertEqual(result[1].cider, 0)
    }

    func testScoreIsAveragedOverReferences() throws {
        // Image 0's second reference shares nothing with the candidate: half the single-reference score.
        let one = try scores([("heart size is normal", ["heart size is normal"]), ("a b", ["c d"]),
                              ("e", ["f"])])
        let two = try scores([("heart size is normal", ["heart size is normal", "zz yy"]), ("a b", ["c d"]),
                              ("e", ["f"])])
        XCTAssertEqual(two[0].ciderD, one[0].ciderD / 2, accuracy: 1e-12)
    }

    func testCorpusScoreIsTheMeanOfImages() throws {
        let items = [ScoringItem(id: "a", candidates: ["heart size is normal"], references: ["heart size is normal"]),
                     ScoringItem(id: "b", candidates: ["lungs clear"], references: ["lungs are clear"]),
                     ScoringItem(id: "c", candidates: ["no"], references: ["no effusion"])]
        let report = try CaptionScorer().score(items)
        let perImage = report.topOne.perImage
        XCTAssertEqual(report.topOne.corpus.ciderD, perImage.map(\.ciderD).reduce(0, +) / 3, accuracy: 1e-12)
        XCTAssertEqual(report.topOne.corpus.rougeL, perImage.map(\.rougeL).reduce(0, +) / 3, accuracy: 1e-12)
    }

    func testNumpySummationOrder() {
        // Pairwise summation differs from left-to-right summation on these values; numpy.sum gives 1.0000000000000016.
        var values = [1.0] + Array(repeating: 1e-16, count: 16)
        values.append(contentsOf: Array(repeating: 0, count: 3))
        let leftToRight = values.reduce(0, +)
        XCTAssertEqual(leftToRight, 1.0)
        XCTAssertEqual(numpySum(values[...]), 1.0000000000000016)
        XCTAssertEqual(numpySum([1, 2, 3][...]), 6)
        XCTAssertEqual(numpyMean([2, 4]), 3)
    }
}
