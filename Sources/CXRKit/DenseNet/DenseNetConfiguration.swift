import CXRModel
import CXRSupport
import CXRWeights

/// The DenseNet encoder's section of the config (docs/WEIGHTS.md): `block_config`, `growth_rate`,
/// `bn_size`, `num_init_features`, `bn_eps`. DenseNet-121 is the default and the published design.
package struct DenseNetConfiguration: EncoderConfiguration, Equatable {
    /// What the encoder takes (the shared `in_channels` and `input_size`).
    package var input: EncoderInput
    /// Dense layers per block; DenseNet-121 is (6, 12, 24, 16).
    package var blockConfig: [Int]
    /// Channels each dense layer adds (k in the DenseNet paper).
    package var growthRate: Int
    /// Bottleneck width factor: a dense layer's 1x1 convolution has bnSize x growthRate outputs.
    package var bnSize: Int
    /// Channels out of conv0.
    package var numInitFeatures: Int
    /// BatchNorm epsilon used when folding running statistics.
    package var bnEps: Float

    package init(input: EncoderInput = EncoderInput(channels: 1, size: 256), blockConfig: [Int] = [6, 12, 24, 16],
                 growthRate: Int = 32, bnSize: Int = 4, numInitFeatures: Int = 64, bnEps: Float = 1e-5) {
        self.input = input
        self.blockConfig = blockConfig
        self.growthRate = growthRate
        self.bnSize = bnSize
        self.numInitFeatures = numInitFeatures
        self.bnEps = bnEps
    }

    /// DenseNet-121 on one-channel 256 x 256 images: the published encoder.
    package static let densenet121 = DenseNetConfiguration()

    package var kind: String { DenseNetKind.name }

    /// Channels of V: conv0's, plus each block's layers x growth, halved by each transition (1024 for
    /// DenseNet-121).
    package var featureChannels: Int {
        var channels = numInitFeatures
        for (index, layers) in blockConfig.enumerated() {
            channels += layers * growthRate
            if index != blockConfig.count - 1 { channels /= 2 }
        }
        return channels
    }

    /// Side of V's grid: input / 32. The stem halves the side twice (conv0, pool0) and each of the three
    /// transitions once more (the kind requires four blocks and an input side that is a multiple of 32).
    package var gridSize: Int { input.size / 32 }

    /// Bytes of one session's workspace, as the plan lays it out for the most band parts any machine gets
    /// (so that whether a file loads does not depend on the machine's cores).
    package var workspaceBytes: Int { Self.workspaceBytes(self) ?? .max }

    /// `workspaceBytes`, or nil when a buffer of the plan would exceed `DenseNetPlan.maximumWorkspaceFloats`.
    fileprivate static func workspaceBytes(_ configuration: DenseNetConfiguration) -> Int? {
        (try? DenseNetPlan(configuration: configuration, bandParts: DenseNetPlan.maximumBandParts))?.workspaceBytes
    }

    package var summary: String {
        "DenseNet blocks [" + blockConfig.map(String.init).joined(separator: ", ") + "], growth \(growthRate), "
            + "bn_size \(bnSize), init features \(numInitFeatures), feature channels \(featureChannels), "
            + "bn_eps \(bnEps)"
    }

    package var values: [(key: String, value: JSONValue)] {
        [("block_config", .array(blockConfig.map(JSONValue.integer))), ("growth_rate", .integer(growthRate)),
         ("bn_size", .integer(bnSize)), ("num_init_features", .integer(numInitFeatures)),
         ("bn_eps", .double(Double("\(bnEps)") ?? Double(bnEps)))]
    }

    package var expectedTensors: [(name: String, shape: [Int])] { DenseNetTensorNames.expected(self) }

    /// Reads the weights (3x3 convolutions Winograd-transformed while reading) and builds the encoder on
    /// this machine's band grid.
    package func makeEncoder(reading tensors: SafeTensorsReader) throws -> any ImageEncoder {
        try DenseNetEncoder(weights: DenseNetWeights(reading: tensors, configuration: self, threeByThree: .winograd),
                            configuration: self)
    }
}

/// The `"densenet"` encoder kind: reads `DenseNetConfiguration` from the config. Files without an
/// `"encoder"` key are DenseNets (`EncoderRegistry.implicitKindName`).
package struct DenseNetKind: EncoderKind {
    package static let name = "densenet"

    /// Bounds on the section's values, so every size computed from it fits comfortably in `Int`.
    package enum Limits {
        package static let blockCount = 4
        package static let layersPerBlock = 1...256
        package static let growthRate = 1...1024
        package static let bnSize = 1...64
        package static let numInitFeatures = 1...4096
    }

    package init() {}

    package var name: String { Self.name }

    package var configKeys: [String] { ["block_config", "growth_rate", "bn_size", "num_init_features", "bn_eps"] }

    package func configuration(_ config: ConfigObject, input: EncoderInput) throws -> any EncoderConfiguration {
        let blocksValue = try config.value("block_config")
        guard case .array(let blocks) = blocksValue else {
            throw CXRError.invalidModel("config block_config is \(blocksValue.serialized), expected an array of integers")
        }
        guard blocks.count == Limits.blockCount else {
            throw CXRError.invalidModel("config block_config \(blocksValue.serialized) has \(blocks.count) blocks; "
                + "cxrcaption/1 requires \(Limits.blockCount) (the grid is input_size / 32)")
        }
        let blockConfig = try blocks.map { block in
            guard let layers = block.integerValue, Limits.layersPerBlock.contains(layers) else {
                throw CXRError.invalidModel("config block_config \(blocksValue.serialized) has entry \(block.serialized); "
                    + "each must be an integer in \(Limits.layersPerBlock.lowerBound)..."
                    + "\(Limits.layersPerBlock.upperBound)")
            }
            return layers
        }
        let growthRate = try config.integer("growth_rate", in: Limits.growthRate)
        let bnSize = try config.integer("bn_size", in: Limits.bnSize)
        let numInitFeatures = try config.integer("num_init_features", in: Limits.numInitFeatures)
        guard input.size % 32 == 0 else {
            throw CXRError.invalidModel("config input_size is \(input.size), expected a multiple of 32")
        }
        let eps = try config.number("bn_eps", inOpen: 0...1)
        guard Float(eps) > 0 else {
            throw CXRError.invalidModel("config bn_eps is \(try config.value("bn_eps").serialized), too small for Float32")
        }
        let configuration = DenseNetConfiguration(input: input, blockConfig: blockConfig, growthRate: growthRate,
                                                  bnSize: bnSize, numInitFeatures: numInitFeatures,
                                                  bnEps: Float(eps))
        try ModelConfigLimits.checkEncoderWorkspace(
            bytes: DenseNetConfiguration.workspaceBytes(configuration),
            settings: "input_size \(input.size), num_init_features \(numInitFeatures), growth_rate \(growthRate), "
                + "bn_size \(bnSize)")
        return configuration
    }
}
