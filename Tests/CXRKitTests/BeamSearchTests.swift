import XCTest
@testable import CXRDecoding
@testable import CXRModel
@testable import CXRSupport

/// Token ids of the test vocabularies.
enum TestToken {
    static let pad = 0, start = 1, end = 2, nou = 3, a = 4, b = 5, c = 6, period = 7
}

let testVocabulary = Vocabulary(tokens: ["<pad>", "<start>", "<end>", "<nou>", "a", "b", "c", "."],
                                padID: TestToken.pad, startID: TestToken.start, endID: TestToken.end,
                                unknownID: TestToken.nou, join: .spaceSeparated)

/// The hidden value a table decoder's LSTM produces in the previous token's unit: tanh(1).
let tableHiddenValue = Double(tanhf(1))

/// A decoder whose logits depend only on the previous token: logits(y) = table[y] x tanh(1).
///
/// One-hot embeddings (x 10) drive the cell candidate of unit y to tanh(10) = 1 in float32, the input and
/// output gates are saturated open (bias +1000), the forget gate shut (bias -1000), W_hh = 0 and W_ec = 0,
/// so h = tanh(1) e_y exactly, whatever the history. Attention is random (it never reaches the logits).
func makeTableDecoder(_ table: [[Float]], seed: UInt64 = 99) throws -> (AttentionDecoder, DecoderImageContext) {
    let v = table.count
    var sizes = DecoderSizes()
    sizes.vocabulary = v
    sizes.embed = v
    sizes.hidden = v
    sizes.features = 2
    sizes.regions = 4
    sizes.attention = 3
    let h = v, e = v, f = 2, a = 3
    var random = DecoderTestRandom(seed: seed)
    var embedding = [Float](repeating: 0, count: v * e)
    for y in 0..<v { embedding[y * e + y] = 10 }
    var inputWeight = [Float](repeating: 0, count: 4 * h * (e + f))
    for unit in 0..<h { inputWeight[(2 * h + unit) * (e + f) + unit] = 1 }
    var bias = [Float](repeating: 0, count: 4 * h)
    for unit in 0..<h {
        bias[unit] = 1000
        bias[h + unit] = -1000
        bias[3 * h + unit] = 1000
    }
    var outputHidden = [Float](repeating: 0, count: v * h)
    for previous in 0..<v {
        for next in 0..<v { outputHidden[next * h + previous] = table[previous][next] }
    }
    let weights = DecoderWeights(
        embedding: embedding, lstmInputWeight: inputWeight,
        lstmHiddenWeight: [Float](repeating: 0, count: 4 * h * h), lstmBias: bias,
        attentionHidden: random.floats(a * h, scale: 2), attentionFeature: random.floats(a * f, scale: 2),
        attentionFeatureBias: random.floats(a), attentionScore: random.floats(a, scale: 2),
        outputHidden: outputHidden, outputBias: [Float](repeating: 0, count: v),
        outputContext: [Float](repeating: 0, count: v * f))
    let decoder = try AttentionDecoder(weights: weights, dimensions: sizes.dimensions, vocabularySize: v)
    let context = try decoder.prepare(features: random.floats(sizes.regions * f, scale: 3).map { max($0, 0) })
    return (decoder, context)
}

/// A transition table with every logit `fill`, then the given (previous, next) -> logit entries.
func makeTable(fill: Float = -5, _ entries: [(Int, Int, Float)]) -> [[Float]] {
    var table = [[Float]](repeating: [Float](repeating: fill, count: 8), count: 8)
    for (previous, next, logit) in entries { table[previous][next] = logit }
    return table
}

/// log_softmax(table[previous] x tanh(1))[next], in Double.
func expectedLogProbability(_ table: [[Float]], _ previous: Int, _ next: Int) -> Double {
    let logits = table[previous].map { Double($0) * tableHiddenValue }
    let top = logits.max()!
    return logits[next] - top - log(logits.reduce(0) { $0 + exp($1 - top) })
}

