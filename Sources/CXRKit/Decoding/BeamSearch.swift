import CXRKernels
import CXRModel
import CXRSupport

import Glibc

/// Beam search over an `AttentionDecoder`, exactly as docs/DECODING.md specifies (the Python reference in
/// `training/cxrcaption_ref/beam.py` follows the same rules; golden tests require identical tokens).
package enum BeamSearch {
    /// Decodes one prepared image and returns up to `parameters.maxResults` captions, best first.
    ///
    /// - Parameters:
    ///   - workspace: scratch for `decoder`; its state is overwritten.
    ///   - shouldAbort: polled before every step; returning true throws `CXRError.aborted` (the workspace
    ///     stays usable).
    /// - Throws: `invalidArgument` for out-of-range parameters or a vocabulary that does not fit the
    ///   decoder; `aborted`.
    package static func run(decoder: AttentionDecoder, context: DecoderImageContext, vocabulary: Vocabulary,
                           parameters: GenerationParameters, workspace: DecoderWorkspace,
                           shouldAbort: (() -> Bool)? = nil) throws -> [Caption] {
        try parameters.validate()
        try check(vocabulary, against: decoder)
        func caption(_ hypothesis: Hypothesis) throws -> Caption {
            Caption(text: try vocabulary.text(for: hypothesis.tokens), tokens: hypothesis.tokens,
                    logProbability: hypothesis.logProbability,
                    score: hypothesis.score(lengthPenalty: parameters.lengthPenalty),
                    truncated: hypothesis.truncated, attention: hypothesis.attention)
        }
        guard parameters.distinctResults else {
            let completed = try search(decoder: decoder, context: context, vocabulary: vocabulary,
                                       parameters: parameters, workspace: workspace, shouldAbort: shouldAbort)
            return try rank(completed, parameters: parameters).prefix(parameters.maxResults).map(caption)
        }
        // Rule 7: searches of width k, 2k, 4k, ... up to min(k + E, 64); the first whose ranked hypotheses hold
        // maxResults distinct normalized texts wins, else the last one's distinct texts are returned.
        let bound = min(parameters.beamWidth + parameters.distinctExtraBeam, beamWidthRangeTop)
        var width = parameters.beamWidth
        while true {
            var wide = parameters
            wide.beamWidth = width
            wide.maxResults = width
            let completed = try search(decoder: decoder, context: context, vocabulary: vocabulary,
                                       parameters: wide, workspace: workspace, shouldAbort: shouldAbort)
            var seen = Set<String>()
            var distinct: [Caption] = []
            for hypothesis in rank(completed, parameters: wide) {
                let result = try caption(hypothesis)
                if seen.insert(CaptionText.normalized(result.text, join: vocabulary.join)).inserted {
                    distinct.append(result)
                }
            }
            if distinct.count >= parameters.maxResults || width >= bound {
                return Array(distinct.prefix(parameters.maxResults))
            }
            width = min(2 * width, bound)
        }
    }

    private static let beamWidthRangeTop = GenerationParameters.beamWidthRange.upperBound

    private static func check(_ vocabulary: Vocabulary, against decoder: AttentionDecoder) throws {
        guard vocabulary.count == decoder.vocabularySize else {
            throw CXRError.invalidArgument(
                "vocabulary has \(vocabulary.count) tokens, the decoder \(decoder.vocabularySize)")
        }
        for (name, id) in [("<pad>", vocabulary.padID), ("<start>", vocabulary.startID),
                           ("<end>", vocabulary.endID), ("<nou>", vocabulary.unknownID)]
        where id < 0 || id >= vocabulary.count {
            throw CXRError.invalidArgument("\(name) id \(id) is outside 0..<\(vocabulary.count)")
        }
    }

    /// Rules 1-5: the completed hypotheses, in completion order.
    static func search(decoder: AttentionDecoder, context: DecoderImageContext, vocabulary: Vocabulary,
                       parameters: GenerationParameters, workspace: DecoderWorkspace,
                       shouldAbort: (() -> Bool)?) throws -> [Hypothesis] {
        let width = parameters.beamWidth
        let vocabularySize = decoder.vocabularySize
        let regions = decoder.regionCount
        var banned = [Bool](repeating: false, count: vocabularySize)
        banned[vocabulary.startID] = true
        banned[vocabulary.padID] = true
        if parameters.suppressUnknown { banned[vocabulary.unknownID] = true }

        workspace.reserve(rows: width)
        workspace.parts = BLASThreads.resolve(parameters.threads)
        workspace.resetState(rows: 1)
        var live = [Hypothesis()]
        var previousTokens = [vocabulary.startID]
        var completed: [Hypothesis] = []
        var selection = CandidateSelection(capacity: width)
        let ngram = parameters.noRepeatNgramSize
        var found: [Int] = []     // the tokens rule 2a bans for one row (may repeat)
        var repeated: [Int] = []  // those of them this row newly banned, unbanned again after the row

        for step in 1...parameters.maxTokens {
            if let shouldAbort, shouldAbort() { throw CXRError.aborted }
            try decoder.step(previousTokens: previousTokens, context: context, workspace: workspace)
            try checkFinite(rows: live.count, width: vocabularySize, step: step, workspace: workspace)
            logSoftmaxRows(live.count, width: vocabularySize, workspace: workspace)

            selection.reset(keeping: width - completed.count)
            workspace.logProbabilities.withUnsafeBufferPointer { logProbabilities in
                for (row, hypothesis) in live.enumerated() {
                    NgramRepetition.tokens(completingRepeatsIn: hypothesis.tokens, size: ngram, into: &found)
                    repeated.removeAll(keepingCapacity: true)
                    for token in found where !banned[token] {
                        banned[token] = true
                        repeated.append(token)
                    }
                    banned.withUnsafeBufferPointer { banned in
                        let base = row * vocabularySize
                        for token in 0..<vocabularySize where !banned[token] {
                            let score = hypothesis.logProbability + Double(logProbabilities[base + token])
                            selection.offer(score: score, flatIndex: base + token)
                        }
                    }
                    for token in repeated { banned[token] = false }
                }
            }

            // Rules 4 and 5: <end> completes; at t = T the others complete too, truncated. Completion order
            // within a step is selection order (it breaks ranking ties).
            let lastStep = step == parameters.maxTokens
            var nextLive: [Hypothesis] = []
            var parents: [Int] = []
            previousTokens.removeAll(keepingCapacity: true)
            for candidate in selection.chosen {
                let row = candidate.flatIndex / vocabularySize
                let token = candidate.flatIndex % vocabularySize
                var hypothesis = live[row]
                hypothesis.logProbability = candidate.score
                if token == vocabulary.endID {
                    hypothesis.ended = true
                    completed.append(hypothesis)
                    continue
                }
                hypothesis.tokens.append(token)
                if parameters.returnAttention {
                    hypothesis.attention.append(contentsOf: workspace.attention[(row * regions)..<((row + 1) * regions)])
                }
                if lastStep {
                    hypothesis.truncated = true
                    completed.append(hypothesis)
                    continue
                }
                nextLive.append(hypothesis)
                parents.append(row)
                previousTokens.append(token)
            }
            if completed.count >= width || lastStep || nextLive.isEmpty { break }
            workspace.reorderState(parents: parents)
            live = nextLive
        }
        return completed
    }

    /// Rule 6: by score, higher first, ties by completion order; all of them (callers take the first
    /// `maxResults`).
    static func rank(_ completed: [Hypothesis], parameters: GenerationParameters) -> [Hypothesis] {
        let scores = completed.map { $0.score(lengthPenalty: parameters.lengthPenalty) }
        let order = completed.indices.sorted { left, right in
            if scores[left] != scores[right] { return scores[left] > scores[right] }
            return left < right
        }
        return order.map { completed[$0] }
    }

    /// Throws `invalidModel` unless the step's logits are finite: weights that overflow Float32 would make
    /// every candidate NaN, and the search would then "choose" `<end>` and return an empty caption as a
    /// success. One scan of rows x V floats per step, beside the step's products over the same V.
    static func checkFinite(rows: Int, width: Int, step: Int, workspace: DecoderWorkspace) throws {
        let bad = workspace.logits.withUnsafeBufferPointer {
            FloatScan.firstNonFinite(UnsafeBufferPointer(rebasing: $0[0..<(rows * width)]))
        }
        if bad != nil {
            throw CXRError.invalidModel("decoder logits are not finite at step \(step): the model's weights "
                                        + "overflow Float32 on this image")
        }
    }

    /// log_softmax of each of the first `rows` rows of `workspace.logits` into `workspace.logProbabilities`,
    /// in float32 as PyTorch computes it: x - max - log(sum(exp(x - max))) (`LogSoftmax`).
    static func logSoftmaxRows(_ rows: Int, width: Int, workspace: DecoderWorkspace) {
        workspace.logits.withUnsafeBufferPointer { logits in
            workspace.logProbabilities.withUnsafeMutableBufferPointer { output in
                for row in 0..<rows {
                    LogSoftmax.apply(logits.baseAddress! + row * width, count: width,
                                     into: output.baseAddress! + row * width)
                }
            }
        }
    }
}
