/// The sizes of an attention decoder: its own (h, e, a) and those of the encoder output it attends over
/// (F channels, R regions). The vocabulary size V comes from the model's vocabulary.
package struct DecoderDimensions: Equatable, Sendable {
    /// LSTM hidden size h.
    package var hidden: Int
    /// Embedding size e.
    package var embed: Int
    /// Attention projection size a.
    package var attention: Int
    /// Feature channels F of V.
    package var featureChannels: Int
    /// Regions R of V.
    package var regionCount: Int

    package init(hidden: Int, embed: Int, attention: Int, featureChannels: Int, regionCount: Int) {
        self.hidden = hidden
        self.embed = embed
        self.attention = attention
        self.featureChannels = featureChannels
        self.regionCount = regionCount
    }
}