func parameters(width: Int = 3, results: Int? = nil, maxTokens: Int = 60, alpha: Double = 0,
                suppressUnknown: Bool = false, attention: Bool = true) -> GenerationParameters {
    var parameters = GenerationParameters()
    parameters.beamWidth = width
    parameters.maxResults = results ?? width
    parameters.maxTokens = maxTokens
    parameters.lengthPenalty = alpha
    parameters.suppressUnknown = suppressUnknown
    parameters.returnAttention = attention
    return parameters
}

func search(_ table: [[Float]], _ parameters: GenerationParameters,
            shouldAbort: (() -> Bool)? = nil) throws -> [Caption] {
    let (decoder, context) = try makeTableDecoder(table)
    return try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                              parameters: parameters, workspace: DecoderWorkspace(decoder: decoder),
                              shouldAbort: shouldAbort)
}

final class BeamSearchTests: XCTestCase {
    typealias T = TestToken

    func testCompletesAtEnd() throws {
        let table = makeTable([(T.start, T.a, 5), (T.a, T.b, 5), (T.b, T.period, 5), (T.period, T.end, 5)])
        let captions = try search(table, parameters(width: 1))
        XCTAssertEqual(captions.count, 1)
        XCTAssertEqual(captions[0].tokens, [T.a, T.b, T.period])
        XCTAssertEqual(captions[0].text, "a b.")
        XCTAssertFalse(captions[0].truncated)
        let expected = expectedLogProbability(table, T.start, T.a) + expectedLogProbability(table, T.a, T.b)
            + expectedLogProbability(table, T.b, T.period) + expectedLogProbability(table, T.period, T.end)
        XCTAssertEqual(captions[0].logProbability, expected, accuracy: 1e-5)
        XCTAssertEqual(captions[0].score, captions[0].logProbability)
    }

    func testTruncatesAtMaxTokens() throws {
        // Rows a, b, c each hold one 3 and one 2.5 (equal normalizers); <end> is -20 everywhere.
        let table = makeTable([(T.start, T.a, 3), (T.a, T.b, 3), (T.a, T.c, 2.5), (T.b, T.a, 3), (T.b, T.c, 2.5),
                               (T.c, T.a, 3), (T.c, T.b, 2.5)] + (0..<8).map { ($0, T.end, -20) })
        let captions = try search(table, parameters(width: 3, maxTokens: 4))
        XCTAssertEqual(captions.count, 3)
        for caption in captions {
            XCTAssertTrue(caption.truncated)
            XCTAssertEqual(caption.tokens.count, 4)
            XCTAssertFalse(caption.tokens.contains(T.end))
        }
        XCTAssertEqual(captions[0].tokens, [T.a, T.b, T.a, T.b])
        var expected = 0.0
        for (previous, next) in zip([T.start, T.a, T.b, T.a], [T.a, T.b, T.a, T.b]) {
            expected += expectedLogProbability(table, previous, next)
        }
        XCTAssertEqual(captions[0].logProbability, expected, accuracy: 1e-5)
    }

    func testMaxTokensCountsEnd() throws {
        // <end> as the T-th token completes normally: T - 1 words, not truncated.
        let table = makeTable([(T.start, T.a, 5), (T.a, T.end, 5)])
        let captions = try search(table, parameters(width: 1, maxTokens: 2))
        XCTAssertEqual(captions[0].tokens, [T.a])
        XCTAssertFalse(captions[0].truncated)
        let one = try search(table, parameters(width: 1, maxTokens: 1))
        XCTAssertEqual(one[0].tokens, [T.a])
        XCTAssertTrue(one[0].truncated)
    }

    func testUnknownIsSuppressedOnRequest() throws {
        let table = makeTable([(T.start, T.nou, 6), (T.start, T.a, 4), (T.nou, T.end, 5), (T.a, T.end, 5)])
        let free = try search(table, parameters(width: 2))
        XCTAssertEqual(free[0].tokens, [T.nou])
        XCTAssertEqual(free[0].text, "<nou>")
        let suppressed = try search(table, parameters(width: 2, suppressUnknown: true))
        XCTAssertEqual(suppressed.count, 2)
        for caption in suppressed { XCTAssertFalse(caption.tokens.contains(T.nou)) }
        XCTAssertEqual(suppressed[0].tokens, [T.a])
        // Banned tokens keep their share of the normalization: the probability is the model's.
        XCTAssertEqual(suppressed[0].logProbability,
                       expectedLogProbability(table, T.start, T.a) + expectedLogProbability(table, T.a, T.end),
                       accuracy: 1e-5)
    }

