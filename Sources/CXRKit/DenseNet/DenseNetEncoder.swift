import CXRKernels
import CXRModel
import CXRSupport
import CXRTensor

/// The DenseNet feature extractor (torchvision's `densenet121(...).features` for the default config),
/// followed by the ReLU torchvision applies after it:
///
/// conv0 (7x7/2, pad 3) -> norm0 -> ReLU -> pool0 (3x3/2 max, pad 1) -> dense blocks, each layer
/// norm1-ReLU-conv1 (1x1, bnSize·growth) -> norm2-ReLU-conv2 (3x3, pad 1, growth) appended to its block,
/// with a transition (norm-ReLU-conv 1x1 to C/2 -> 2x2 average pool) between blocks -> norm5 -> ReLU.
///
/// Immutable after `init` and safe to share across threads; all per-call memory is in a
/// `DenseNetWorkspace` (one per concurrent caller).
package final class DenseNetEncoder: ImageEncoder {
    package let configuration: DenseNetConfiguration
    package let plan: DenseNetPlan
    private let conv0: PackedConvolution
    private let norm0: FoldedBatchNorm
    private let layers: [[PackedDenseLayer]]
    private let transitions: [PackedTransition]
    private let norm5: FoldedBatchNorm

    /// True when the dense layers' 3x3 convolutions run as Winograd F(2x2, 3x3) (`WinogradConvolution`);
    /// false: im2col + GEMM (the direct sum).
    package let usesWinograd: Bool

    /// Checks every weight's shape against `configuration` and repacks the convolutions.
    /// Throws `invalidModel` naming the first tensor whose shape is wrong.
    ///
    /// `winograd` chooses the 3x3 algorithm (see `usesWinograd`); both agree to rounding (about 1e-6).
    /// `bandParts` sets how many threads the band grid is cut for (default: this machine's cores, at most
    /// 8; see `DenseNetPlan.bandParts`); tests vary it.
    package init(weights: DenseNetWeights, configuration: DenseNetConfiguration, winograd: Bool = true,
                 bandParts: Int = DenseNetPlan.machineParts) throws {
        usesWinograd = winograd
        let plan = try DenseNetPlan(configuration: configuration, bandParts: bandParts)
        self.configuration = configuration
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
                let conv1 = try DenseNetWeightsCheck.convolution(
                    layer.conv1, out: plan.bottleneckChannels, in: channels, kernel: 1, stride: 1,
                    padding: 0, name: name + "conv1.weight")
                let conv2 = try Self.threeByThree(layer.conv2, out: plan.growthRate,
                                                  in: plan.bottleneckChannels, winograd: winograd,
                                                  name: name + "conv2.weight")
                packed.append(PackedDenseLayer(
                    norm1: layer.norm1,
                    conv1: conv1,
                    norm2: layer.norm2,
                    conv2: conv2))
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

    /// A dense layer's conv2 in the kernel's form: OIHW weights are checked and transformed (Winograd) or
    /// repacked (im2col); weights the loader already transformed are checked and kept (they cannot run
    /// as im2col).
    private static func threeByThree(_ weights: ThreeByThreeWeights, out: Int, in inChannels: Int,
                                     winograd: Bool, name: String) throws -> ThreeByThree {
        switch weights {
        case .oihw(let conv):
            if !winograd {
                return .im2col(try DenseNetWeightsCheck.convolution(
                    conv, out: out, in: inChannels, kernel: 3, stride: 1, padding: 1, name: name))
            }
            try DenseNetWeightsCheck.validate(conv, out: out, in: inChannels, kernel: 3, stride: 1, padding: 1,
                                              name: name)
            return .winograd(WinogradConvolution(outChannels: out, inChannels: inChannels, oihw: conv.weight))
        case .winograd(let transformed):
            guard winograd else {
                throw CXRError.invalidArgument("\(name) was loaded Winograd-transformed; the im2col encoder "
                                               + "needs the OIHW weights")
            }
            guard transformed.outChannels == out, transformed.inChannels == inChannels,
                  transformed.transformed.count == 16 * out * inChannels else {
                throw CXRError.invalidModel("\(name) is Winograd-transformed \(transformed.outChannels) x "
                                            + "\(transformed.inChannels), expected \(out) x \(inChannels)")
            }
            return .winograd(transformed)
        }
    }

    /// The first stage whose output in `workspace` holds a non-finite value, in forward order: the stem
    /// (conv0, norm0, pool0), each transition (the first channels of the next block's buffer), each dense
    /// block; "norm5" when every buffer is finite (then only the last BatchNorm overflowed).
    package func firstNonFiniteStage(workspace: DenseNetWorkspace) -> String? {
        func nonFinite(_ view: FeatureMapView) -> Bool {
            for pixel in 0..<view.pixelCount {
                let values = UnsafeBufferPointer(start: view.base + pixel * view.pixelStride, count: view.channels)
                if FloatScan.firstNonFinite(values) != nil { return true }
            }
            return false
        }
        let stem = FeatureMapView(base: workspace.stem.pointer, height: plan.stemSide, width: plan.stemSide,
                                  channels: plan.stemChannels)
        if nonFinite(stem) { return "conv0" }
        for (index, block) in plan.blocks.enumerated() {
            let buffer = workspace.blockView(index)
            if index > 0, nonFinite(buffer.channels(0..<block.inputChannels)) { return "transition\(index)" }
            if nonFinite(buffer) { return "denseblock\(index + 1)" }
        }
        return "norm5"
    }

    /// What `encode` reads: [inChannels, inputSize, inputSize].
    package var input: EncoderInput { configuration.input }
    /// Channels of V (F).
    package var featureChannels: Int { plan.featureChannels }
    /// Side of V's grid (G; input_size / 32 for four blocks).
    package var gridSize: Int { plan.outputSide }
    /// Regions of V (R = G²), region r = y·G + x.
    package var regionCount: Int { plan.regionCount }
    /// Floats `encode` reads: [inChannels, inputSize, inputSize].
    package var inputCount: Int { plan.inputCount }
    /// Floats `encode` writes: [regionCount, featureChannels].
    package var outputCount: Int { plan.outputCount }

    /// A fresh workspace for this encoder's shapes.
    package func makeWorkspace() throws -> DenseNetWorkspace {
        try DenseNetWorkspace(plan: plan)
    }

    /// Runs the encoder on one image.
    ///
    /// - Parameters:
    ///   - input: the normalized image, planar [inChannels, S, S] (`inputCount` floats).
    ///   - workspace: from `makeWorkspace()` of an encoder with the same configuration.
    ///   - output: receives V after the final ReLU, region-major [R, F] (`outputCount` floats).
    ///   - threads: threads for this call (the encoder splits each step into bands of rows itself and keeps
    ///     every OpenBLAS call on one thread); 0 means all cores.
    ///   - shouldAbort: polled before every dense layer; returning true throws `CXRError.aborted`
    ///     (output is then unspecified; the workspace stays usable).
    package func encode(input: UnsafePointer<Float>, workspace: DenseNetWorkspace, output: UnsafeMutablePointer<Float>,
                threads: Int, shouldAbort: (() -> Bool)?) throws {
        guard workspace.plan == plan else {
            throw CXRError.invalidArgument("encoder workspace was made for another configuration "
                                           + "(input_size \(workspace.plan.inputSize), "
                                           + "\(workspace.plan.featureChannels) features)")
        }
        guard threads >= 0 else { throw CXRError.invalidArgument("threads \(threads) is negative") }
        // The encoder threads over bands of pixels itself (ParallelFor), each BLAS call single-threaded.
        let parts = BLASThreads.resolve(threads)
        BLASThreads.apply(1)

        // Stem: conv0 -> norm0 -> ReLU -> pool0, pooled straight into the first block's buffer.
        let image = FeatureMapView(base: workspace.image.pointer, height: plan.inputSize, width: plan.inputSize,
                                   channels: plan.inChannels)
        LayoutConversion.planarToChannelsLast(input, output: image)
        let stem = FeatureMapView(base: workspace.stem.pointer, height: plan.stemSide, width: plan.stemSide,
                                  channels: plan.stemChannels)
        runConvolution(conv0, input: image, output: stem, workspace: workspace, parts: parts)
        let stemParts = min(parts, stem.pixelCount)
        ParallelFor.run(parts: stemParts) { part in
            let pixels = ParallelFor.range(part, of: stemParts, count: stem.pixelCount)
            BatchNormReLU.apply(input: stem.pixels(pixels), scale: norm0.scale, shift: norm0.shift,
                                output: stem.pixels(pixels))
        }
        let pooled = workspace.blockView(0).channels(0..<plan.stemChannels)
        let poolParts = min(parts, pooled.height)
        ParallelFor.run(parts: poolParts) { part in
            Pooling.maxPool(input: stem, output: pooled, kernel: 3, stride: 2, padding: 1,
                            outputRows: ParallelFor.range(part, of: poolParts, count: pooled.height))
        }

        for (blockIndex, block) in plan.blocks.enumerated() {
            let buffer = workspace.blockView(blockIndex)
            var channels = block.inputChannels
            for layer in layers[blockIndex] {
                if let shouldAbort, shouldAbort() { throw CXRError.aborted }
                runDenseLayer(layer, block: buffer, inputChannels: channels, workspace: workspace, parts: parts)
                channels += plan.growthRate
            }
            if blockIndex < transitions.count {
                runTransition(transitions[blockIndex], block: buffer,
                              next: workspace.blockView(blockIndex + 1), workspace: workspace, parts: parts)
            }
        }

        // norm5 -> ReLU, written region-major into the caller's output.
        let last = workspace.blockView(plan.blocks.count - 1)
        let features = FeatureMapView(base: output, height: plan.outputSide, width: plan.outputSide,
                                      channels: plan.featureChannels)
        BatchNormReLU.apply(input: last, scale: norm5.scale, shift: norm5.shift, output: features)
    }

    /// `encode` on arrays: `input` must hold `inputCount` floats; returns `outputCount` floats.
    package func encode(input: [Float], workspace: DenseNetWorkspace, threads: Int = 0,
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
    /// 3x3 conv written into the block's next `growthRate` channels. The first three run on bands of rows
    /// (each band's BN-ReLU, GEMM and BN-ReLU on one thread, while it is in cache); the 3x3 convolution
    /// needs the neighbouring rows, so it is a second parallel pass.
    private func runDenseLayer(_ layer: PackedDenseLayer, block: FeatureMapView, inputChannels: Int,
                               workspace: DenseNetWorkspace, parts: Int) {
        let side = block.height
        let input = block.channels(0..<inputChannels)
        let normalized = FeatureMapView(base: workspace.normalized.pointer, height: side, width: side,
                                        channels: inputChannels)
        let bottleneck = FeatureMapView(base: workspace.bottleneck.pointer, height: side, width: side,
                                        channels: plan.bottleneckChannels)
        let rowsPerBand = bandRows(rows: side, width: side, targetPixels: Self.pointwiseBandPixels)
        Self.forEachBand(rows: side, rowsPerBand: rowsPerBand, parts: parts) { _, rows in
            let pixels = (rows.lowerBound * side)..<(rows.upperBound * side)
            BatchNormReLU.apply(input: input.pixels(pixels), scale: layer.norm1.scale, shift: layer.norm1.shift,
                                output: normalized.pixels(pixels))
            Convolution.forward(input: normalized, weights: layer.conv1, output: bottleneck, outputRows: rows,
                                scratch: workspace.columns.pointer, scratchCount: 0)
            BatchNormReLU.apply(input: bottleneck.pixels(pixels), scale: layer.norm2.scale,
                                shift: layer.norm2.shift, output: bottleneck.pixels(pixels))
        }
        let output = block.channels(inputChannels..<(inputChannels + plan.growthRate))
        switch layer.conv2 {
        case .winograd(let winograd):
            runWinograd(winograd, input: bottleneck, output: output, workspace: workspace, parts: parts)
        case .im2col(let packed):
            runConvolution(packed, input: bottleneck, output: output, workspace: workspace, parts: parts)
        }
    }

    /// A Winograd 3x3 convolution on up to `parts` threads: bands of tile rows (about `bandTiles` tiles, at
    /// most half the tile rows, as many as the scratch holds), each with its own share of the scratch.
    private func runWinograd(_ weights: WinogradConvolution, input: FeatureMapView, output: FeatureMapView,
                             workspace: DenseNetWorkspace, parts: Int) {
        let tileRows = WinogradConvolution.tiles(output.height)
        let tilesPerRow = WinogradConvolution.tiles(output.width)
        let rowFloats = max(weights.scratchCount(tiles: tilesPerRow), 1)
        let scratchRows = max(1, workspace.columns.count / rowFloats)  // the plan makes room for at least 8
        let rowsPerBand = min(bandRows(rows: tileRows, width: tilesPerRow,
                                       targetPixels: WinogradConvolution.bandTiles), scratchRows)
        let bandFloats = rowsPerBand * rowFloats
        let parts = max(1, min(parts, workspace.columns.count / bandFloats))
        Self.forEachBand(rows: tileRows, rowsPerBand: rowsPerBand, parts: parts) { part, band in
            weights.forward(input: input, output: output, tileRows: band,
                            scratch: workspace.columns.pointer + part * bandFloats, scratchCount: bandFloats,
                            zeros: workspace.zeros.pointer)
        }
    }

    /// BN-ReLU fused with the 2x2 average pool, then the 1x1 conv (pool and conv commute, both linear)
    /// into the first channels of the next block's buffer.
    private func runTransition(_ transition: PackedTransition, block: FeatureMapView, next: FeatureMapView,
                               workspace: DenseNetWorkspace, parts: Int) {
        let pooled = FeatureMapView(base: workspace.normalized.pointer, height: next.height, width: next.width,
                                    channels: block.channels)
        let bands = min(parts, next.height)
        ParallelFor.run(parts: bands) { part in
            Pooling.batchNormReLUAveragePool(input: block, scale: transition.norm.scale,
                                             shift: transition.norm.shift, output: pooled, kernel: 2, stride: 2,
                                             outputRows: ParallelFor.range(part, of: bands, count: next.height))
        }
        runConvolution(transition.conv, input: pooled, output: next.channels(0..<transition.conv.outChannels),
                       workspace: workspace, parts: parts)
    }

    /// One convolution on up to `parts` threads, on bands of output rows (`bandRows`); an im2col
    /// convolution's bands aim at half the plan's im2col scratch, and as many parts run at once as the
    /// scratch holds bands (each packs into its own share).
    private func runConvolution(_ weights: PackedConvolution, input: FeatureMapView, output: FeatureMapView,
                                workspace: DenseNetWorkspace, parts: Int) {
        if weights.isPointwise {
            let rowsPerBand = bandRows(rows: output.height, width: output.width,
                                       targetPixels: Self.pointwiseBandPixels)
            Self.forEachBand(rows: output.height, rowsPerBand: rowsPerBand, parts: parts) { _, rows in
                Convolution.forward(input: input, weights: weights, output: output, outputRows: rows,
                                    scratch: workspace.columns.pointer, scratchCount: 0)
            }
            return
        }
        let rowFloats = max(output.width * weights.columnLength, 1)
        let scratchRows = max(1, workspace.columns.count / rowFloats)  // the plan makes room for at least 1
        let rowsPerBand = min(bandRows(rows: output.height, width: output.width,
                                       targetPixels: DenseNetPlan.bandPixels / 2), scratchRows)
        let bandFloats = rowsPerBand * rowFloats
        let parts = max(1, min(parts, workspace.columns.count / bandFloats))
        Self.forEachBand(rows: output.height, rowsPerBand: rowsPerBand, parts: parts) { part, rows in
            Convolution.forward(input: input, weights: weights, output: output, outputRows: rows,
                                scratch: workspace.columns.pointer + part * bandFloats, scratchCount: bandFloats)
        }
    }

    // MARK: Bands

    /// Pixels per band of a 1x1 convolution (with its BN-ReLUs).
    package static let pointwiseBandPixels = 512

    /// Rows per band for a layer of `rows` rows of `width` pixels: about `targetPixels` pixels, and small
    /// enough that each of `plan.bandParts` threads gets a band. A function of the shape and the plan alone:
    /// the bands, and so every BLAS call and every result, are the same whatever threads a call uses
    /// (OpenBLAS's result for a pixel can depend on the size of the call it is in).
    package func bandRows(rows: Int, width: Int, targetPixels: Int) -> Int {
        max(1, min(targetPixels / max(width, 1), (rows + plan.bandParts - 1) / plan.bandParts))
    }

    /// Runs `body(part, band)` for every band of `rowsPerBand` rows of 0..<`rows` (the last one shorter),
    /// whole bands shared out among up to `parts` threads; `part` (0..<parts) picks a scratch share.
    private static func forEachBand(rows: Int, rowsPerBand: Int, parts: Int,
                                    _ body: (_ part: Int, _ band: Range<Int>) -> Void) {
        let bands = (rows + rowsPerBand - 1) / rowsPerBand
        let used = min(parts, bands)
        ParallelFor.run(parts: used) { part in
            for band in ParallelFor.range(part, of: used, count: bands) {
                let start = band * rowsPerBand
                body(part, start..<min(start + rowsPerBand, rows))
            }
        }
    }
}
