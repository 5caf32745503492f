/// The architecture and preprocessing settings of one model, as stored in the weights file's
/// `__metadata__["config"]` (see docs/WEIGHTS.md).
public struct ModelConfig: Equatable, Sendable {
    /// Dense layers per block; DenseNet-121 is (6, 12, 24, 16).
    public internal(set) var blockConfig: [Int] = [6, 12, 24, 16]
    /// Channels each dense layer adds (k in the DenseNet paper).
    public internal(set) var growthRate: Int = 32
    /// Bottleneck width factor: a dense layer's 1x1 convolution has bnSize x growthRate outputs.
    public internal(set) var bnSize: Int = 4
    /// Channels out of conv0.
    public internal(set) var numInitFeatures: Int = 64
    /// Image channels the encoder takes (1, or 3 for imported ImageNet/CheXNet weights).
    public internal(set) var inChannels: Int = 1
    /// Side of the square model input in pixels; a multiple of 32.
    public internal(set) var inputSize: Int = 256
    /// LSTM hidden size.
    public internal(set) var hidden: Int = 512
    /// Word embedding size.
    public internal(set) var embed: Int = 256
    /// Attention projection size.
    public internal(set) var attentionDim: Int = 512
    /// BatchNorm epsilon used when folding running statistics.
    public internal(set) var bnEps: Float = 1e-5
    /// Per-channel normalization after x / 255: (x - mean) / std. One value, or one per input channel.
    public internal(set) var mean: [Float] = [0.5]
    public internal(set) var std: [Float] = [0.25]
    /// Version of the image intake pipeline the model was trained with.
    public internal(set) var preprocessing: Int = 1

    init() {}

    /// Channels of the encoder output V (1024 for DenseNet-121).
    public var featureChannels: Int {
        var channels = numInitFeatures
        for (index, layers) in blockConfig.enumerated() {
            channels += layers * growthRate
            if index != blockConfig.count - 1 { channels /= 2 }
        }
        return channels
    }

    /// Side of the encoder's output grid: input / 32 (8 for 256). A loaded model has four dense blocks (the
    /// loader requires it), so the stem (/4) and three transitions (/8) give exactly this.
    public var gridSize: Int { inputSize / 32 }

    /// Number of attention regions (64 for 256x256 input).
    public var regionCount: Int { gridSize * gridSize }
}
