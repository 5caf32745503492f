import XCTest
@testable import CXRMetrics

final class MetricTokenizerTests: XCTestCase {
    let english = ScoringTokenizer()

    func testEnglishIsLowercasedAndPunctuationDropped() {
        XCTAssertEqual(english.tokens(in: "Heart size is normal. No XXXX, 1.5 cm."),
                       ["heart", "size", "is", "normal", "no", "xxxx", "1", "5", "cm"])
        XCTAssertEqual(english.tokens(in: "x-ray: patient's  T12-L1\t(stable)\n"),
                       ["x", "ray", "patient", "s", "t12", "l1", "stable"])
    }

    func testEmptyAndPunctuationOnlyTextHaveNoTokens() {
        XCTAssertEqual(english.tokens(in: ""), [])
        XCTAssertEqual(english.tokens(in: " ... -- !? "), [])
    }

    func testUnicodeLettersMarksAndNumbersStayInWords() {
        XCTAssertEqual(english.tokens(in: "Naïve RÉSUMÉ"), ["naïve", "résumé"])
        // A combining accent (category Mn) stays in its word; full lowercase mapping per scalar.
        XCTAssertEqual(english.tokens(in: "Cafe\u{301}!"), ["cafe\u{301}"])
        XCTAssertEqual(english.tokens(in: "İ"), ["i\u{307}"])
        // Each scalar is lowercased alone: no final-sigma rule.
        XCTAssertEqual(english.tokens(in: "ΣΑΣ"), ["σασ"])
        XCTAssertEqual(english.tokens(in: "Ｘ線 ｃｈｅｓｔ²"), ["ｘ", "線", "ｃｈｅｓｔ²"])
    }

    func testHanCharactersAreTokensOrWords() {
        XCTAssertEqual(english.tokens(in: "两肺纹理增多，心影不大。"),
                       ["两", "肺", "纹", "理", "增", "多", "心", "影", "不", "大"])
        XCTAssertEqual(english.tokens(in: "CT示肺结节2cm"), ["ct", "示", "肺", "结", "节", "2cm"])
        let words = ScoringTokenizer(han: .words)
        XCTAssertEqual(words.tokens(in: "两肺 纹理 增多 ， 心影 不大 。"), ["两肺", "纹理", "增多", "心影", "不大"])
        XCTAssertEqual(words.tokens(in: "两肺纹理增多。"), ["两肺纹理增多"])
        XCTAssertNotEqual(english.name, words.name)
    }

    func testTokensNeverContainWhitespace() {
        let text = "a\u{00A0}b\u{2003}c\u{3000}d\u{0085}e\u{2028}f"
        XCTAssertEqual(english.tokens(in: text), ["a", "b", "c", "d", "e", "f"])
    }

    func testTokensCompareByCodePointsNotCanonicalEquivalence() {
        // Swift Strings "é" and "e\u{301}" are equal; pycocoevalcap's tokens are not, and neither are ours.
        XCTAssertEqual("é", "e\u{301}")
        XCTAssertNotEqual(ExactText("é"), ExactText("e\u{301}"))
        XCTAssertEqual(ExactText("é"), ExactText("é"))
        var interner = TokenInterner()
        XCTAssertNotEqual(interner.id(of: "é"), interner.id(of: "e\u{301}"))
    }
}