    func testStartAndPadAreNeverEmitted() throws {
        let table = makeTable(fill: -2, (0..<8).flatMap { previous in
            [(previous, T.start, 9), (previous, T.pad, 8), (previous, T.end, 1)]
        })
        let captions = try search(table, parameters(width: 5, maxTokens: 6))
        XCTAssertEqual(captions.count, 5)
        for caption in captions {
            XCTAssertFalse(caption.tokens.contains(T.start))
            XCTAssertFalse(caption.tokens.contains(T.pad))
        }
    }

    func testTiesGoToTheSmallerFlatIndex() throws {
        // a and b tie from <start>; their rows are identical, so (a, w) and (b, w) tie at step 2 as well.
        let row: [(Int, Int, Float)] = [(T.a, T.end, 3), (T.b, T.end, 3), (T.a, T.c, 3), (T.b, T.c, 3),
                                        (T.c, T.end, 9)]
        let table = makeTable([(T.start, T.b, 4), (T.start, T.a, 4)] + row)
        let greedy = try search(table, parameters(width: 1))
        // a beats b by id at step 1; from a, <end> (id 2) beats c (id 6).
        XCTAssertEqual(greedy[0].tokens, [T.a])
        // Width 2, step 2: candidates (0, end), (0, c), (1, end), (1, c) all tie; the first two by flat
        // index are a->end (completed) and a->c (live). Step 3: m = 1, a c -> end.
        let two = try search(table, parameters(width: 2))
        XCTAssertEqual(two[0].tokens, [T.a])
        XCTAssertEqual(two[1].tokens, [T.a, T.c])
        // Width 4: step 1 keeps a, b, then <end> and <nou> (tied at -5, smaller ids first); step 2's four-way
        // tie keeps a->end, a->c, b->end; [a] and [b] have equal scores and rank by completion order.
        let four = try search(table, parameters(width: 4))
        XCTAssertEqual(four[0].tokens, [T.a])
        XCTAssertEqual(four[1].tokens, [T.b])
        XCTAssertEqual(four[0].logProbability, four[1].logProbability)
        XCTAssertEqual(four.map(\.tokens), [[T.a], [T.b], [T.a, T.c], []])
    }

    func testTruncatedAndEndedCompleteInSelectionOrderAtTheLastStep() throws {
        // Fill -100 underflows exp to 0, so each top logit gets log-probability exactly 0 (or -log 2 for the
        // two tied at <start>). At t = T = 2, (a, c) [flat 6] and (b, <end>) [flat 10] tie: a c is selected
        // first, so it completes (truncated) before [b] and wins the ranking tie, with or without penalty
        // (both have length 2).
        let table = makeTable(fill: -100, [(T.start, T.a, 100), (T.start, T.b, 100), (T.a, T.c, 100),
                                           (T.b, T.end, 100)])
        for alpha in [0.0, 1.0] {
            let captions = try search(table, parameters(width: 2, maxTokens: 2, alpha: alpha))
            XCTAssertEqual(captions.map(\.tokens), [[T.a, T.c], [T.b]])
            XCTAssertEqual(captions.map(\.truncated), [true, false])
            XCTAssertEqual(captions[0].logProbability, captions[1].logProbability)
            XCTAssertEqual(captions[0].logProbability, -log(2), accuracy: 1e-6)
        }
    }

    func testLengthPenaltyChangesTheRanking() throws {
        let table = makeTable([(T.start, T.end, 2), (T.start, T.a, 1.9), (T.a, T.end, 5)])
        let plain = try search(table, parameters(width: 2))
        XCTAssertEqual(plain.map(\.tokens), [[], [T.a]])
        let penalized = try search(table, parameters(width: 2, alpha: 2))
        XCTAssertEqual(penalized.map(\.tokens), [[T.a], []])
        for caption in penalized {
            let length = Double(caption.tokens.count + 1)
            XCTAssertEqual(caption.score, caption.logProbability / pow((5 + length) / 6, 2))
        }
        XCTAssertEqual(plain.map(\.logProbability), penalized.reversed().map(\.logProbability))
    }

