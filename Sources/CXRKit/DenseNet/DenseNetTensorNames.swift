/// The tensor names and exact shapes a cxrcaption/1 file must contain for a given config (docs/WEIGHTS.md),
/// in the reference module's `state_dict()` order.
enum ModelTensorNames {
    static let batchNormParameters = ["weight", "bias", "running_mean", "running_var"]

    static func denseLayer(_ block: Int, _ layer: Int) -> String {
        "encoder.features.denseblock\(block).denselayer\(layer)"
    }

    static func transition(_ index: Int) -> String { "encoder.features.transition\(index)" }

    /// Every expected tensor. `labelCount` is nil when the model has no findings head.
    static func expected(config: ModelConfig, vocabularySize: Int, labelCount: Int?) -> [(name: String, shape: [Int])] {
        var result: [(name: String, shape: [Int])] = []
        func batchNorm(_ prefix: String, _ channels: Int) {
            for parameter in batchNormParameters { result.append(("\(prefix).\(parameter)", [channels])) }
        }
        let growth = config.growthRate
        let bottleneck = config.bnSize * growth
        var channels = config.numInitFeatures
        result.append(("encoder.features.conv0.weight", [channels, config.inChannels, 7, 7]))
        batchNorm("encoder.features.norm0", channels)
        for (blockIndex, layers) in config.blockConfig.enumerated() {
            for layer in stride(from: 1, through: layers, by: 1) {
                let prefix = denseLayer(blockIndex + 1, layer)
                batchNorm("\(prefix).norm1", channels)
                result.append(("\(prefix).conv1.weight", [bottleneck, channels, 1, 1]))
                batchNorm("\(prefix).norm2", bottleneck)
                result.append(("\(prefix).conv2.weight", [growth, bottleneck, 3, 3]))
                channels += growth
            }
            if blockIndex != config.blockConfig.count - 1 {
                let prefix = transition(blockIndex + 1)
                batchNorm("\(prefix).norm", channels)
                result.append(("\(prefix).conv.weight", [channels / 2, channels, 1, 1]))
                channels /= 2
            }
        }
        batchNorm("encoder.features.norm5", channels)

        let features = channels
        let hidden = config.hidden
        let attention = config.attentionDim
        let vocabulary = vocabularySize
        result.append(("decoder.embedding.weight", [vocabulary, config.embed]))
        result.append(("decoder.lstm.weight_ih", [4 * hidden, config.embed + features]))
        result.append(("decoder.lstm.weight_hh", [4 * hidden, hidden]))
        result.append(("decoder.lstm.bias_ih", [4 * hidden]))
        result.append(("decoder.lstm.bias_hh", [4 * hidden]))
        result.append(("decoder.att_h.weight", [attention, hidden]))
        result.append(("decoder.att_v.weight", [attention, features]))
        result.append(("decoder.att_v.bias", [attention]))
        result.append(("decoder.att_w.weight", [1, attention]))
        result.append(("decoder.out_h.weight", [vocabulary, hidden]))
        result.append(("decoder.out_h.bias", [vocabulary]))
        result.append(("decoder.out_c.weight", [vocabulary, features]))
        if let labelCount {
            result.append(("findings.weight", [labelCount, features]))
            result.append(("findings.bias", [labelCount]))
        }
        return result
    }

    /// Tensors whose first dimension is the vocabulary size.
    static let vocabularyRowTensors: Set<String> = [
        "decoder.embedding.weight", "decoder.out_h.weight", "decoder.out_h.bias", "decoder.out_c.weight",
    ]

    /// Tensors the loader ignores (BatchNorm step counters), whatever their dtype.
    static func isIgnored(_ name: String) -> Bool { name.hasSuffix(".num_batches_tracked") }
}
