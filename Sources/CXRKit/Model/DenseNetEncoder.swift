/// The DenseNet feature extractor (torchvision's `densenet121(...).features` for the default config),
/// followed by the ReLU torchvision applies after it:
///
/// conv0 (7x7/2, pad 3) -> norm0 -> ReLU -> pool0 (3x3/2 max, pad 1) -> dense blocks, each layer
/// norm1-ReLU-conv1 (1x1, bnSize·growth) -> norm2-ReLU-conv2 (3x3, pad 1, growth) appended to its block,
/// with a transition (norm-ReLU-conv 1x1 to C/2 -> 2x2 average pool) between blocks -> norm5 -> ReLU.
///
/// Immutable after `init` and safe to share across threads; all per-call memory is in an
/// `EncoderWorkspace` (one per concurrent caller).
final class DenseNetEncoder: Sendable {
    let config: ModelConfig
    let plan: DenseNetPlan
    private let conv0: PackedConvolution
    private let norm0: FoldedBatchNorm
    private let layers: [[PackedDenseLayer]]
    private let transitions: [PackedTransition]
    private let norm5: FoldedBatchNorm

    /// Checks every weight's shape against `config` and repacks the convolutions.
    /// Throws `invalidModel` naming the first tensor whose shape is wrong.
    init(weights: EncoderWeights, config: ModelConfig) throws {
        let plan = try DenseNetPlan(config: config)
        self.config = config
        self.plan = plan
        let prefix = "encoder.features."
        conv0 = try DenseNetWeightsCheck.convolution(
            weights.conv0, out: plan.stemChannels, in: plan.inChannels, kernel: 7, stride: 2, padding: 3,
            name: prefix + "conv0.weight")
        try DenseNetWeightsCheck.norm(weights.norm0, channels: plan.stemChannels, name: prefix + "norm0")
        norm0 = weights.norm0

        guard weights.blocks.count == plan.blocks.count else {
            throw CXRError.invalidModel("weights hold \(weights.blocks.count) dense blocks, config has "
                                        + "\(plan.blocks.count)")
        }
        guard weights.transitions.count == plan.blocks.count - 1 else {
            throw CXRError.invalidModel("weights hold \(weights.transitions.count) transitions, expected "
                                        + "\(plan.blocks.count - 1)")
        }
        var layers: [[PackedDenseLayer]] = []
        var transitions: [PackedTransition] = []
        for (blockIndex, block) in plan.blocks.enumerated() {
            let blockWeights = weights.blocks[blockIndex]
            guard blockWeights.count == block.layers else {
                throw CXRError.invalidModel("denseblock\(blockIndex + 1) has \(blockWeights.count) layers, "
                                            + "config has \(block.layers)")
            }
            var packed: [PackedDenseLayer] = []
            for (layerIndex, layer) in blockWeights.enumerated() {
                let name = prefix + "denseblock\(blockIndex + 1).denselayer\(layerIndex + 1)."
                let channels = block.inputChannels + layerIndex * plan.growthRate
                try DenseNetWeightsCheck.norm(layer.norm1, channels: channels, name: name + "norm1")
                try DenseNetWeightsCheck.norm(layer.norm2, channels: plan.bottleneckChannels, name: name + "norm2")
                packed.append(PackedDenseLayer(
                    norm1: layer.norm1,
                    conv1: try DenseNetWeightsCheck.convolution(
                        layer.conv1, out: plan.bottleneckChannels, in: channels, kernel: 1, stride: 1,
                        padding: 0, name: name + "conv1.weight"),
                    norm2: layer.norm2,
                    conv2: try DenseNetWeightsCheck.convolution(
                        layer.conv2, out: plan.growthRate, in: plan.bottleneckChannels, kernel: 3, stride: 1,
                        padding: 1, name: name + "conv2.weight")))
            }
            layers.append(packed)
            if blockIndex < plan.blocks.count - 1 {
                let transition = weights.transitions[blockIndex]
                let name = prefix + "transition\(blockIndex + 1)."
                try DenseNetWeightsCheck.norm(transition.norm, channels: block.outputChannels, name: name + "norm")
                transitions.append(PackedTransition(
                    norm: transition.norm,
                    conv: try DenseNetWeightsCheck.convolution(
                        transition.conv, out: block.outputChannels / 2, in: block.outputChannels, kernel: 1,
                        stride: 1, padding: 0, name: name + "conv.weight")))
            }
        }
        self.layers = layers
        self.transitions = transitions
        try DenseNetWeightsCheck.norm(weights.norm5, channels: plan.featureChannels, name: prefix + "norm5")
        norm5 = weights.norm5
    }

    /// Channels of V (F).
    var featureChannels: Int { plan.featureChannels }
    /// Side of V's grid (G; input_size / 32 for four blocks).
    var gridSize: Int { plan.outputSide }
    /// Regions of V (R = G²), region r = y·G + x.
    var regionCount: Int { plan.regionCount }
    /// Floats `encode` reads: [inChannels, inputSize, inputSize].
    var inputCount: Int { plan.inputCount }
    /// Floats `encode` writes: [regionCount, featureChannels].
    var outputCount: Int { plan.outputCount }

    /// A fresh workspace for this encoder's shapes.
    func makeWorkspace() -> EncoderWorkspace {
        EncoderWorkspace(plan: plan)
    }