    func testResultsAreSortedAndLimited() throws {
        let (decoder, context) = try makeRandomBeamDecoder(seed: 31)
        var params = parameters(width: 6, results: 4, maxTokens: 7, alpha: 0.7)
        params.suppressUnknown = true
        let captions = try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                                          parameters: params, workspace: DecoderWorkspace(decoder: decoder))
        XCTAssertEqual(captions.count, 4)
        for (first, second) in zip(captions, captions.dropFirst()) { XCTAssertGreaterThanOrEqual(first.score, second.score) }
        for caption in captions {
            let length = Double(caption.tokens.count + (caption.truncated ? 0 : 1))
            XCTAssertEqual(caption.score, caption.logProbability / pow((5 + length) / 6, 0.7))
            XCTAssertEqual(caption.text, try testVocabulary.text(for: caption.tokens))
        }
    }

    func testAttentionIsTheEmittingStepsAlpha() throws {
        let (decoder, context) = try makeRandomBeamDecoder(seed: 12)
        let captions = try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                                          parameters: parameters(width: 3, maxTokens: 6),
                                          workspace: DecoderWorkspace(decoder: decoder))
        let regions = decoder.regionCount
        for caption in captions {
            XCTAssertEqual(caption.attention.count, caption.tokens.count * regions)
            for row in 0..<caption.tokens.count {
                let sum = caption.attention[(row * regions)..<((row + 1) * regions)].reduce(0, +)
                XCTAssertEqual(sum, 1, accuracy: 1e-5)
            }
            guard !caption.tokens.isEmpty else { continue }
            let forced = try decoder.teacherForcedOutputs(
                previousTokens: [T.start] + caption.tokens.dropLast(), context: context,
                workspace: DecoderWorkspace(decoder: decoder))
            assertDecoderClose(caption.attention, forced.attention.map(Double.init), tolerance: 1e-6, "attention")
        }
        let without = try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                                         parameters: parameters(width: 3, maxTokens: 6, attention: false),
                                         workspace: DecoderWorkspace(decoder: decoder))
        XCTAssertEqual(without.map(\.tokens), captions.map(\.tokens))
        XCTAssertTrue(without.allSatisfy { $0.attention.isEmpty })
    }

    func testWidthOneIsGreedy() throws {
        for seed: UInt64 in [1, 2, 3, 4, 5] {
            let (decoder, context) = try makeRandomBeamDecoder(seed: seed)
            let workspace = DecoderWorkspace(decoder: decoder)
            let beam = try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                                          parameters: parameters(width: 1, maxTokens: 10), workspace: workspace)
            var tokens: [Int] = []
            var previous = T.start
            workspace.resetState(rows: 1)
            for _ in 0..<10 {
                try decoder.step(previousTokens: [previous], context: context, workspace: workspace)
                var best = -1
                for token in 0..<8 where token != T.start && token != T.pad {
                    if best < 0 || workspace.logits[token] > workspace.logits[best] { best = token }
                }
                if best == T.end { break }
                tokens.append(best)
                previous = best
            }
            XCTAssertEqual(beam.count, 1)
            XCTAssertEqual(beam[0].tokens, tokens, "seed \(seed)")
            XCTAssertEqual(beam[0].truncated, tokens.count == 10)
        }
    }

    /// Against the rules written out plainly: every hypothesis rescored from scratch by teacher forcing
    /// (so the state reordering is checked too), all candidates sorted.
    func testMatchesAPlainImplementationOfTheRules() throws {
        for seed: UInt64 in 40..<52 {
            let (decoder, context) = try makeRandomBeamDecoder(seed: seed)
            let width = Int(seed % 5) + 1
            let params = parameters(width: width, results: max(1, width - 1), maxTokens: Int(seed % 7) + 2,
                                    alpha: Double(seed % 3) * 0.6, suppressUnknown: seed % 2 == 0)
            let actual = try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                                            parameters: params, workspace: DecoderWorkspace(decoder: decoder))
            let expected = try plainBeamSearch(decoder: decoder, context: context, parameters: params)
            XCTAssertEqual(actual.map(\.tokens), expected.map(\.tokens), "seed \(seed)")
            XCTAssertEqual(actual.map(\.truncated), expected.map(\.truncated), "seed \(seed)")
            for (a, e) in zip(actual, expected) {
                XCTAssertEqual(a.logProbability, e.logProbability, accuracy: 1e-5, "seed \(seed)")
            }
        }
    }

    func testValidatesParameters() throws {
        let table = makeTable([(T.start, T.end, 5)])
        func expectError(_ params: GenerationParameters, _ message: String, line: UInt = #line) {
            XCTAssertThrowsError(try search(table, params), line: line) {
                XCTAssertEqual($0 as? CXRError, CXRError(.invalidArgument, message), line: line)
                // The message names the parameter as GenerationParameters spells it, and says so.
                XCTAssertEqual(($0 as? CXRError)?.arguments, [String(message.prefix { $0 != " " })], line: line)
            }
        }
        expectError(parameters(width: 0, results: 1), "beamWidth 0 is outside 1...64")
        expectError(parameters(width: 65, results: 1), "beamWidth 65 is outside 1...64")
        expectError(parameters(width: 3, results: 4), "maxResults 4 is outside 1...3 (the beam width)")
        expectError(parameters(width: 3, results: 0), "maxResults 0 is outside 1...3 (the beam width)")
        expectError(parameters(maxTokens: 0), "maxTokens 0 is outside 1...1024")
        expectError(parameters(maxTokens: 1025), "maxTokens 1025 is outside 1...1024")
        expectError(parameters(alpha: -0.5), "lengthPenalty -0.5 is outside 0...100")
        expectError(parameters(alpha: .nan), "lengthPenalty nan is outside 0...100")
        expectError(parameters(alpha: .infinity), "lengthPenalty inf is outside 0...100")
        expectError(parameters(alpha: 100.5), "lengthPenalty 100.5 is outside 0...100")
        expectError(parameters(alpha: 1e300), "lengthPenalty 1e+300 is outside 0...100")
        XCTAssertNoThrow(try search(table, parameters(alpha: 100)))
        var negativeThreads = parameters()
        negativeThreads.threads = -1
        expectError(negativeThreads, "threads -1 is negative (0 means all cores)")
        XCTAssertNoThrow(try search(table, parameters(width: 64, results: 64, maxTokens: 1)))
        var ngram = parameters()
        ngram.noRepeatNgramSize = -1
        expectError(ngram, "noRepeatNgramSize -1 is outside 0...1024 (0 = off)")
        ngram.noRepeatNgramSize = 1025
        expectError(ngram, "noRepeatNgramSize 1025 is outside 0...1024 (0 = off)")
        var extra = parameters()
        extra.distinctExtraBeam = 65
        expectError(extra, "distinctExtraBeam 65 is outside 0...64")
        extra.distinctExtraBeam = -1
        expectError(extra, "distinctExtraBeam -1 is outside 0...64")
        // the widest distinct search is capped at 64 beams, not refused
        var widest = parameters(width: 64, results: 64, maxTokens: 1)
        widest.distinctResults = true
        widest.distinctExtraBeam = 64
        XCTAssertNoThrow(try search(table, widest))
    }

    func testNgramRepetitionEqualsTheRule() {
        var banned: [Int] = []
        func repeats(_ tokens: [Int], _ n: Int) -> Set<Int> {
            NgramRepetition.tokens(completingRepeatsIn: tokens, size: n, into: &banned)
            return Set(banned)
        }
        XCTAssertEqual(repeats([4, 5, 4], 2), [5])
        XCTAssertEqual(repeats([4, 5, 4], 1), [4, 5])
        XCTAssertEqual(repeats([4, 5, 4], 0), [])
        XCTAssertEqual(repeats([4, 5, 4], 3), [])
        XCTAssertEqual(repeats([4, 5, 6, 4, 5], 3), [6])
        XCTAssertEqual(repeats([], 1), [])
        XCTAssertEqual(repeats([7], 2), [])
        // against a plain statement of the rule on random sequences
        var random = DecoderTestRandom(seed: 5)
        for _ in 0..<500 {
            let tokens = (0..<Int(random.next() % 12)).map { _ in 4 + Int(random.next() % 4) }
            let n = 1 + Int(random.next() % 5)
            var expected = Set<Int>()
            if tokens.count >= n - 1 {
                let prefix = Array(tokens.suffix(n - 1))
                for start in 0..<max(0, tokens.count - n + 1) where Array(tokens[start..<(start + n - 1)]) == prefix {
                    expected.insert(tokens[start + n - 1])
                }
            }
            XCTAssertEqual(repeats(tokens, n), expected, "\(tokens) n=\(n)")
        }
    }

    func testNoRepeatNgramBreaksALoop() throws {
        // a -> a is always best; with n = 2 the pair (a, a) may occur once
        let table = makeTable([(T.start, T.a, 5), (T.a, T.a, 5), (T.a, T.b, 3), (T.b, T.a, 4), (T.b, T.end, 2),
                               (T.a, T.end, 1)])
        let plain = try search(table, parameters(width: 1, results: 1, maxTokens: 6))
        XCTAssertEqual(plain[0].tokens, [T.a, T.a, T.a, T.a, T.a, T.a])
        XCTAssertTrue(plain[0].truncated)
        var params = parameters(width: 1, results: 1, maxTokens: 6)
        params.noRepeatNgramSize = 2
        let controlled = try search(table, params)
        let tokens = controlled[0].tokens
        XCTAssertEqual(Set(zip(tokens, tokens.dropFirst()).map { [$0, $1] }).count, max(0, tokens.count - 1), "\(tokens)")
        XCTAssertEqual(Array(tokens.prefix(3)), [T.a, T.a, T.b])
    }

    func testNormalizedText() {
        XCTAssertEqual(CaptionText.normalized("No acute cardiopulmonary abnormality.", join: .spaceSeparated),
                       "no acute cardiopulmonary abnormality")
        XCTAssertEqual(CaptionText.normalized("no acute  cardiopulmonary abnormality..", join: .spaceSeparated),
                       "no acute cardiopulmonary abnormality")
        XCTAssertEqual(CaptionText.normalized("(left) pleural: effusion, ", join: .spaceSeparated), "left pleural effusion")
        XCTAssertEqual(CaptionText.normalized("heart-size\tnormal", join: .spaceSeparated), "heart size normal")
        XCTAssertEqual(CaptionText.normalized("心影正常。 肺野清晰，", join: .concatenate), "心影正常肺野清晰")
        XCTAssertEqual(CaptionText.normalized("", join: .spaceSeparated), "")
        XCTAssertEqual(CaptionText.normalized("<nou> x", join: .spaceSeparated), "<nou> x")
    }

    func testRejectsAVocabularyOfAnotherSize() throws {
        let (decoder, context) = try makeTableDecoder(makeTable([]))
        let small = Vocabulary(tokens: ["<pad>", "<start>", "<end>", "<nou>"], padID: 0, startID: 1, endID: 2,
                               unknownID: 3, join: .concatenate)
        XCTAssertThrowsError(try BeamSearch.run(decoder: decoder, context: context, vocabulary: small,
                                                parameters: parameters(), workspace: DecoderWorkspace(decoder: decoder))) {
            XCTAssertEqual($0 as? CXRError, CXRError(.invalidArgument, "vocabulary has 4 tokens, the decoder 8"))
        }
    }

    func testAbortStopsBetweenStepsAndLeavesTheWorkspaceUsable() throws {
        let (decoder, context) = try makeRandomBeamDecoder(seed: 77)
        let workspace = DecoderWorkspace(decoder: decoder)
        let params = parameters(width: 3, maxTokens: 20)
        var polls = 0
        XCTAssertThrowsError(try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                                                parameters: params, workspace: workspace,
                                                shouldAbort: { polls += 1; return polls == 3 })) {
            XCTAssertEqual($0 as? CXRError, CXRError.aborted)
        }
        XCTAssertEqual(polls, 3)
        let afterAbort = try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                                            parameters: params, workspace: workspace)
        let fresh = try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                                       parameters: params, workspace: DecoderWorkspace(decoder: decoder))
        XCTAssertEqual(afterAbort, fresh)
        var counted = 0
        _ = try BeamSearch.run(decoder: decoder, context: context, vocabulary: testVocabulary,
                               parameters: parameters(width: 1, maxTokens: 5), workspace: workspace,
                               shouldAbort: { counted += 1; return false })
        XCTAssertGreaterThanOrEqual(counted, 1)
        XCTAssertLessThanOrEqual(counted, 5)
    }
}

