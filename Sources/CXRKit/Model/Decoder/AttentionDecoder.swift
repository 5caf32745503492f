import CXRKernels
import CXRSupport
import CXRWeights
import Glibc

/// The attention LSTM decoder of docs/WEIGHTS.md ("The model it defines").
///
/// For one image with features V (R regions x F channels), step t computes
///
///     x_t = [E[y_{t-1}] ; V_gav];  (h_t, c_t) = LSTMCell(x_t, (h_{t-1}, c_{t-1}))   (gates i, f, g, o)
///     alpha_t = softmax_r(w · tanh(W_h h_t + W_v V_r + b_v));  C_t = sum_r alpha_tr V_r
///     logits_t = W_eh h_t + b + W_ec C_t
///
/// starting from h_0 = c_0 = 0 and y_0 = `<start>`. `prepare(features:)` does the per-image work once
/// (V_gav, W_v V + b_v, the V_gav part of the LSTM input and, for grids of at most `contextTableRegionLimit`
/// regions, P = W_ec Vᵀ, so that W_ec C_t = P alpha_t); a step then runs k hypotheses at once, each product
/// reading its weights once for all k rows (`FewRowProduct`). The decoder is immutable and may be shared
/// across threads; the per-call state lives in a `DecoderWorkspace`.
package final class AttentionDecoder: Sendable {
    /// The most rows (hypotheses) one step may run: the largest beam width a search may use
    /// (`GenerationParameters.beamWidthRange` is bounded by it).
    package static let maximumRows = 64

    /// LSTM hidden size h.
    package let hiddenSize: Int
    /// Embedding size e.
    package let embedSize: Int
    /// Feature channels F.
    package let featureChannels: Int
    /// Attention projection size a.
    package let attentionSize: Int
    /// Vocabulary size V (rows of the embedding and of the logits).
    package let vocabularySize: Int
    /// Attention regions R per image.
    package let regionCount: Int

    package let weights: DecoderWeights
    /// W_ih[:, :e] · E[y] for every token y, [V, 4h], when that table is at most `tokenGateLimit` floats:
    /// a step then adds one row per hypothesis instead of multiplying by the 4h x e block of W_ih (which
    /// would stream it from memory on every step). nil for large vocabularies.
    package let tokenGates: [Float]?

    /// Largest token-gate table precomputed, in floats (8 MiB).
    package static let tokenGateLimit = 1 << 21

    /// Whether `prepare` computes P = W_ec Vᵀ ([V, R]) for each image (R <= `contextTableRegionLimit`).
    package let usesContextTable: Bool

    /// Largest region count R for which `prepare` precomputes P. P costs R·V·F multiply-adds once per
    /// image (one GEMM) and turns W_ec C_t (k·V·F per step, streaming W_ec) into P alpha_t (k·R·V).
    /// Measured with beam 3, `prepare` + search right after an encoder pass, median of 30, benchmark image:
    /// at R = 64 (seed-sized model, 16 steps) 2.97-3.06 ms with P against 3.11-3.15 ms without on two
    /// threads, and even on one (5.17-5.27 against 5.14-5.46 ms); at R = 16 (demo model, 60 steps) P saves
    /// 0.8-1.0 ms on two threads and 1.6 ms on one. Beyond 64 regions P grows with R, the saving does not.
    package static let contextTableRegionLimit = 64

    /// Wraps loaded weights, checking every array against `dimensions` and `vocabularySize`.
    /// `tokenGateLimit` bounds the precomputed token-gate table (see `tokenGates`; 0 turns it off);
    /// `contextTableRegionLimit` bounds the grids that get a per-image P (see `usesContextTable`; 0 turns
    /// it off).
    package init(weights: DecoderWeights, dimensions: DecoderDimensions, vocabularySize: Int,
                 tokenGateLimit: Int = AttentionDecoder.tokenGateLimit,
                 contextTableRegionLimit: Int = AttentionDecoder.contextTableRegionLimit) throws {
        let h = dimensions.hidden, e = dimensions.embed, f = dimensions.featureChannels
        let a = dimensions.attention, r = dimensions.regionCount
        for (name, value) in [("hidden", h), ("embed", e), ("feature channels", f), ("attention_dim", a),
                              ("vocabulary size", vocabularySize), ("region count", r)] {
            guard value >= 1, value <= Int(Int32.max) / 4 else {
                throw CXRError.invalidModel("decoder \(name) \(value) is outside 1...\(Int(Int32.max) / 4)")
            }
        }
        func product(_ x: Int, _ y: Int, _ what: String) throws -> Int {
            let (value, overflow) = x.multipliedReportingOverflow(by: y)
            guard !overflow, value <= Int(Int32.max) else {
                throw CXRError.invalidModel("decoder \(what) \(x) x \(y) is too large")
            }
            return value
        }
        let expected: [(String, [Float], Int)] = [
            ("decoder.embedding.weight", weights.embedding, try product(vocabularySize, e, "embedding")),
            ("decoder.lstm.weight_ih", weights.lstmInputWeight, try product(4 * h, e + f, "lstm.weight_ih")),
            ("decoder.lstm.weight_hh", weights.lstmHiddenWeight, try product(4 * h, h, "lstm.weight_hh")),
            ("decoder.lstm bias", weights.lstmBias, 4 * h),
            ("decoder.att_h.weight", weights.attentionHidden, try product(a, h, "att_h.weight")),
            ("decoder.att_v.weight", weights.attentionFeature, try product(a, f, "att_v.weight")),
            ("decoder.att_v.bias", weights.attentionFeatureBias, a),
            ("decoder.att_w.weight", weights.attentionScore, a),
            ("decoder.out_h.weight", weights.outputHidden, try product(vocabularySize, h, "out_h.weight")),
            ("decoder.out_h.bias", weights.outputBias, vocabularySize),
            ("decoder.out_c.weight", weights.outputContext, try product(vocabularySize, f, "out_c.weight")),
        ]
        for (name, array, count) in expected where array.count != count {
            throw CXRError.invalidModel("\(name) holds \(array.count) values, expected \(count)")
        }
        _ = try product(r, f, "features")
        _ = try product(r, a, "projected features")
        _ = try product(r, vocabularySize, "context table")
        hiddenSize = h
        embedSize = e
        featureChannels = f
        attentionSize = a
        self.vocabularySize = vocabularySize
        regionCount = r
        self.weights = weights
        usesContextTable = r <= contextTableRegionLimit
        tokenGates = vocabularySize * 4 * h <= tokenGateLimit
            ? Self.tokenGateTable(weights, hidden: h, embed: e, featureChannels: f, vocabularySize: vocabularySize)
            : nil
    }

    /// The decoder of a weights file (its tensors validated against `DecoderWeights.expectedTensors`).
    package convenience init(reading tensors: SafeTensorsReader, dimensions: DecoderDimensions,
                             vocabularySize: Int) throws {
        try self.init(weights: DecoderWeights(reading: tensors), dimensions: dimensions,
                      vocabularySize: vocabularySize)
    }

    /// W_ih[:, :e] · E[y] for every token y, [V, 4h] (see `tokenGates`): one sgemm (V x 4h x e), on one
    /// OpenBLAS thread like every other BLAS call of the library (docs/ARCHITECTURE.md): OpenBLAS's
    /// spinning helper threads only cost time on a busy machine. The arrays must have the sizes the
    /// arguments imply (`init` has checked them).
    private static func tokenGateTable(_ weights: DecoderWeights, hidden h: Int, embed e: Int,
                                       featureChannels f: Int, vocabularySize: Int) -> [Float] {
        BLASThreads.apply(1)
        return DecoderMath.productTransposed(rows: vocabularySize, columns: 4 * h, depth: e,
                                             weights.embedding, lda: e, weights.lstmInputWeight, ldb: e + f)
    }

    // MARK: Per image

    /// Computes the per-image context from the encoder output V, region-major [R, F] (row r = region
    /// r = y * grid + x, holding its F channels); its products shared among up to `parts` threads (the
    /// result does not depend on it). Throws `invalidModel` when the context is not finite.
    package func prepare(features: [Float], parts: Int = 1) throws -> DecoderImageContext {
        let r = regionCount, f = featureChannels, a = attentionSize, h = hiddenSize, v = vocabularySize
        guard features.count == r * f else {
            throw CXRError.invalidArgument(
                "decoder features hold \(features.count) values, expected \(r) regions x \(f) channels")
        }
        let mean = RegionMean.of(features, regions: r, channels: f)

        // [a, R] and [V, R] rather than [R, a] and [R, V]: with the weights as the GEMM's tall side these
        // products run about 25% faster (OpenBLAS, 64 regions).
        var projected = [Float](repeating: 0, count: a * r)
        for index in 0..<a {
            let bias = weights.attentionFeatureBias[index]
            for region in 0..<r { projected[index * r + region] = bias }
        }
        DecoderMath.multiplyTransposed(rows: a, columns: r, depth: f, weights.attentionFeature, lda: f,
                                       features, ldb: f, into: &projected, ldc: r, beta: 1, parts: parts)

        var constantGates = weights.lstmBias
        DecoderMath.accumulateMatrixVector(rows: 4 * h, columns: f, weights.lstmInputWeight,
                                           aOffset: embedSize, lda: embedSize + f, mean,
                                           into: &constantGates, parts: parts)

        var contextLogits: [Float]? = nil
        if usesContextTable {
            contextLogits = DecoderMath.productTransposed(rows: v, columns: r, depth: f, weights.outputContext,
                                                          lda: f, features, ldb: f, parts: parts)
        }
        for (name, values) in [("W_v V", projected), ("gates", constantGates), ("P = W_ec V", contextLogits ?? [])]
        where values.withUnsafeBufferPointer({ FloatScan.firstNonFinite($0) }) != nil {
            throw CXRError.invalidModel("decoder image context (\(name)) is not finite: the model's weights "
                                        + "overflow Float32 on this image")
        }
        return DecoderImageContext(regionCount: r, featureChannels: f, features: features,
                                   meanFeatures: mean, projectedFeatures: projected,
                                   constantGates: constantGates, contextLogits: contextLogits)
    }

    // MARK: Steps

    /// Runs one step for every row of `workspace`'s state: row j is fed `previousTokens[j]` and its own
    /// (h, c). Afterwards the workspace holds the new (h, c), and for each row its logits
    /// (`workspace.logits`, [rows, V]) and attention weights (`workspace.attention`, [rows, R]).
    /// Allocates nothing.
    package func step(previousTokens: [Int], context: DecoderImageContext, workspace: DecoderWorkspace) throws {
        let k = previousTokens.count
        let h = hiddenSize, e = embedSize, f = featureChannels, a = attentionSize
        let r = regionCount, v = vocabularySize
        guard workspace.matches(self) else {
            throw CXRError.invalidArgument("decoder workspace was made for a decoder of other sizes")
        }
        guard context.regionCount == r, context.featureChannels == f,
              context.constantGates.count == 4 * h, context.projectedFeatures.count == r * a,
              context.features.count == r * f,
              context.contextLogits.map({ $0.count == r * v }) ?? true else {
            throw CXRError.invalidArgument(
                "image context has \(context.regionCount) regions x \(context.featureChannels) channels, "
                    + "the decoder expects \(r) x \(f)")
        }
        guard k == workspace.rows, k >= 1 else {
            throw CXRError.invalidArgument(
                "decoder step got \(k) previous tokens for \(workspace.rows) state rows")
        }
        for token in previousTokens where token < 0 || token >= v {
            throw CXRError.invalidArgument("token id \(token) is outside 0..<\(v)")
        }

        // Gate pre-activations: constant part, then + W_ih[:, :e] E[y] (a table row when precomputed)
        // + W_hh h.
        let width = 4 * h
        context.constantGates.withUnsafeBufferPointer { constant in
            workspace.gates.withUnsafeMutableBufferPointer { gates in
                for row in 0..<k {
                    let destination = gates.baseAddress! + row * width
                    if let tokenGates {
                        tokenGates.withUnsafeBufferPointer { table in
                            let tokenRow = table.baseAddress! + previousTokens[row] * width
                            for index in 0..<width { destination[index] = constant[index] + tokenRow[index] }
                        }
                    } else {
                        destination.update(from: constant.baseAddress!, count: width)
                    }
                }
            }
        }
        if tokenGates == nil {
            for row in 0..<k {
                let token = previousTokens[row]
                workspace.embedded[(row * e)..<((row + 1) * e)] = weights.embedding[(token * e)..<((token + 1) * e)]
            }
            DecoderMath.multiplyTransposed(rows: k, columns: 4 * h, depth: e, workspace.embedded, lda: e,
                                           weights.lstmInputWeight, ldb: e + f,
                                           into: &workspace.gates, ldc: 4 * h, beta: 1, parts: workspace.parts)
        }
        DecoderMath.multiplyTransposed(rows: k, columns: 4 * h, depth: h, workspace.hidden, lda: h,
                                       weights.lstmHiddenWeight, ldb: h,
                                       into: &workspace.gates, ldc: 4 * h, beta: 1, parts: workspace.parts)
        updateLSTMState(rows: k, workspace: workspace)

        // Attention over the regions.
        DecoderMath.multiplyTransposed(rows: k, columns: a, depth: h, workspace.hidden, lda: h,
                                       weights.attentionHidden, ldb: h,
                                       into: &workspace.attentionHidden, ldc: a, beta: 0, parts: workspace.parts)
        computeAttention(rows: k, context: context, workspace: workspace)

        // Logits: b + W_eh h + W_ec C, where W_ec C = P alpha when P was precomputed.
        for row in 0..<k {
            workspace.logits[(row * v)..<((row + 1) * v)] = weights.outputBias[0..<v]
        }
        DecoderMath.multiplyTransposed(rows: k, columns: v, depth: h, workspace.hidden, lda: h,
                                       weights.outputHidden, ldb: h,
                                       into: &workspace.logits, ldc: v, beta: 1, parts: workspace.parts)
        if let table = context.contextLogits {
            DecoderMath.multiplyTransposed(rows: k, columns: v, depth: r, workspace.attention, lda: r,
                                           table, ldb: r, into: &workspace.logits, ldc: v, beta: 1,
                                           parts: workspace.parts)
        } else {
            DecoderMath.multiply(rows: k, columns: f, depth: r, workspace.attention, context.features,
                                 into: &workspace.context)
            DecoderMath.multiplyTransposed(rows: k, columns: v, depth: f, workspace.context, lda: f,
                                           weights.outputContext, ldb: f,
                                           into: &workspace.logits, ldc: v, beta: 1, parts: workspace.parts)
        }
    }

    /// c' = sigmoid(f) * c + sigmoid(i) * tanh(g); h' = sigmoid(o) * tanh(c'), from `workspace.gates`
    /// (`LSTMCellUpdate`).
    private func updateLSTMState(rows k: Int, workspace: DecoderWorkspace) {
        let h = hiddenSize
        workspace.gates.withUnsafeBufferPointer { gates in
            workspace.cell.withUnsafeMutableBufferPointer { cell in
                workspace.hidden.withUnsafeMutableBufferPointer { hidden in
                    for row in 0..<k {
                        LSTMCellUpdate.apply(gates: gates.baseAddress! + row * 4 * h,
                                             cell: cell.baseAddress! + row * h,
                                             hidden: hidden.baseAddress! + row * h, units: h)
                    }
                }
            }
        }
    }

    /// alpha[row, r] = softmax_r(w · tanh(W_h h_row + projected_r)), into `workspace.attention`
    /// (scores by `AdditiveAttention`, tanh within 1e-6 of libm).
    private func computeAttention(rows k: Int, context: DecoderImageContext, workspace: DecoderWorkspace) {
        let a = attentionSize, r = regionCount
        workspace.attentionHidden.withUnsafeBufferPointer { hidden in
            context.projectedFeatures.withUnsafeBufferPointer { projected in
                weights.attentionScore.withUnsafeBufferPointer { score in
                    workspace.attention.withUnsafeMutableBufferPointer { attention in
                        // Scores: each region's is independent, so parts take ranges of 16 regions (the
                        // kernel's lanes) and the result does not depend on the parts.
                        let blocks = (r + 15) / 16, parts = min(workspace.parts, blocks)
                        ParallelFor.run(parts: parts) { part in
                            let range = ParallelFor.range(part, of: parts, count: blocks)
                            let regions = (range.lowerBound * 16)..<min(range.upperBound * 16, r)
                            AdditiveAttention.scores(queries: hidden.baseAddress!, queryCount: k,
                                                     keys: projected.baseAddress!, regions: r,
                                                     weights: score.baseAddress!, width: a, regionRange: regions,
                                                     into: attention.baseAddress!)
                        }
                        for row in 0..<k {
                            let weights = attention.baseAddress! + row * r
                            var largest = -Float.infinity
                            for region in 0..<r { largest = max(largest, weights[region]) }
                            var total: Float = 0
                            for region in 0..<r {
                                let weight = expf(weights[region] - largest)
                                weights[region] = weight
                                total += weight
                            }
                            for region in 0..<r { weights[region] /= total }
                        }
                    }
                }
            }
        }
    }

    // MARK: Teacher forcing

    /// Runs the decoder along a fixed sequence from h = c = 0: step t (0-based) is fed
    /// `previousTokens[t]`, so pass `[<start>, y_1, ..., y_{T-1}]` to get the logits that score
    /// y_1 ... y_T. Returns the logits [T, V] and the attention weights [T, R], row t from step t.
    package func teacherForcedOutputs(previousTokens: [Int], context: DecoderImageContext,
                                      workspace: DecoderWorkspace) throws -> (logits: [Float], attention: [Float]) {
        guard !previousTokens.isEmpty else {
            throw CXRError.invalidArgument("teacher forcing needs at least one token")
        }
        var logits: [Float] = []
        var attention: [Float] = []
        logits.reserveCapacity(previousTokens.count * vocabularySize)
        attention.reserveCapacity(previousTokens.count * regionCount)
        workspace.resetState(rows: 1)
        for token in previousTokens {
            try step(previousTokens: [token], context: context, workspace: workspace)
            logits.append(contentsOf: workspace.logits[0..<vocabularySize])
            attention.append(contentsOf: workspace.attention[0..<regionCount])
        }
        return (logits, attention)
    }
}
