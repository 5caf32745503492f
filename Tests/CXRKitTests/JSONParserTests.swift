import XCTest
@testable import CXRSupport

final class JSONParserTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    private func assertRejects(_ text: String, _ fragment: String, offset: Int? = nil,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            let value = try JSONParser.parse(text)
            XCTFail("expected an error containing \"\(fragment)\", parsed \(value)", file: file, line: line)
        } catch {
            XCTAssertTrue(error.message.contains(fragment), "message \"\(error)\" lacks \"\(fragment)\"",
                          file: file, line: line)
            if let offset { XCTAssertEqual(error.offset, offset, "offset of \(error)", file: file, line: line) }
            XCTAssertTrue(error.description.contains("byte offset \(error.offset)"), file: file, line: line)
        }
    }

    func testLiteralsAndWhitespace() throws {
        XCTAssertEqual(try parse(" \t\r\n true "), .bool(true))
        XCTAssertEqual(try parse("false"), .bool(false))
        XCTAssertEqual(try parse("null"), .null)
        assertRejects("tru", "invalid literal", offset: 0)
        assertRejects("nul", "invalid literal")
        assertRejects("True", "expected a value", offset: 0)
    }

    func testNumbersKeepExactIntegers() throws {
        XCTAssertEqual(try parse("64").integerValue, 64)
        XCTAssertEqual(try parse("-7").integerValue, -7)
        XCTAssertEqual(try parse("64.0").integerValue, 64)
        XCTAssertEqual(try parse("6.4e1").integerValue, 64)
        XCTAssertEqual(try parse("9223372036854775807").integerValue, Int.max)
        let big = try parse("9223372036854775808")  // beyond Int: only the Double
        XCTAssertNil(big.integerValue)
        XCTAssertEqual(big.doubleValue, 9223372036854775808.0)
        XCTAssertNil(try parse("0.5").integerValue)
        XCTAssertEqual(try parse("0.5").doubleValue, 0.5)
        XCTAssertEqual(try parse("1e-05").doubleValue, 1e-5)
        XCTAssertEqual(try parse("-0").doubleValue, 0)
        XCTAssertEqual(try parse("1E+2").integerValue, 100)
    }

    func testRejectsMalformedNumbers() {
        assertRejects("01", "leading zero", offset: 0)
        assertRejects("1.", "after '.'", offset: 2)
        assertRejects(".5", "expected a value", offset: 0)
        assertRejects("-", "expected a digit", offset: 1)
        assertRejects("1e", "exponent", offset: 2)
        assertRejects("+1", "expected a value")
        assertRejects("1e400", "out of range", offset: 0)
        assertRejects("-1e400", "out of range")
        assertRejects("NaN", "expected a value")
        assertRejects("Infinity", "expected a value")
    }

    func testStringsWithEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\b\f\n\r\t""#), .string("a\"b\\c/d\u{8}\u{C}\n\r\t"))
        XCTAssertEqual(try parse(#""\u00e9\u4E2D""#), .string("é中"))
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try parse("\"肺 😀\""), .string("肺 😀"))
        XCTAssertEqual(try parse(#""""#), .string(""))
    }

    func testRejectsBadStrings() {
        assertRejects(#""abc"#, "unterminated string", offset: 0)
        assertRejects(#""a\x""#, #"invalid escape sequence '\x'"#, offset: 2)
        assertRejects(#""\ud83d""#, "not followed by a low surrogate", offset: 1)
        assertRejects(#""\ud83dx""#, "not followed by a low surrogate")
        assertRejects(#""\ud83d\u0041""#, "not a low surrogate")
        assertRejects(#""\ude00""#, "lone low surrogate", offset: 1)
        assertRejects(#""\u12G4""#, "invalid hex digit", offset: 5)
        assertRejects(#""\u12""#, #"truncated \u escape"#)
        assertRejects("\"a\u{1}b\"", "unescaped control character 0x1", offset: 2)
        assertRejects("\"tab\there\"", "unescaped control character 0x9")
    }

    func testRejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x22]
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try JSONParser.parse($0) }) { error in
            XCTAssertTrue("\(error)".contains("invalid UTF-8"), "\(error)")
        }
        let overlong: [UInt8] = [0x22, 0xC0, 0xAF, 0x22]
        XCTAssertThrowsError(try overlong.withUnsafeBytes { try JSONParser.parse($0) })
    }

    func testObjectsPreserveKeyOrderAndRejectDuplicates() throws {
        let value = try parse(#"{"z": 1, "a": [true, null], "m": {"x": "y"}}"#)
        guard case .object(let object) = value else { return XCTFail("not an object") }
        XCTAssertEqual(object.keys, ["z", "a", "m"])
        XCTAssertEqual(object["a"], .array([.bool(true), .null]))
        XCTAssertEqual(object["m"]?.objectValue?["x"], .string("y"))
        XCTAssertNil(object["missing"])
        assertRejects(#"{"a": 1, "a": 2}"#, "duplicate key \"a\"", offset: 9)
        XCTAssertNotEqual(try parse(#"{"a":1,"b":2}"#), try parse(#"{"b":2,"a":1}"#))
    }

    func testRejectsStructuralErrors() {
        assertRejects("", "unexpected end of input", offset: 0)
        assertRejects("   ", "unexpected end of input", offset: 3)
        assertRejects("[1, 2", "unterminated array")
        assertRejects("[1 2]", "expected ',' or ']'", offset: 3)
        assertRejects("[1,]", "expected a value", offset: 3)
        assertRejects(#"{"a" 1}"#, "expected ':'", offset: 5)
        assertRejects(#"{"a": 1,}"#, "expected a string key", offset: 8)
        assertRejects(#"{a: 1}"#, "expected a string key", offset: 1)
        assertRejects(#"{"a": 1"#, "unterminated object")
        assertRejects("1 2", "after the JSON value", offset: 2)
        assertRejects("{} x", "character 'x' after the JSON value", offset: 3)
        assertRejects("// c\n1", "expected a value")
    }

    func testDepthLimit() throws {
        let depth = JSONParser.maximumDepth
        let deepest = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        XCTAssertNoThrow(try parse(deepest))
        let tooDeep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        assertRejects(tooDeep, "nesting deeper than \(depth) levels", offset: depth)
        // Hostile input: far deeper than any stack could recurse; must fail cleanly.
        assertRejects(String(repeating: "[", count: 1_000_000), "nesting deeper")
        assertRejects(String(repeating: #"{"a":"#, count: 100_000), "nesting deeper")
    }

    func testSerializationRoundTrips() throws {
        let text = #"{"b":[1,-2.5,true,false,null],"a":"q\"\\\n\u0001é😀","c":{},"d":[],"e":1e-05}"#
        let value = try parse(text)
        let again = try parse(value.serialized)
        XCTAssertEqual(value, again)
        XCTAssertEqual(JSONValue.integer(42).serialized, "42")
        XCTAssertEqual(JSONValue.string("a\u{1}").serialized, #""a\u0001""#)
    }
}
