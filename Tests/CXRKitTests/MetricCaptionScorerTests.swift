import XCTest
@testable import CXRMetrics
@testable import CXRSupport

final class MetricCaptionScorerTests: XCTestCase {
    static let references = ["no acute cardiopulmonary abnormality", "no acute disease"]
    var references: [String] { Self.references }

    func corpus() -> [ScoringItem] {
        [ScoringItem(id: "a", candidates: ["normal chest", "no acute disease", "no acute cardiopulmonary abnormality"],
                     references: references),
         ScoringItem(id: "b", candidates: ["heart is enlarged"], references: ["the heart is enlarged"]),
         ScoringItem(id: "c", candidates: ["no effusion", "no effusion"], references: ["small left effusion"])]
    }

    func testBestOfKPicksTheHighestCIDErDAmongTheFirstK() throws {
        let report = try CaptionScorer(bestOf: 3).score(corpus())
        XCTAssertEqual(report.ids, ["a", "b", "c"])
        XCTAssertEqual(report.bestOf.candidateCIDErD.map(\.count), [3, 1, 2])
        let a = report.bestOf.candidateCIDErD[0]
        XCTAssertEqual(report.bestOf.chosenRank[0], a.indices.max { a[$0] < a[$1] })
        XCTAssertGreaterThan(report.bestOf.chosenRank[0], 0)
        XCTAssertEqual(report.bestOf.chosenRank[2], 0, "a tie keeps the better-ranked candidate")
        XCTAssertEqual(report.bestOf.scores.corpus.ciderD,
                       report.bestOf.candidateCIDErD.map { $0.max()! }.reduce(0, +) / 3, accuracy: 1e-12)
        XCTAssertEqual(report.topOne.perImage.map(\.ciderD), report.bestOf.candidateCIDErD.map { $0[0] })
        XCTAssertEqual(report.maximumCandidateCount, 3)
    }

    func testCandidatesBeyondKAreIgnored() throws {
        let report = try CaptionScorer(bestOf: 2).score(corpus())
        XCTAssertEqual(report.bestOf.candidateCIDErD.map(\.count), [2, 1, 2])
        let three = try CaptionScorer(bestOf: 3).score(corpus())
        XCTAssertLessThan(report.bestOf.scores.corpus.ciderD, three.bestOf.scores.corpus.ciderD)
        XCTAssertEqual(report.topOne, three.topOne)
    }

    func testCandidateCIDErDDoesNotDependOnOtherImagesCandidates() throws {
        var other = corpus()
        other[1].candidates = ["something else entirely"]
        let a = try CaptionScorer().score(corpus()), b = try CaptionScorer().score(other)
        XCTAssertEqual(a.bestOf.candidateCIDErD[0], b.bestOf.candidateCIDErD[0])
    }

    func testPreTokenizedInputScoresLikeText() throws {
        let tokenizer = ScoringTokenizer()
        let tokenized = corpus().map { item in
            TokenizedScoringItem(id: item.id, candidates: item.candidates.map { tokenizer.tokens(in: $0) },
                                 references: item.references.map { tokenizer.tokens(in: $0) })
        }
        XCTAssertEqual(try CaptionScorer().score(tokenized: tokenized, tokenizerName: tokenizer.name),
                       try CaptionScorer().score(corpus()))
    }

    func testBadInputThrowsNamingTheValue() {
        func expect(_ items: [ScoringItem], bestOf: Int = 3, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try CaptionScorer(bestOf: bestOf).score(items), line: line) { error in
                let message = (error as? CXRError)?.message ?? ""
                XCTAssertTrue(message.contains(fragment), "\"\(message)\" lacks \"\(fragment)\"", line: line)
            }
        }
        expect([], "no images")
        expect(corpus(), bestOf: 0, "best-of k 0")
        expect(corpus() + [corpus()[0]], "\"a\" appears more than once")
        expect([ScoringItem(id: "x", candidates: [], references: ["a"])], "\"x\" has no candidates")
        expect([ScoringItem(id: "y", candidates: ["a"], references: [])], "\"y\" has no references")
        XCTAssertThrowsError(try CaptionScorer().score(
            tokenized: [TokenizedScoringItem(id: "z", candidates: [["a b"]], references: [["a"]])],
            tokenizerName: "t")) { error in
            XCTAssertTrue((error as? CXRError)?.message.contains("\"a b\"") ?? false)
        }
    }
}
