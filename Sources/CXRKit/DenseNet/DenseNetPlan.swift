import CXRKernels
import CXRSupport

/// The shapes of a DenseNet forward pass, derived once from a `DenseNetConfiguration` and checked for
/// sanity: every side at least 1, every size computed with overflow checks. Its workspace sizes are the
/// one memory model of the encoder: the workspace allocates exactly them, and the config's load-time limit
/// (`DenseNetConfiguration.workspaceBytes`) is their sum.
package struct DenseNetPlan: Equatable, Sendable {
    /// One dense block: its spatial side, the channels entering it, its layer count, and the channels
    /// of its full output buffer (entering channels + layers x growth).
    package struct Block: Equatable, Sendable {
        package let side: Int
        package let inputChannels: Int
        package let layers: Int
        package let outputChannels: Int
    }

    /// Output pixels of im2col scratch the plan reserves (a few MB at DenseNet-121 sizes); the encoder's
    /// im2col bands aim at half of it, so that two threads pack at once.
    package static let bandPixels = 1024
    /// Most threads the encoder's band grid is cut for: this machine's cores, at most 8 (see
    /// `bandParts`).
    package static let machineParts = min(max(BLASThreads.available, 1), maximumBandParts)
    /// The most threads a band grid is cut for, on any machine.
    package static let maximumBandParts = 8
    /// Threads the band grid is cut for (`DenseNetEncoder.bandRows`): layers get up to this many bands, and
    /// the Winograd scratch holds two tile rows for each. Fixed per process (never by a call's `threads`),
    /// so results do not depend on the threads a call uses.
    package let bandParts: Int
    /// Largest workspace a `DenseNetWorkspace` allocates, in floats (4 GiB), and the largest single buffer a
    /// plan computes.
    package static let maximumWorkspaceFloats = 1 << 30

    package let inChannels: Int
    package let inputSize: Int
    /// Side and channels of conv0's output (before pool0).
    package let stemSide: Int
    package let stemChannels: Int
    package let blocks: [Block]
    package let growthRate: Int
    /// Channels out of each dense layer's 1x1 convolution: bnSize x growthRate.
    package let bottleneckChannels: Int
    /// Channels of V (the last block's output).
    package let featureChannels: Int
    /// Side of V's grid.
    package let outputSide: Int

    // Workspace sizes, in floats.
    package let imageFloats: Int
    package let stemFloats: Int
    package let blockFloats: [Int]
    package let normalizedFloats: Int
    package let bottleneckFloats: Int
    package let columnFloats: Int

    /// Floats of the whole workspace: the sum of the sizes above.
    package let workspaceFloats: Int

    package init(configuration config: DenseNetConfiguration, bandParts: Int = DenseNetPlan.machineParts) throws {
        self.bandParts = min(max(bandParts, 1), Self.maximumBandParts)
        func positive(_ value: Int, _ name: String) throws -> Int {
            guard value >= 1 else { throw CXRError.invalidModel("config \(name) \(value) must be at least 1") }
            return value
        }
        inChannels = try positive(config.input.channels, "in_channels")
        inputSize = try positive(config.input.size, "input_size")
        growthRate = try positive(config.growthRate, "growth_rate")
        stemChannels = try positive(config.numInitFeatures, "num_init_features")
        _ = try positive(config.bnSize, "bn_size")
        guard !config.blockConfig.isEmpty else { throw CXRError.invalidModel("config block_config is empty") }
        bottleneckChannels = try checkedProduct([config.bnSize, config.growthRate], "bn_size x growth_rate")

        stemSide = Pooling.outputSize(input: inputSize, kernel: 7, stride: 2, padding: 3)
        var side = Pooling.outputSize(input: stemSide, kernel: 3, stride: 2, padding: 1)
        var channels = stemChannels
        var blocks: [Block] = []
        for (index, layers) in config.blockConfig.enumerated() {
            guard layers >= 0 else {
                throw CXRError.invalidModel("config block_config[\(index)] \(layers) is negative")
            }
            guard side >= 1 else {
                throw CXRError.invalidModel("input_size \(inputSize) is too small: denseblock\(index + 1) "
                                            + "would have no pixels")
            }
            let added = try checkedProduct([layers, growthRate], "block_config[\(index)] x growth_rate")
            let (output, overflow) = channels.addingReportingOverflow(added)
            guard !overflow else { throw CXRError.invalidModel("denseblock\(index + 1) channel count overflows") }
            blocks.append(Block(side: side, inputChannels: channels, layers: layers, outputChannels: output))
            channels = output
            if index != config.blockConfig.count - 1 {
                channels /= 2
                side /= 2
                guard channels >= 1 else {
                    throw CXRError.invalidModel("transition\(index + 1) would have no output channels")
                }
            }
        }
        self.blocks = blocks
        featureChannels = channels
        outputSide = side

        imageFloats = try checkedProduct([inputSize, inputSize, inChannels], "input image")
        stemFloats = try checkedProduct([stemSide, stemSide, stemChannels], "conv0 output")
        blockFloats = try blocks.enumerated().map { index, block in
            try checkedProduct([block.side, block.side, block.outputChannels], "denseblock\(index + 1) output")
        }
        normalizedFloats = blockFloats.max() ?? 0
        bottleneckFloats = try checkedProduct([blocks[0].side, blocks[0].side, bottleneckChannels],
                                              "bottleneck")
        let stemColumns = try checkedProduct([49, inChannels], "conv0 im2col row")
        let layerColumns = try checkedProduct([9, bottleneckChannels], "conv2 im2col row")
        var columns = try checkedProduct([
            Convolution.bandRows(outputHeight: stemSide, outputWidth: stemSide, targetBandPixels: Self.bandPixels),
            stemSide, stemColumns], "conv0 im2col band")
        for (index, block) in blocks.enumerated() where block.layers > 0 {
            let band = try checkedProduct([
                Convolution.bandRows(outputHeight: block.side, outputWidth: block.side,
                                     targetBandPixels: Self.bandPixels),
                block.side, layerColumns], "denseblock\(index + 1) im2col band")
            columns = max(columns, band)
            // Winograd F(2x2, 3x3): two tile rows of transformed input and GEMM output per band part, at
            // least eight.
            let winograd = try checkedProduct([max(8, 2 * self.bandParts), (block.side + 1) / 2, 16,
                                               bottleneckChannels + growthRate],
                                              "denseblock\(index + 1) Winograd band")
            columns = max(columns, winograd)
        }
        columnFloats = columns

        var total = 0
        for part in [imageFloats, stemFloats, normalizedFloats, bottleneckFloats, columnFloats] + blockFloats {
            let (sum, overflow) = total.addingReportingOverflow(part)
            guard !overflow else {
                throw CXRError(.outOfMemory, "encoder workspace for input_size \(inputSize) overflows Int")
            }
            total = sum
        }
        workspaceFloats = total
    }

    /// Regions of V: outputSide².
    package var regionCount: Int { outputSide * outputSide }
    /// Floats of the encoder input, [inChannels, inputSize, inputSize].
    package var inputCount: Int { imageFloats }
    /// Floats of the encoder output, [regionCount, featureChannels].
    package var outputCount: Int { regionCount * featureChannels }
    /// Bytes of the whole workspace.
    package var workspaceBytes: Int { workspaceFloats * MemoryLayout<Float>.size }
}

private func checkedProduct(_ factors: [Int], _ name: String) throws -> Int {
    var product = 1
    for factor in factors {
        let (next, overflow) = product.multipliedReportingOverflow(by: factor)
        guard !overflow, next <= DenseNetPlan.maximumWorkspaceFloats else {
            throw CXRError(.outOfMemory, "\(name) size \(factors.map(String.init).joined(separator: " x ")) "
                           + "is too large")
        }
        product = next
    }
    return product
}
