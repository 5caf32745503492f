import XCTest
@testable import CXRDenseNet
@testable import CXRModel

// Seeded random encoder weights and a direct planar DenseNet forward written from the definition
// (concatenation by copying, transition conv before its pooling), for the encoder tests.

enum DenseNetTestModel {
    static func config(blocks: [Int], growth: Int, bnSize: Int, initFeatures: Int, inChannels: Int,
                       inputSize: Int) -> DenseNetConfiguration {
        DenseNetConfiguration(input: EncoderInput(channels: inChannels, size: inputSize), blockConfig: blocks,
                              growthRate: growth, bnSize: bnSize, numInitFeatures: initFeatures)
    }

    static func randomNorm(_ channels: Int, _ random: inout SeededGenerator) -> FoldedBatchNorm {
        FoldedBatchNorm(scale: random.floats(channels, in: 0.5...1.5), shift: random.floats(channels, in: -0.3...0.3))
    }

    static func randomConv(out: Int, in inChannels: Int, kernel: Int, stride: Int, padding: Int,
                           _ random: inout SeededGenerator) -> ConvolutionWeights {
        let bound = (6 / Float(inChannels * kernel * kernel)).squareRoot()  // He-uniform: keeps activations O(1)
        return ConvolutionWeights(outChannels: out, inChannels: inChannels, kernel: kernel, stride: stride,
                                  padding: padding,
                                  weight: random.floats(out * inChannels * kernel * kernel, in: -bound...bound))
    }

    static func randomWeights(_ config: DenseNetConfiguration, seed: UInt64) -> DenseNetWeights {
        var random = SeededGenerator(seed: seed)
        let conv0 = randomConv(out: config.numInitFeatures, in: config.input.channels, kernel: 7, stride: 2, padding: 3,
                               &random)
        let norm0 = randomNorm(config.numInitFeatures, &random)
        var channels = config.numInitFeatures
        let bottleneck = config.bnSize * config.growthRate
        var blocks: [[DenseLayerWeights]] = []
        var transitions: [TransitionWeights] = []
        for (index, layers) in config.blockConfig.enumerated() {
            var block: [DenseLayerWeights] = []
            for _ in 0..<layers {
                block.append(DenseLayerWeights(
                    norm1: randomNorm(channels, &random),
                    conv1: randomConv(out: bottleneck, in: channels, kernel: 1, stride: 1, padding: 0, &random),
                    norm2: randomNorm(bottleneck, &random),
                    conv2: .oihw(randomConv(out: config.growthRate, in: bottleneck, kernel: 3, stride: 1,
                                            padding: 1, &random))))
                channels += config.growthRate
            }
            blocks.append(block)
            if index != config.blockConfig.count - 1 {
                transitions.append(TransitionWeights(
                    norm: randomNorm(channels, &random),
                    conv: randomConv(out: channels / 2, in: channels, kernel: 1, stride: 1, padding: 0, &random)))
                channels /= 2
            }
        }
        return DenseNetWeights(conv0: conv0, norm0: norm0, blocks: blocks, transitions: transitions,
                              norm5: randomNorm(channels, &random))
    }

    /// The DenseNet features + final ReLU, planar, straight from the definition. Returns [F, G, G].
    static func naiveForward(_ weights: DenseNetWeights, input: PlanarImage) -> PlanarImage {
        func conv(_ x: PlanarImage, _ w: ConvolutionWeights) -> PlanarImage {
            NaiveReference.convolution(x, weight: w.weight, outChannels: w.outChannels, kernel: w.kernel,
                                       stride: w.stride, padding: w.padding)
        }
        func bnReLU(_ x: PlanarImage, _ n: FoldedBatchNorm) -> PlanarImage {
            NaiveReference.batchNormReLU(x, scale: n.scale, shift: n.shift)
        }
        var x = conv(input, weights.conv0)
        x = bnReLU(x, weights.norm0)
        x = NaiveReference.maxPool(x, kernel: 3, stride: 2, padding: 1)
        for (index, block) in weights.blocks.enumerated() {
            for layer in block {
                let bottleneck = conv(bnReLU(x, layer.norm1), layer.conv1)
                let new = conv(bnReLU(bottleneck, layer.norm2), layer.conv2.oihw!)
                x = x.appending(new)
            }
            if index < weights.transitions.count {
                let t = weights.transitions[index]
                x = NaiveReference.averagePool(conv(bnReLU(x, t.norm), t.conv), kernel: 2, stride: 2)
            }
        }
        return bnReLU(x, weights.norm5)
    }

    /// [F, G, G] planar -> [G·G, F] region-major.
    static func regionMajor(_ features: PlanarImage) -> [Float] { features.channelsLast }
}
