import CXRImageIO
import Foundation
import XCTest
@testable import CXRDecoding
@testable import CXRIntake
@testable import CXRKit
@testable import CXRSupport

/// A tiny Chinese model (jieba tokens, join "") trained on phantoms with template impressions captions
/// 16-bit phantoms through the normal intake; the library must return the PyTorch reference's beam results
/// token for token and as the same UTF-8 Chinese text. Fixtures/zh/README.md says how the files were made.
final class ChineseCaptionTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/zh")

    struct ExpectedResult {
        var tokens: [Int]
        var text: String
        var logProbability: Double
        var truncated: Bool
    }

    struct ExpectedImage {
        var file: String
        var findings: [String]
        var results: [ExpectedResult]
    }

    /// Han ideographs and the full-width punctuation the templates use; each is 3 bytes in UTF-8.
    static func isChinese(_ scalar: Unicode.Scalar) -> Bool {
        (0x4E00...0x9FFF).contains(scalar.value) || "，。、；：".unicodeScalars.contains(scalar)
    }

    static func path(_ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else { throw MissingFixture("missing \(path)") }
        return path
    }

    static func expected() throws -> (parameters: GenerationParameters, images: [ExpectedImage]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: try path("expected.json")))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(root["join"] as? String, "")
        let beam = try XCTUnwrap(root["beam"] as? [String: Any])
        var parameters = GenerationParameters()
        parameters.beamWidth = try XCTUnwrap(beam["beam_width"] as? Int)
        parameters.maxResults = try XCTUnwrap(beam["max_results"] as? Int)
        parameters.maxTokens = try XCTUnwrap(beam["max_tokens"] as? Int)
        parameters.lengthPenalty = try XCTUnwrap(beam["length_penalty"] as? Double)
        parameters.suppressUnknown = try XCTUnwrap(beam["suppress_unknown"] as? Bool)
        parameters.threads = 1
        let images = try XCTUnwrap(root["images"] as? [[String: Any]]).map { image in
            ExpectedImage(
                file: try XCTUnwrap(image["file"] as? String),
                findings: try XCTUnwrap(image["findings"] as? [String]),
                results: try XCTUnwrap(image["results"] as? [[String: Any]]).map { result in
                    ExpectedResult(tokens: try XCTUnwrap(result["tokens"] as? [Int]),
                                   text: try XCTUnwrap(result["text"] as? String),
                                   logProbability: try XCTUnwrap(result["log_prob"] as? Double),
                                   truncated: try XCTUnwrap(result["truncated"] as? Bool))
                })
        }
        return (parameters, images)
    }

    /// Decodes the fixture PNG and runs the full pipeline: intake, encoder, beam search.
    static func caption(_ file: String, session: CaptionSession,
                        parameters: GenerationParameters) throws -> [Caption] {
        let png = try PNGImage(contentsOf: try path(file))
        XCTAssertEqual(png.bitDepth, 16, file)
        XCTAssertEqual(png.channels, 1, file)
        let descriptor = ImageDescriptor(width: png.width, height: png.height, format: .gray16, bitsStored: 16)
        return try png.samples16.withUnsafeBytes { pixels in
            try session.generate(pixels: pixels, image: descriptor, parameters: parameters)
        }
    }

    var model: CaptionModel!
    var session: CaptionSession!

    override func setUpWithError() throws {
        model = try CaptionModel(contentsOfFile: try Self.path("model.safetensors"))
        session = try CaptionSession(model: model)
    }

    override func tearDown() {
        // XCTest keeps every test case alive to the end of the run: release what this one holds.
        session = nil
        model = nil
    }

    func testModelIsChineseWithConcatenatingJoin() throws {
        XCTAssertEqual(model.vocabulary.join, .concatenate)
        let loaded = try TestWeights.load(path: try Self.path("model.safetensors"))
        XCTAssertEqual(loaded.metadata.first { $0.key == "join" }?.value, "")
        XCTAssertEqual(loaded.metadata.first { $0.key == "tokenizer" }?.value, "zh")
        XCTAssertEqual(loaded.problems, [])
        let vocabulary = model.vocabulary
        let special: Set<Int> = [vocabulary.padID, vocabulary.startID, vocabulary.endID, vocabulary.unknownID]
        let words = vocabulary.tokens.indices.filter { !special.contains($0) }.map { vocabulary.tokens[$0] }
        XCTAssertGreaterThan(words.count, 20)
        for word in words {
            XCTAssertFalse(word.isEmpty)
            XCTAssertTrue(word.unicodeScalars.allSatisfy(Self.isChinese), "token \(word) is not Chinese")
        }
    }

    func testCaptionsEqualThePyTorchReference() throws {
        let (parameters, images) = try Self.expected()
        XCTAssertGreaterThanOrEqual(images.count, 3)
        for image in images {
            let captions = try Self.caption(image.file, session: session, parameters: parameters)
            XCTAssertEqual(captions.count, image.results.count, image.file)
            for (rank, (actual, expected)) in zip(captions, image.results).enumerated() {
                let name = "\(image.file) #\(rank)"
                XCTAssertEqual(actual.tokens, expected.tokens, name)
                XCTAssertEqual(actual.text, expected.text, name)
                XCTAssertEqual(Array(actual.text.utf8), Array(expected.text.utf8), name)
                XCTAssertEqual(actual.truncated, expected.truncated, name)
                XCTAssertEqual(actual.logProbability, expected.logProbability, accuracy: 1e-4, name)
            }
        }
    }

    func testTextIsChineseUTF8JoinedWithoutSpaces() throws {
        let (parameters, images) = try Self.expected()
        let vocabulary = model.vocabulary
        for image in images {
            for caption in try Self.caption(image.file, session: session, parameters: parameters) {
                let text = caption.text
                XCTAssertFalse(text.isEmpty, image.file)
                let bytes = Array(text.utf8)
                XCTAssertEqual(String(bytes: bytes, encoding: .utf8), text, "\(image.file): not valid UTF-8")
                XCTAssertFalse(bytes.contains { $0 < 0x80 }, "\(image.file): ASCII byte in \(text)")
                XCTAssertFalse(text.contains(" "), image.file)
                XCTAssertTrue(text.unicodeScalars.allSatisfy(Self.isChinese), "\(image.file): \(text)")
                XCTAssertEqual(bytes.count, 3 * text.unicodeScalars.count, image.file)
                XCTAssertEqual(text, caption.tokens.map { vocabulary.tokens[$0] }.joined(), image.file)
            }
        }
    }

    func testDifferentFindingsGiveDifferentText() throws {
        let (parameters, images) = try Self.expected()
        var textByFindings: [Set<String>: String] = [:]
        for image in images {
            let top = try XCTUnwrap(try Self.caption(image.file, session: session, parameters: parameters).first)
            textByFindings[Set(image.findings)] = top.text
        }
        XCTAssertGreaterThanOrEqual(textByFindings.count, 3, "the fixture needs at least 3 different finding sets")
        XCTAssertEqual(Set(textByFindings.values).count, textByFindings.count,
                       "different findings, same text: \(textByFindings)")
    }
}
