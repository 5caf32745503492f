import XCTest
@testable import CXRMetrics
@testable import CXRSupport

final class MetricDocumentFrequencyTableTests: XCTestCase {
    func testCountsDocumentsNotOccurrences() throws {
        let table = try DocumentFrequencyTable(references: [
            ["No acute disease.", "No acute disease, no effusion."],
            ["Acute fracture."],
            ["Normal."],
        ])
        XCTAssertEqual(table.documentCount, 3)
        XCTAssertEqual(table.documentFrequency(of: ["acute"]), 2)
        XCTAssertEqual(table.documentFrequency(of: ["no"]), 1, "several references of one image count once")
        XCTAssertEqual(table.documentFrequency(of: ["no", "acute", "disease", "no"]), 1)
        XCTAssertEqual(table.documentFrequency(of: ["pneumothorax"]), 0)
        XCTAssertEqual(table.tokenizerName, ScoringTokenizer().name)
    }

    func testSerializationRoundTrips() throws {
        let table = try DocumentFrequencyTable(references: [["Heart size normal."], ["Heart size enlarged; 两肺"]])
        let text = table.serialized()
        XCTAssertTrue(text.hasPrefix("cxrcaption-document-frequency 1\ntokenizer cxrcaption-scoring-1 han=characters\n"
            + "documents 2\nngrams \(table.ngramCount)\n"))
        XCTAssertTrue(text.contains("\n2\theart size\n"))
        XCTAssertEqual(try DocumentFrequencyTable(parsing: text), table)
        XCTAssertEqual(try DocumentFrequencyTable(parsing: text).serialized(), text)
    }

    func testMalformedTablesAreRejectedWithTheLine() throws {
        let good = "cxrcaption-document-frequency 1\ntokenizer t\ndocuments 3\nngrams 1\n2\ta b\n"
        XCTAssertNoThrow(try DocumentFrequencyTable(parsing: good))
        let cases: [(String, String)] = [
            ("", "4 header lines"),
            ("cxrcaption-document-frequency 2\ntokenizer t\ndocuments 3\nngrams 0\n", "line 1"),
            ("cxrcaption-document-frequency 1\ntokenizer t\ndocuments x\nngrams 0\n", "line 3"),
            ("cxrcaption-document-frequency 1\ntokenizer t\ndocuments 0\nngrams 0\n", "at least 1"),
            ("cxrcaption-document-frequency 1\ntokenizer t\ndocuments 3\nngrams 2\n2\ta b\n", "declares 2"),
            ("cxrcaption-document-frequency 1\ntokenizer t\ndocuments 3\nngrams 1\n4\ta b\n", "outside 1...3"),
            ("cxrcaption-document-frequency 1\ntokenizer t\ndocuments 3\nngrams 1\n0\ta b\n", "outside 1...3"),
            ("cxrcaption-document-frequency 1\ntokenizer t\ndocuments 3\nngrams 1\n1\ta b c d e\n", "1...4 tokens"),
            ("cxrcaption-document-frequency 1\ntokenizer t\ndocuments 3\nngrams 1\n1\ta  b\n", "1...4 tokens"),
            ("cxrcaption-document-frequency 1\ntokenizer t\ndocuments 3\nngrams 1\n1 a\n", "line 5"),
            ("cxrcaption-document-frequency 1\ntokenizer t\ndocuments 3\nngrams 2\n1\ta\n2\ta\n", "appears twice"),
        ]
        for (text, fragment) in cases {
            XCTAssertThrowsError(try DocumentFrequencyTable(parsing: text), fragment) { error in
                let error = error as? CXRError
                XCTAssertEqual(error?.kind, .invalidArgument)
                XCTAssertTrue(error?.message.contains(fragment) ?? false, "\(error?.message ?? "") lacks \(fragment)")
            }
        }
    }

    func testTableModeUsesTheTablesDocumentCount() throws {
        // df from a 4-document corpus where "normal" occurs in 2: idf(normal) = ln 4 - ln 2 for any scored set.
        let table = try DocumentFrequencyTable(references: [["normal"], ["normal heart"], ["effusion"], ["edema"]])
        let items = [ScoringItem(id: "a", candidates: ["normal"], references: ["normal"])]
        let report = try CaptionScorer(documentFrequency: .table(table)).score(items)
        XCTAssertEqual(report.documentFrequency, .table(documents: 4))
        // One unigram, cosine 1; no bigrams: (1 + 0 + 0 + 0) / 4 x 10 = 2.5 (it would be 0 with the
        // single evaluated image's df).
        XCTAssertEqual(report.topOne.corpus.ciderD, 2.5, accuracy: 1e-12)
        XCTAssertEqual(try CaptionScorer().score(items).topOne.corpus.ciderD, 0)
    }

    func testATableOfAnotherTokenizerIsRefused() throws {
        let table = try DocumentFrequencyTable(references: [["两肺"]], tokenizer: ScoringTokenizer(han: .words))
        let items = [ScoringItem(id: "a", candidates: ["两肺"], references: ["两肺"])]
        XCTAssertThrowsError(try CaptionScorer(documentFrequency: .table(table)).score(items)) { error in
            XCTAssertTrue((error as? CXRError)?.message.contains("han=words") ?? false)
        }
    }
}
