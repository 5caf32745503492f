import CXRKernels

/// The DenseNet encoder's parameters after loading: widened to Float32, BatchNorm folded into scale and
/// shift (`DenseNetWeights(reading:configuration:threeByThree:)` reads them from a weights file). Every array
/// is dense, row-major, in PyTorch's layout unless its comment says otherwise.

/// BatchNorm in inference form: y = x * scale + shift, per channel,
/// scale = gamma / sqrt(running_var + eps), shift = beta - running_mean * scale.
package struct FoldedBatchNorm: Sendable {
    package var scale: [Float]
    package var shift: [Float]
    package var channels: Int { scale.count }
}

/// A convolution without bias. `weight` is [outChannels, inChannels, kernel, kernel] (PyTorch's OIHW).
package struct ConvolutionWeights: Sendable {
    package var outChannels: Int
    package var inChannels: Int
    package var kernel: Int
    package var stride: Int
    package var padding: Int
    package var weight: [Float]
}

/// One dense layer: norm1 -> ReLU -> conv1 (1x1, bnSize x growth) -> norm2 -> ReLU -> conv2 (3x3, growth).
package struct DenseLayerWeights: Sendable {
    package var norm1: FoldedBatchNorm
    package var conv1: ConvolutionWeights
    package var norm2: FoldedBatchNorm
    package var conv2: ThreeByThreeWeights
}

/// A dense layer's 3x3 convolution as loaded: PyTorch's OIHW weights, or their Winograd transform made
/// while loading (the `.winograd` form: the raw weights then never get memory of their own).
package enum ThreeByThreeWeights: Sendable {
    case oihw(ConvolutionWeights)
    case winograd(WinogradConvolution)

    /// The OIHW weights, when they were kept.
    package var oihw: ConvolutionWeights? {
        if case .oihw(let weights) = self { return weights }
        return nil
    }
}

/// A transition between blocks: norm -> ReLU -> conv (1x1, halves channels) -> 2x2 average pool.
package struct TransitionWeights: Sendable {
    package var norm: FoldedBatchNorm
    package var conv: ConvolutionWeights
}

/// DenseNet features: conv0 (7x7/2) -> norm0 -> ReLU -> pool0 (3x3/2 max) -> blocks with transitions
/// between them -> norm5 -> ReLU (the ReLU torchvision applies after `features`).
package struct DenseNetWeights: Sendable {
    package var conv0: ConvolutionWeights
    package var norm0: FoldedBatchNorm
    /// blocks[b][l]: dense layer l+1 of denseblock b+1.
    package var blocks: [[DenseLayerWeights]]
    /// transitions[b]: transition b+1, after block b+1 (one fewer than blocks).
    package var transitions: [TransitionWeights]
    package var norm5: FoldedBatchNorm
}
