import Foundation
import XCTest
@testable import CXRDecoding
@testable import CXRKit
@testable import CXRModel
@testable import CXRSupport
@testable import CXRWeights

/// The decoder, findings head and beam search against the PyTorch reference's golden fixtures
/// (Tests/CXRKitTests/Fixtures/golden, written by training/cxrcaption_ref/make_golden.py; its README
/// describes the files).
final class DecoderGoldenTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden")

    struct Golden {
        let model: LoadedModel
        let decoder: AttentionDecoder
        let cases: SafeTensorsFile
        let document: [String: Any]
        var caseList: [[String: Any]] { document["cases"] as! [[String: Any]] }

        /// features{i} [F, G, G] (torch layout) -> region-major [R, F].
        func features(_ index: Int) throws -> [Float] {
            let (shape, values) = try cases.floats(named: "features\(index)")
            XCTAssertEqual(shape.count, 3)
            let channels = shape[0], regions = shape[1] * shape[2]
            var regionMajor = [Float](repeating: 0, count: values.count)
            for channel in 0..<channels {
                for region in 0..<regions { regionMajor[region * channels + channel] = values[channel * regions + region] }
            }
            return regionMajor
        }
    }

    func loadGolden(model file: String = "model.safetensors") throws -> Golden {
        let modelPath = Self.directory.appendingPathComponent(file).path
        let casesPath = Self.directory.appendingPathComponent("cases.safetensors").path
        let jsonPath = Self.directory.appendingPathComponent("cases.json").path
        for path in [modelPath, casesPath, jsonPath] where !FileManager.default.fileExists(atPath: path) {
            throw MissingFixture("golden fixture \(path) is absent (training/cxrcaption_ref/make_golden.py writes it)")
        }
        let model = try ModelFile(path: modelPath, support: .library).load()
        let decoder = model.decoder
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jsonPath)))
        return Golden(model: model, decoder: decoder, cases: try SafeTensorsFile(contentsOfFile: casesPath),
                      document: document as! [String: Any])
    }

    func testTeacherForcedLogitsMatchTheReference() throws {
        let golden = try loadGolden()
        let workspace = DecoderWorkspace(decoder: golden.decoder)
        XCTAssertFalse(golden.caseList.isEmpty)
        for (index, goldenCase) in golden.caseList.enumerated() {
            let teacher = goldenCase["teacher_tokens"] as! [Int]
            let context = try golden.decoder.prepare(features: try golden.features(index))
            let forced = try golden.decoder.teacherForcedOutputs(
                previousTokens: [golden.model.description.vocabulary.startID] + teacher.dropLast(), context: context,
                workspace: workspace)
            let (shape, expected) = try golden.cases.floats(named: "logits\(index)")
            XCTAssertEqual(shape, [teacher.count, golden.decoder.vocabularySize])
            let scale = expected.map { abs($0) }.max()!
            let error = zip(forced.logits, expected).map { abs($0 - $1) }.max()!
            XCTAssertEqual(forced.logits.count, expected.count)
            XCTAssertLessThanOrEqual(error / scale, 1e-4, "case \(index): max |logit error| \(error), max |logit| \(scale)")
        }
    }

    func testFindingsMatchTheReference() throws {
        let golden = try loadGolden()
        let head = try XCTUnwrap(golden.model.findingsHead, "the golden model has a findings head")
        XCTAssertEqual(head.labelCount, golden.model.description.labels.count)
        for index in golden.caseList.indices {
            let features = try golden.features(index)
            let (_, expected) = try golden.cases.floats(named: "findings\(index)")
            let actual = try head.probabilities(features: features, regionCount: golden.model.description.config.regionCount)
            // the decoder's V_gav is the same mean
            let context = try golden.decoder.prepare(features: features)
            XCTAssertEqual(try head.probabilities(meanFeatures: context.meanFeatures), actual, "case \(index)")
            XCTAssertEqual(actual.count, expected.count)
            for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: 1e-5, "case \(index)") }
        }
    }

    func testBeamResultsMatchTheReference() throws {
        for file in ["model.safetensors", "model-f16.safetensors", "model-bf16.safetensors"] {
            try checkBeamResults(try loadGolden(model: file), file: file)
        }
    }

    private func checkBeamResults(_ golden: Golden, file: String) throws {
        let workspace = DecoderWorkspace(decoder: golden.decoder)
        let regions = golden.decoder.regionCount
        var runCount = 0
        for (index, goldenCase) in golden.caseList.enumerated() {
            let context = try golden.decoder.prepare(features: try golden.features(index))
            for run in goldenCase["runs"] as! [[String: Any]] {
                let name = "\(file) case \(index) run \(run["name"] as! String)"
                let params = run["params"] as! [String: Any]
                var parameters = GenerationParameters()
                parameters.beamWidth = params["beam"] as! Int
                parameters.maxResults = params["results"] as! Int
                parameters.maxTokens = params["max_tokens"] as! Int
                parameters.lengthPenalty = (params["length_penalty"] as! NSNumber).doubleValue
                parameters.suppressUnknown = params["suppress_unknown"] as! Bool
                parameters.noRepeatNgramSize = params["no_repeat_ngram_size"] as! Int
                parameters.distinctResults = params["distinct"] as! Bool
                parameters.distinctExtraBeam = params["distinct_extra_beam"] as! Int
                let actual = try BeamSearch.run(decoder: golden.decoder, context: context,
                                                vocabulary: golden.model.description.vocabulary, parameters: parameters,
                                                workspace: workspace)
                let expected = run["results"] as! [[String: Any]]
                XCTAssertEqual(actual.map(\.tokens), expected.map { $0["tokens"] as! [Int] }, name)
                XCTAssertEqual(CaptionText.distinctComplete(actual, wanted: parameters.maxResults,
                                                            join: golden.model.description.vocabulary.join),
                               run["distinct_complete"] as! Bool, name)
                guard actual.count == expected.count else { continue }
                for (a, e) in zip(actual, expected) {
                    XCTAssertEqual(a.truncated, e["truncated"] as! Bool, name)
                    XCTAssertEqual(a.text, e["text"] as! String, name)
                    XCTAssertEqual(a.logProbability, (e["log_prob"] as! NSNumber).doubleValue, accuracy: 1e-4, name)
                    XCTAssertEqual(a.score, (e["score"] as! NSNumber).doubleValue, accuracy: 1e-4, name)
                    let attention = (e["attention"] as! [[NSNumber]]).flatMap { $0.map(\.floatValue) }
                    XCTAssertEqual(a.attention.count, a.tokens.count * regions, name)
                    XCTAssertEqual(a.attention.count, attention.count, name)
                    let error = zip(a.attention, attention).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThanOrEqual(error, 1e-4, "\(name): attention error")
                }
                runCount += 1
            }
        }
        XCTAssertGreaterThan(runCount, 0)
    }
}
