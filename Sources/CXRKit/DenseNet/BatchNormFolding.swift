
/// Folds BatchNorm running statistics into a per-channel scale and shift:
/// `scale = weight / sqrt(running_var + eps)`, `shift = bias - running_mean * scale`, computed in Double and
/// rounded once to Float.
package enum BatchNormFolding {
    /// A channel whose `running_var + eps` is not positive (or is NaN).
    package struct NonPositiveVariance: Error {
        package var channel: Int
        package var runningVar: Float
    }

    package static func fold(
        weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float], eps: Double
    ) -> Result<FoldedBatchNorm, NonPositiveVariance> {
        let channels = weight.count
        precondition(bias.count == channels && runningMean.count == channels && runningVar.count == channels)
        var scale = [Float](repeating: 0, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        for channel in 0..<channels {
            let variance = Double(runningVar[channel]) + eps
            guard variance > 0 else {
                return .failure(NonPositiveVariance(channel: channel, runningVar: runningVar[channel]))
            }
            let channelScale = Double(weight[channel]) / variance.squareRoot()
            scale[channel] = Float(channelScale)
            shift[channel] = Float(Double(bias[channel]) - Double(runningMean[channel]) * channelScale)
        }
        return .success(FoldedBatchNorm(scale: scale, shift: shift))
    }
}
