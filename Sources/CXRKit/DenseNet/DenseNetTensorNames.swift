/// The DenseNet encoder's tensor names and exact shapes in a cxrcaption/1 file (docs/WEIGHTS.md): torchvision's
/// `densenet121().features` under `encoder.features.`, in the reference module's `state_dict()` order.
package enum DenseNetTensorNames {
    package static let batchNormParameters = ["weight", "bias", "running_mean", "running_var"]

    package static func denseLayer(_ block: Int, _ layer: Int) -> String {
        "encoder.features.denseblock\(block).denselayer\(layer)"
    }

    package static func transition(_ index: Int) -> String { "encoder.features.transition\(index)" }

    /// Every tensor the encoder of `configuration` reads.
    package static func expected(_ configuration: DenseNetConfiguration) -> [(name: String, shape: [Int])] {
        var result: [(name: String, shape: [Int])] = []
        func batchNorm(_ prefix: String, _ channels: Int) {
            for parameter in batchNormParameters { result.append(("\(prefix).\(parameter)", [channels])) }
        }
        let growth = configuration.growthRate
        let bottleneck = configuration.bnSize * growth
        var channels = configuration.numInitFeatures
        result.append(("encoder.features.conv0.weight", [channels, configuration.input.channels, 7, 7]))
        batchNorm("encoder.features.norm0", channels)
        for (blockIndex, layers) in configuration.blockConfig.enumerated() {
            for layer in stride(from: 1, through: layers, by: 1) {
                let prefix = denseLayer(blockIndex + 1, layer)
                batchNorm("\(prefix).norm1", channels)
                result.append(("\(prefix).conv1.weight", [bottleneck, channels, 1, 1]))
                batchNorm("\(prefix).norm2", bottleneck)
                result.append(("\(prefix).conv2.weight", [growth, bottleneck, 3, 3]))
                channels += growth
            }
            if blockIndex != configuration.blockConfig.count - 1 {
                let prefix = transition(blockIndex + 1)
                batchNorm("\(prefix).norm", channels)
                result.append(("\(prefix).conv.weight", [channels / 2, channels, 1, 1]))
                channels /= 2
            }
        }
        batchNorm("encoder.features.norm5", channels)
        return result
    }
}