/// A random decoder over the 8-token test vocabulary with <end> made less likely, so that searches run for
/// a few steps.
func makeRandomBeamDecoder(seed: UInt64) throws -> (AttentionDecoder, DecoderImageContext) {
    var sizes = DecoderSizes()
    sizes.vocabulary = 8
    var weights = makeRandomDecoderWeights(sizes, seed: seed)
    weights.outputBias[TestToken.end] -= 1.5
    let decoder = try AttentionDecoder(weights: weights, dimensions: sizes.dimensions, vocabularySize: 8)
    var random = DecoderTestRandom(seed: seed &+ 1000)
    return (decoder, try decoder.prepare(features: random.floats(sizes.regions * sizes.features, scale: 2)))
}

/// docs/DECODING.md, written as directly as possible.
func plainBeamSearch(decoder: AttentionDecoder, context: DecoderImageContext,
                     parameters: GenerationParameters) throws -> [Caption] {
    struct Hyp { var tokens: [Int]; var logp: Double; var ended: Bool; var truncated: Bool }
    let v = decoder.vocabularySize
    var banned: Set<Int> = [TestToken.start, TestToken.pad]
    if parameters.suppressUnknown { banned.insert(TestToken.nou) }
    var live = [Hyp(tokens: [], logp: 0, ended: false, truncated: false)]
    var completed: [Hyp] = []
    var t = 0
    while true {
        t += 1
        var candidates: [(score: Double, flat: Int)] = []
        for (i, hyp) in live.enumerated() {
            let forced = try decoder.teacherForcedOutputs(previousTokens: [TestToken.start] + hyp.tokens,
                                                          context: context, workspace: DecoderWorkspace(decoder: decoder))
            let logits = Array(forced.logits.suffix(v))
            let top = logits.max()!
            var sum: Float = 0
            for x in logits { sum += expf(x - top) }
            let logSum = logf(sum)
            for w in 0..<v where !banned.contains(w) {
                candidates.append((hyp.logp + Double(logits[w] - top - logSum), i * v + w))
            }
        }
        candidates.sort { $0.score != $1.score ? $0.score > $1.score : $0.flat < $1.flat }
        let m = parameters.beamWidth - completed.count
        var next: [Hyp] = []
        for candidate in candidates.prefix(m) {
            var hyp = live[candidate.flat / v]
            hyp.logp = candidate.score
            if candidate.flat % v == TestToken.end {
                hyp.ended = true
                completed.append(hyp)
            } else if t == parameters.maxTokens {
                hyp.tokens.append(candidate.flat % v)
                hyp.truncated = true
                completed.append(hyp)
            } else {
                hyp.tokens.append(candidate.flat % v)
                next.append(hyp)
            }
        }
        live = next
        if completed.count == parameters.beamWidth || live.isEmpty { break }

    }
    let scored = completed.enumerated().map { index, hyp in
        (index, hyp, hyp.logp / pow((5 + Double(hyp.tokens.count + (hyp.ended ? 1 : 0))) / 6,
                                    parameters.lengthPenalty))
    }.sorted { $0.2 != $1.2 ? $0.2 > $1.2 : $0.0 < $1.0 }
    return try scored.prefix(parameters.maxResults).map { _, hyp, score in
        Caption(text: try testVocabulary.text(for: hyp.tokens), tokens: hyp.tokens, logProbability: hyp.logp,
                score: score, truncated: hyp.truncated, attention: [])
    }
}
