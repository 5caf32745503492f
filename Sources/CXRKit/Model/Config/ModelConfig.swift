
/// The architecture and preprocessing settings of one model, as stored in the weights file's
/// `__metadata__["config"]` (docs/WEIGHTS.md): the input the encoder takes, the decoder's sizes, and the
/// encoder's own section (`encoder`, which the config's `"encoder"` key names; DenseNet when absent).
public struct ModelConfig: Sendable {
    /// Image channels the encoder takes (1, or 3 for imported ImageNet/CheXNet weights).
    public let inChannels: Int
    /// Side of the square model input in pixels.
    public let inputSize: Int
    /// LSTM hidden size.
    public let hidden: Int
    /// Word embedding size.
    public let embed: Int
    /// Attention projection size.
    public let attentionDim: Int
    /// Per-channel normalization after x / 255: (x - mean) / std. One value, or one per input channel.
    public let mean: [Float]
    public let std: [Float]
    /// Version of the image intake pipeline the model was trained with.
    public let preprocessing: Int
    /// The encoder's section: its kind, its own settings, and what it yields.
    package let encoder: any EncoderConfiguration

    package init(input: EncoderInput, hidden: Int, embed: Int, attentionDim: Int, mean: [Float], std: [Float],
                 preprocessing: Int, encoder: any EncoderConfiguration) {
        inChannels = input.channels
        inputSize = input.size
        self.hidden = hidden
        self.embed = embed
        self.attentionDim = attentionDim
        self.mean = mean
        self.std = std
        self.preprocessing = preprocessing
        self.encoder = encoder
    }

    /// The `"encoder"` value that selects the encoder kind (`densenet`).
    public var encoderKind: String { encoder.kind }
    /// Channels of the encoder output V (1024 for DenseNet-121).
    public var featureChannels: Int { encoder.featureChannels }
    /// Side of the encoder's output grid (8 for DenseNet at 256).
    public var gridSize: Int { encoder.gridSize }
    /// Number of attention regions (64 for DenseNet at 256).
    public var regionCount: Int { gridSize * gridSize }
    /// What the encoder takes.
    package var input: EncoderInput { EncoderInput(channels: inChannels, size: inputSize) }
    /// The decoder's sizes for this config's encoder output.
    package var decoderDimensions: DecoderDimensions {
        DecoderDimensions(hidden: hidden, embed: embed, attention: attentionDim, featureChannels: featureChannels,
                          regionCount: regionCount)
    }
}

extension ModelConfig: Equatable {
    public static func == (lhs: ModelConfig, rhs: ModelConfig) -> Bool {
        lhs.inChannels == rhs.inChannels && lhs.inputSize == rhs.inputSize && lhs.hidden == rhs.hidden
            && lhs.embed == rhs.embed && lhs.attentionDim == rhs.attentionDim && lhs.mean == rhs.mean
            && lhs.std == rhs.std && lhs.preprocessing == rhs.preprocessing
            && lhs.encoder.isEqual(to: rhs.encoder)
    }
}
