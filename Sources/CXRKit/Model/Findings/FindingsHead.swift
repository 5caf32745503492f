/// The optional multi-label findings head: p = sigmoid(W V_gav + b), one probability per label.
/// Immutable and shareable across threads.
final class FindingsHead: Sendable {
    /// Labels L.
    let labelCount: Int
    /// Feature channels F.
    let featureChannels: Int

    let weights: FindingsHeadWeights

    /// Wraps loaded weights, checking them against `featureChannels`.
    init(weights: FindingsHeadWeights, featureChannels: Int) throws {
        let labels = weights.bias.count
        guard labels >= 1, featureChannels >= 1, featureChannels <= Int(Int32.max),
              labels <= Int(Int32.max) else {
            throw CXRError.invalidModel(
                "findings head has \(labels) labels and \(featureChannels) channels; both must be >= 1")
        }
        let (expected, overflow) = labels.multipliedReportingOverflow(by: featureChannels)
        guard !overflow, weights.weight.count == expected else {
            throw CXRError.invalidModel(
                "findings.weight holds \(weights.weight.count) values, expected \(labels) x \(featureChannels)")
        }
        labelCount = labels
        self.featureChannels = featureChannels
        self.weights = weights
    }

    /// The findings head of a loaded model, or nil when it has none.
    static func of(_ model: LoadedModel) throws -> FindingsHead? {
        guard let weights = model.weights.findings else { return nil }
        return try FindingsHead(weights: weights, featureChannels: model.config.featureChannels)
    }

    /// The label probabilities for V_gav ([F]).
    func probabilities(meanFeatures: [Float]) throws -> [Float] {
        guard meanFeatures.count == featureChannels else {
            throw CXRError.invalidArgument(
                "findings head got \(meanFeatures.count) mean features, expected \(featureChannels)")
        }
        var logits = weights.bias
        DecoderMath.accumulateMatrixVector(rows: labelCount, columns: featureChannels, weights.weight,
                                           lda: featureChannels, meanFeatures, into: &logits)
        return logits.map(DecoderMath.sigmoid)
    }

    /// The label probabilities for the encoder output V, region-major [R, F] (its mean over the regions is
    /// V_gav, the same as the decoder's).
    func probabilities(features: [Float], regionCount: Int) throws -> [Float] {
        guard regionCount >= 1, features.count == regionCount * featureChannels else {
            throw CXRError.invalidArgument(
                "findings head got \(features.count) features, expected \(regionCount) regions x \(featureChannels)")
        }
        return try probabilities(meanFeatures: RegionMean.of(features, regions: regionCount, channels: featureChannels))
    }
}