    /// Runs the encoder on one image.
    ///
    /// - Parameters:
    ///   - input: the normalized image, planar [inChannels, S, S] (`inputCount` floats).
    ///   - workspace: from `makeWorkspace()` of an encoder with the same configuration.
    ///   - output: receives V after the final ReLU, region-major [R, F] (`outputCount` floats).
    ///   - threads: OpenBLAS threads for this call; 0 means all cores.
    ///   - shouldAbort: polled before every dense layer; returning true throws `CXRError.aborted`
    ///     (output is then unspecified; the workspace stays usable).
    func encode(input: UnsafePointer<Float>, workspace: EncoderWorkspace, output: UnsafeMutablePointer<Float>,
                threads: Int, shouldAbort: (() -> Bool)?) throws {
        guard workspace.plan == plan else {
            throw CXRError.invalidArgument("encoder workspace was made for another configuration "
                                           + "(input_size \(workspace.plan.inputSize), "
                                           + "\(workspace.plan.featureChannels) features)")
        }
        guard threads >= 0 else { throw CXRError.invalidArgument("threads \(threads) is negative") }
        BLASThreads.apply(threads)

        // Stem: conv0 -> norm0 -> ReLU -> pool0, pooled straight into the first block's buffer.
        let image = FeatureMapView(base: workspace.image.pointer, height: plan.inputSize, width: plan.inputSize,
                                   channels: plan.inChannels)
        LayoutConversion.planarToChannelsLast(input, output: image)
        let stem = FeatureMapView(base: workspace.stem.pointer, height: plan.stemSide, width: plan.stemSide,
                                  channels: plan.stemChannels)
        Convolution.forward(input: image, weights: conv0, output: stem,
                            scratch: workspace.columns.pointer, scratchCount: workspace.columns.count)
        BatchNormReLU.apply(input: stem, scale: norm0.scale, shift: norm0.shift, output: stem)
        Pooling.maxPool(input: stem, output: workspace.blockView(0).channels(0..<plan.stemChannels),
                        kernel: 3, stride: 2, padding: 1)

        for (blockIndex, block) in plan.blocks.enumerated() {
            let buffer = workspace.blockView(blockIndex)
            var channels = block.inputChannels
            for layer in layers[blockIndex] {
                if let shouldAbort, shouldAbort() { throw CXRError.aborted }
                runDenseLayer(layer, block: buffer, inputChannels: channels, workspace: workspace)
                channels += plan.growthRate
            }
            if blockIndex < transitions.count {
                runTransition(transitions[blockIndex], block: buffer,
                              next: workspace.blockView(blockIndex + 1), workspace: workspace)
            }
        }

        // norm5 -> ReLU, written region-major into the caller's output.
        let last = workspace.blockView(plan.blocks.count - 1)
        let features = FeatureMapView(base: output, height: plan.outputSide, width: plan.outputSide,
                                      channels: plan.featureChannels)
        BatchNormReLU.apply(input: last, scale: norm5.scale, shift: norm5.shift, output: features)
    }

    /// `encode` on arrays: `input` must hold `inputCount` floats; returns `outputCount` floats.
    func encode(input: [Float], workspace: EncoderWorkspace, threads: Int = 0,
                shouldAbort: (() -> Bool)? = nil) throws -> [Float] {
        guard input.count == inputCount else {
            throw CXRError.invalidArgument("encoder input has \(input.count) floats, expected \(inputCount) "
                                           + "(\(plan.inChannels) x \(plan.inputSize) x \(plan.inputSize))")
        }
        var output = [Float](repeating: 0, count: outputCount)
        try input.withUnsafeBufferPointer { input in
            try output.withUnsafeMutableBufferPointer { output in
                try encode(input: input.baseAddress!, workspace: workspace, output: output.baseAddress!,
                           threads: threads, shouldAbort: shouldAbort)
            }
        }
        return output
    }

    /// BN1-ReLU of the block's first `inputChannels` channels -> 1x1 conv -> BN2-ReLU (in place) ->
    /// 3x3 conv written into the block's next `growthRate` channels.
    private func runDenseLayer(_ layer: PackedDenseLayer, block: FeatureMapView, inputChannels: Int,
                               workspace: EncoderWorkspace) {
        let side = block.height
        let normalized = FeatureMapView(base: workspace.normalized.pointer, height: side, width: side,
                                        channels: inputChannels)
        BatchNormReLU.apply(input: block.channels(0..<inputChannels), scale: layer.norm1.scale,
                            shift: layer.norm1.shift, output: normalized)
        let bottleneck = FeatureMapView(base: workspace.bottleneck.pointer, height: side, width: side,
                                        channels: plan.bottleneckChannels)
        Convolution.forward(input: normalized, weights: layer.conv1, output: bottleneck,
                            scratch: workspace.columns.pointer, scratchCount: workspace.columns.count)
        BatchNormReLU.apply(input: bottleneck, scale: layer.norm2.scale, shift: layer.norm2.shift,
                            output: bottleneck)
        Convolution.forward(input: bottleneck, weights: layer.conv2,
                            output: block.channels(inputChannels..<(inputChannels + plan.growthRate)),
                            scratch: workspace.columns.pointer, scratchCount: workspace.columns.count)
    }

    /// BN-ReLU fused with the 2x2 average pool, then the 1x1 conv (pool and conv commute, both linear)
    /// into the first channels of the next block's buffer.
    private func runTransition(_ transition: PackedTransition, block: FeatureMapView, next: FeatureMapView,
                               workspace: EncoderWorkspace) {
        let pooled = FeatureMapView(base: workspace.normalized.pointer, height: next.height, width: next.width,
                                    channels: block.channels)
        Pooling.batchNormReLUAveragePool(input: block, scale: transition.norm.scale, shift: transition.norm.shift,
                                         output: pooled, kernel: 2, stride: 2)
        Convolution.forward(input: pooled, weights: transition.conv, output: next.channels(0..<transition.conv.outChannels),
                            scratch: workspace.columns.pointer, scratchCount: workspace.columns.count)
    }
}
