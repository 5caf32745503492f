import CXRKernels
import CXRSupport

/// The encoder's weights in the form its kernels use: convolutions repacked for channels-last GEMM,
/// BatchNorms folded (as loaded). Built and shape-checked once by `DenseNetEncoder.init`.

/// norm1 -> ReLU -> conv1 (1x1) -> norm2 -> ReLU -> conv2 (3x3, pad 1).
package struct PackedDenseLayer: Sendable {
    package let norm1: FoldedBatchNorm
    package let conv1: PackedConvolution
    package let norm2: FoldedBatchNorm
    /// conv2 as one of its two kernels (the encoder's `usesWinograd` decides which).
    package let conv2: ThreeByThree
}

/// A dense layer's 3x3 convolution, packed for the kernel that runs it.
package enum ThreeByThree: Sendable {
    /// Winograd F(2x2, 3x3) (the default).
    case winograd(WinogradConvolution)
    /// im2col + GEMM: the direct sum.
    case im2col(PackedConvolution)
}

/// norm -> ReLU -> conv (1x1) -> 2x2 average pool; run as BN-ReLU + pool, then the 1x1 conv.
package struct PackedTransition: Sendable {
    package let norm: FoldedBatchNorm
    package let conv: PackedConvolution
}

/// Shape checks of loaded weights against the plan, each failure naming the tensor (torchvision names).
package enum DenseNetWeightsCheck {
    package static func norm(_ norm: FoldedBatchNorm, channels: Int, name: String) throws {
        guard norm.scale.count == channels, norm.shift.count == channels else {
            throw CXRError.invalidModel("\(name) has \(norm.scale.count) scales and \(norm.shift.count) shifts, "
                                        + "expected \(channels)")
        }
    }

    package static func convolution(_ conv: ConvolutionWeights, out: Int, in inChannels: Int, kernel: Int,
                            stride: Int, padding: Int, name: String) throws -> PackedConvolution {
        try validate(conv, out: out, in: inChannels, kernel: kernel, stride: stride, padding: padding, name: name)
        return PackedConvolution(outChannels: out, inChannels: inChannels, kernel: kernel, stride: stride,
                                 padding: padding, oihw: conv.weight)
    }

    /// Throws `invalidModel` unless `conv` has exactly the given shape (torchvision names in the message).
    package static func validate(_ conv: ConvolutionWeights, out: Int, in inChannels: Int, kernel: Int,
                         stride: Int, padding: Int, name: String) throws {
        guard conv.outChannels == out, conv.inChannels == inChannels, conv.kernel == kernel,
              conv.stride == stride, conv.padding == padding else {
            throw CXRError.invalidModel(
                "\(name) is [\(conv.outChannels), \(conv.inChannels), \(conv.kernel), \(conv.kernel)] "
                + "stride \(conv.stride) padding \(conv.padding), expected [\(out), \(inChannels), \(kernel), "
                + "\(kernel)] stride \(stride) padding \(padding)")
        }
        let expected = out * inChannels * kernel * kernel
        guard conv.weight.count == expected else {
            throw CXRError.invalidModel("\(name) holds \(conv.weight.count) weights, expected \(expected)")
        }
    }
}
