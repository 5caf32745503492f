import CXRKernels
import CXRSupport
import CXRWeights

/// The form a load gives the dense layers' 3x3 convolutions (`ThreeByThreeWeights`).
package enum ThreeByThreeForm: Sendable {
    /// PyTorch's OIHW weights, as in the file (for tests and the im2col encoder).
    case oihw
    /// Winograd-transformed while reading, each tensor through one reused buffer, so that the 8.5 MB of
    /// raw weights of DenseNet-121 never get pages of their own (what a model for captioning loads).
    case winograd
}

extension DenseNetWeights {
    /// Reads the encoder's tensors of a weights file (names and shapes validated against
    /// `DenseNetTensorNames.expected(configuration)`), folding every BatchNorm with `configuration.bnEps`.
    package init(reading tensors: SafeTensorsReader, configuration: DenseNetConfiguration,
                 threeByThree: ThreeByThreeForm) throws {
        let reader = DenseNetTensorReader(tensors: tensors, eps: Double(configuration.bnEps),
                                          threeByThree: threeByThree)
        let conv0 = try reader.convolution("encoder.features.conv0.weight", kernel: 7, stride: 2, padding: 3)
        let norm0 = try reader.batchNorm("encoder.features.norm0")
        var blocks: [[DenseLayerWeights]] = []
        var transitions: [TransitionWeights] = []
        var scratch: [Float] = []
        for (blockIndex, layers) in configuration.blockConfig.enumerated() {
            var block: [DenseLayerWeights] = []
            for layer in stride(from: 1, through: layers, by: 1) {
                let prefix = DenseNetTensorNames.denseLayer(blockIndex + 1, layer)
                block.append(DenseLayerWeights(
                    norm1: try reader.batchNorm("\(prefix).norm1"),
                    conv1: try reader.convolution("\(prefix).conv1.weight", kernel: 1, stride: 1, padding: 0),
                    norm2: try reader.batchNorm("\(prefix).norm2"),
                    conv2: try reader.threeByThree("\(prefix).conv2.weight", scratch: &scratch)))
            }
            blocks.append(block)
            if blockIndex != configuration.blockConfig.count - 1 {
                let prefix = DenseNetTensorNames.transition(blockIndex + 1)
                transitions.append(TransitionWeights(
                    norm: try reader.batchNorm("\(prefix).norm"),
                    conv: try reader.convolution("\(prefix).conv.weight", kernel: 1, stride: 1, padding: 0)))
            }
        }
        self.init(conv0: conv0, norm0: norm0, blocks: blocks, transitions: transitions,
                  norm5: try reader.batchNorm("encoder.features.norm5"))
    }
}

/// Reads one DenseNet's tensors: convolutions, folded BatchNorms, and 3x3 convolutions in the form asked for.
private struct DenseNetTensorReader {
    let tensors: SafeTensorsReader
    let eps: Double
    let threeByThree: ThreeByThreeForm

    func batchNorm(_ prefix: String) throws -> FoldedBatchNorm {
        let folded = BatchNormFolding.fold(
            weight: try tensors.floats("\(prefix).weight"), bias: try tensors.floats("\(prefix).bias"),
            runningMean: try tensors.floats("\(prefix).running_mean"),
            runningVar: try tensors.floats("\(prefix).running_var"), eps: eps)
        switch folded {
        case .success(let batchNorm): return batchNorm
        case .failure(let problem):
            throw CXRError.invalidModel("tensor \(prefix).running_var[\(problem.channel)] is \(problem.runningVar); "
                + "running_var + bn_eps must be positive")
        }
    }

    func convolution(_ name: String, kernel: Int, stride: Int, padding: Int) throws -> ConvolutionWeights {
        let shape = try tensors.info(name).shape  // validated: [out, in, kernel, kernel]
        return ConvolutionWeights(outChannels: shape[0], inChannels: shape[1], kernel: kernel, stride: stride,
                                  padding: padding, weight: try tensors.floats(name))
    }

    /// A dense layer's 3x3 convolution in the form asked for. The `.winograd` form reads the tensor into
    /// `scratch` (grown as needed, reused for every layer) and transforms it from there.
    func threeByThree(_ name: String, scratch: inout [Float]) throws -> ThreeByThreeWeights {
        let tensor = try tensors.info(name)
        let shape = tensor.shape  // validated: [out, in, 3, 3]
        guard threeByThree == .winograd, shape.count == 4, shape[0] >= 1, shape[1] >= 1, shape[2] == 3,
              shape[3] == 3 else {
            // (Any other shape stays OIHW; the encoder rejects it by name.)
            return .oihw(try convolution(name, kernel: 3, stride: 1, padding: 1))
        }
        if scratch.count < tensor.elementCount {
            scratch = [Float](repeating: 0, count: tensor.elementCount)
        }
        return try scratch.withUnsafeMutableBufferPointer { buffer in
            let weights = UnsafeMutableBufferPointer(rebasing: buffer[0..<tensor.elementCount])
            try tensors.read(tensor, into: weights)
            return .winograd(WinogradConvolution(outChannels: shape[0], inChannels: shape[1],
                                                 oihw: UnsafeBufferPointer(weights)))
        }
    }
}
