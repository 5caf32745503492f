import CXRSupport
import CXRWeights

/// The optional multi-label findings head: p = sigmoid(W V_gav + b), one probability per label.
/// Immutable and shareable across threads.
package final class FindingsHead: Sendable {
    /// Labels L.
    package let labelCount: Int
    /// Feature channels F.
    package let featureChannels: Int
    /// W: [L, F]
    package let weight: [Float]
    /// b: [L]
    package let bias: [Float]

    /// Wraps loaded weights ([L, F] and [L]), checking them against `featureChannels`.
    package init(weight: [Float], bias: [Float], featureChannels: Int) throws {
        let labels = bias.count
        guard labels >= 1, featureChannels >= 1, featureChannels <= Int(Int32.max),
              labels <= Int(Int32.max) else {
            throw CXRError.invalidModel(
                "findings head has \(labels) labels and \(featureChannels) channels; both must be >= 1")
        }
        let (expected, overflow) = labels.multipliedReportingOverflow(by: featureChannels)
        guard !overflow, weight.count == expected else {
            throw CXRError.invalidModel(
                "findings.weight holds \(weight.count) values, expected \(labels) x \(featureChannels)")
        }
        labelCount = labels
        self.featureChannels = featureChannels
        self.weight = weight
        self.bias = bias
    }

    /// The findings head of a weights file (its tensors validated against `expectedTensors`).
    package convenience init(reading tensors: SafeTensorsReader, featureChannels: Int) throws {
        try self.init(weight: tensors.floats("findings.weight"), bias: tensors.floats("findings.bias"),
                      featureChannels: featureChannels)
    }

    /// The head's tensors for `labelCount` labels over `featureChannels` channels (docs/WEIGHTS.md).
    package static func expectedTensors(labelCount: Int, featureChannels: Int) -> [(name: String, shape: [Int])] {
        [("findings.weight", [labelCount, featureChannels]), ("findings.bias", [labelCount])]
    }

    /// The label probabilities for V_gav ([F]), each in [0, 1]; throws `invalidModel` when a logit is not
    /// finite.
    package func probabilities(meanFeatures: [Float]) throws -> [Float] {
        guard meanFeatures.count == featureChannels else {
            throw CXRError.invalidArgument(
                "findings head got \(meanFeatures.count) mean features, expected \(featureChannels)")
        }
        var logits = bias
        DecoderMath.accumulateMatrixVector(rows: labelCount, columns: featureChannels, weight,
                                           lda: featureChannels, meanFeatures, into: &logits)
        // sigmoid(NaN) is NaN, not a probability.
        if logits.withUnsafeBufferPointer({ FloatScan.firstNonFinite($0) }) != nil {
            throw CXRError.invalidModel("findings head output is not finite: the model's weights overflow "
                                        + "Float32 on this image")
        }
        return logits.map(DecoderMath.sigmoid)
    }

    /// The label probabilities for the encoder output V, region-major [R, F] (its mean over the regions is
    /// V_gav, the same as the decoder's).
    package func probabilities(features: [Float], regionCount: Int) throws -> [Float] {
        guard regionCount >= 1, features.count == regionCount * featureChannels else {
            throw CXRError.invalidArgument(
                "findings head got \(features.count) features, expected \(regionCount) regions x \(featureChannels)")
        }
        return try probabilities(meanFeatures: RegionMean.of(features, regions: regionCount, channels: featureChannels))
    }
}
