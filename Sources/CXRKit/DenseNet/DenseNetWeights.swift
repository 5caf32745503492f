/// The parameters of a model after loading: widened to Float32, BatchNorm folded into scale and shift.
///
/// The weights layer (`Weights/`) builds these from a safetensors file; the encoder and decoder read them.
/// Every array is dense, row-major, in PyTorch's layout unless its comment says otherwise.

/// BatchNorm in inference form: y = x * scale + shift, per channel,
/// scale = gamma / sqrt(running_var + eps), shift = beta - running_mean * scale.
struct FoldedBatchNorm: Sendable {
    var scale: [Float]
    var shift: [Float]
    var channels: Int { scale.count }
}

/// A convolution without bias. `weight` is [outChannels, inChannels, kernel, kernel] (PyTorch's OIHW).
struct ConvolutionWeights: Sendable {
    var outChannels: Int
    var inChannels: Int
    var kernel: Int
    var stride: Int
    var padding: Int
    var weight: [Float]
}

/// One dense layer: norm1 -> ReLU -> conv1 (1x1, bnSize x growth) -> norm2 -> ReLU -> conv2 (3x3, growth).
struct DenseLayerWeights: Sendable {
    var norm1: FoldedBatchNorm
    var conv1: ConvolutionWeights
    var norm2: FoldedBatchNorm
    var conv2: ThreeByThreeWeights
}

/// A dense layer's 3x3 convolution as loaded: PyTorch's OIHW weights, or their Winograd transform made
/// while loading (`ModelLoader`'s `.winograd` form: the raw weights then never get memory of their own).
enum ThreeByThreeWeights: Sendable {
    case oihw(ConvolutionWeights)
    case winograd(WinogradConvolution)

    /// The OIHW weights, when they were kept.
    var oihw: ConvolutionWeights? {
        if case .oihw(let weights) = self { return weights }
        return nil
    }
}

/// A transition between blocks: norm -> ReLU -> conv (1x1, halves channels) -> 2x2 average pool.
struct TransitionWeights: Sendable {
    var norm: FoldedBatchNorm
    var conv: ConvolutionWeights
}

/// DenseNet features: conv0 (7x7/2) -> norm0 -> ReLU -> pool0 (3x3/2 max) -> blocks with transitions
/// between them -> norm5 -> ReLU (the ReLU torchvision applies after `features`).
struct EncoderWeights: Sendable {
    var conv0: ConvolutionWeights
    var norm0: FoldedBatchNorm
    /// blocks[b][l]: dense layer l+1 of denseblock b+1.
    var blocks: [[DenseLayerWeights]]
    /// transitions[b]: transition b+1, after block b+1 (one fewer than blocks).
    var transitions: [TransitionWeights]
    var norm5: FoldedBatchNorm
}

/// The attention LSTM decoder. F = feature channels, h = hidden, e = embed, a = attention dim, V = vocab.
struct DecoderWeights: Sendable {
    /// [V, e]
    var embedding: [Float]
    /// [4h, e + F], gates in PyTorch's order (input, forget, cell, output); input is [E y ; V_gav].
    var lstmInputWeight: [Float]
    /// [4h, h]
    var lstmHiddenWeight: [Float]
    /// [4h]: bias_ih + bias_hh.
    var lstmBias: [Float]
    /// W_h: [a, h] (no bias).
    var attentionHidden: [Float]
    /// W_v: [a, F]
    var attentionFeature: [Float]
    /// [a]
    var attentionFeatureBias: [Float]
    /// w: [a]
    var attentionScore: [Float]
    /// W_eh: [V, h]
    var outputHidden: [Float]
    /// [V]
    var outputBias: [Float]
    /// W_ec: [V, F] (no bias).
    var outputContext: [Float]
    /// `AttentionDecoder.tokenGates` ([V, 4h]) when the loader computed it beside the encoder's work; nil:
    /// the decoder computes it itself (when its limit allows).
    var tokenGates: [Float]? = nil
}

/// The optional multi-label findings head: sigmoid(weight · V_gav + bias).
struct FindingsHeadWeights: Sendable {
    /// [L, F]
    var weight: [Float]
    /// [L]
    var bias: [Float]
}

/// Everything a loaded model holds.
struct ModelWeights: Sendable {
    var encoder: EncoderWeights
    var decoder: DecoderWeights
    var findings: FindingsHeadWeights?
}
