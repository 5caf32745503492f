/// V_gav: the mean of the encoder output over its regions, accumulated in Double (the decoder's LSTM input
/// and the findings head's input).
package enum RegionMean {
    /// The per-channel mean of region-major features [regions, channels]; `features.count` must be
    /// `regions * channels` (callers check it) and `regions` at least 1.
    package static func of(_ features: [Float], regions: Int, channels: Int) -> [Float] {
        precondition(regions >= 1 && features.count == regions * channels, "region-major features of the wrong size")
        var sums = [Double](repeating: 0, count: channels)
        for region in 0..<regions {
            for channel in 0..<channels { sums[channel] += Double(features[region * channels + channel]) }
        }
        return sums.map { Float($0 / Double(regions)) }
    }
}
