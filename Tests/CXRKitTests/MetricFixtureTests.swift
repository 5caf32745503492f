import Foundation
import XCTest
@testable import CXRMetrics
@testable import CXRSupport

/// Our scores against pycocoevalcap's, frozen in Fixtures/metrics (see its README.md), so the equality is
/// checked where Python is absent. The live comparison is Tests/python/test_metrics_pycocoevalcap.py.
final class MetricFixtureTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/metrics")
    static let metricNames = ["CIDEr-D", "CIDEr", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L"]
    /// pycocoevalcap's values are reproduced operation for operation; allow only last-bit noise.
    static let tolerance = 1e-12

    func json(_ name: String) throws -> Any {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data)
    }

    func items(candidates: [String: [String]], references: [String: [String]]) -> [ScoringItem] {
        candidates.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map {
            ScoringItem(id: $0, candidates: candidates[$0]!, references: references[$0]!)
        }
    }

    func values(_ scores: MetricScores) -> [String: Double] {
        ["CIDEr-D": scores.ciderD, "CIDEr": scores.cider, "BLEU-1": scores.bleu[0], "BLEU-2": scores.bleu[1],
         "BLEU-3": scores.bleu[2], "BLEU-4": scores.bleu[3], "ROUGE-L": scores.rougeL]
    }

    /// Compares one report with pycocoevalcap's expected JSON; returns the largest difference.
    @discardableResult
    func assertMatches(_ report: ScoringReport, _ expected: [String: Any], _ label: String,
                       file: StaticString = #filePath, line: UInt = #line) -> Double {
        var worst = 0.0
        func compare(_ actual: MetricScores, _ expected: [String: Any], _ what: String) {
            for name in Self.metricNames {
                guard let value = expected[name] as? Double else {
                    return XCTFail("\(label) \(what): no \(name) in the fixture", file: file, line: line)
                }
                let got = values(actual)[name]!
                worst = max(worst, abs(got - value))
                XCTAssertEqual(got, value, accuracy: Self.tolerance, "\(label) \(what) \(name)", file: file, line: line)
            }
        }
        XCTAssertEqual(report.documentFrequency.name, expected["df_mode"] as? String, label, file: file, line: line)
        XCTAssertEqual(report.documentFrequency.documents, expected["df_documents"] as? Int, label, file: file, line: line)
        for (part, set) in [("top1", report.topOne), ("best_of_k", report.bestOf.scores)] {
            let section = expected[part] as! [String: Any]
            compare(set.corpus, section["corpus"] as! [String: Any], "\(part) corpus")
            let perImage = section["per_image"] as! [String: Any]
            XCTAssertEqual(Set(perImage.keys), Set(report.ids), label, file: file, line: line)
            for (index, id) in report.ids.enumerated() {
                let image = perImage[id] as! [String: Any]
                compare(set.perImage[index], image, "\(part) \(id)")
                if part == "best_of_k" {
                    XCTAssertEqual(report.bestOf.chosenRank[index], image["rank"] as? Int, "\(label) rank of \(id)",
                                   file: file, line: line)
                    let candidates = image["candidates_cider_d"] as! [Double]
                    XCTAssertEqual(report.bestOf.candidateCIDErD[index].count, candidates.count, file: file, line: line)
                    for (got, want) in zip(report.bestOf.candidateCIDErD[index], candidates) {
                        worst = max(worst, abs(got - want))
                        XCTAssertEqual(got, want, accuracy: Self.tolerance, "\(label) \(id) candidates",
                                       file: file, line: line)
                    }
                }
            }
        }
        return worst
    }

    func testMainCaseEqualsPycocoevalcap() throws {
        let expected = try json("expected.json") as! [String: Any]
        let candidates = try json("candidates.json") as! [String: [String]]
        let references = try json("references.json") as! [String: [String]]
        let report = try CaptionScorer(bestOf: expected["best_of"] as! Int)
            .score(items(candidates: candidates, references: references))
        XCTAssertEqual(report.ids.count, 60)
        XCTAssertTrue(report.bestOf.chosenRank.contains { $0 > 0 }, "the fixture exercises best-of-k choices")
        XCTAssertGreaterThan(report.bestOf.scores.corpus.ciderD, report.topOne.corpus.ciderD)
        let worst = assertMatches(report, expected["main"] as! [String: Any], "main")
        print("MetricFixtureTests main: max |ours - pycocoevalcap| = \(worst)")
    }

    func testDocumentFrequencyTableCaseEqualsPycocoevalcap() throws {
        let expected = try json("expected.json") as! [String: Any]
        let candidates = try json("candidates.json") as! [String: [String]]
        let references = try json("references.json") as! [String: [String]]
        let corpus = try json("df_corpus.json") as! [String: [String]]
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent("df_corpus.df"), encoding: .utf8)

        // The table pycocoevalcap counted (written by Python) equals the one we count, byte for byte.
        let parsed = try DocumentFrequencyTable(parsing: text)
        let ids = corpus.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let counted = try DocumentFrequencyTable(references: ids.map { corpus[$0]! })
        XCTAssertEqual(parsed, counted)
        XCTAssertEqual(counted.serialized(), text)

        let report = try CaptionScorer(documentFrequency: .table(parsed), bestOf: expected["best_of"] as! Int)
            .score(items(candidates: candidates, references: references))
        XCTAssertEqual(report.documentFrequency, .table(documents: corpus.count))
        let worst = assertMatches(report, expected["table"] as! [String: Any], "table")
        print("MetricFixtureTests table: max |ours - pycocoevalcap| = \(worst)")
    }

    func testEdgeCasesEqualPycocoevalcap() throws {
        let expected = try json("expected.json") as! [String: Any]
        let cases = expected["edge_cases"] as! [String: [String: Any]]
        XCTAssertEqual(Set(cases.keys), ["single_image", "two_images", "empty_and_one_token", "unicode", "han_words"])
        for (name, edge) in cases {
            let han = HanTokenization(rawValue: edge["han"] as! String)!
            let report = try CaptionScorer(tokenizer: ScoringTokenizer(han: han), bestOf: 
                (edge["candidates"] as! [String: [String]]).values.map(\.count).max()!)
                .score(items(candidates: edge["candidates"] as! [String: [String]],
                             references: edge["references"] as! [String: [String]]))
            assertMatches(report, edge["expected"] as! [String: Any], name)
        }
    }
}
