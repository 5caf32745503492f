/// Bounds on configuration values, so every size computed from a config fits comfortably in `Int`.
enum ModelConfigLimits {
    static let blockCount = 4
    static let layersPerBlock = 1...256
    static let growthRate = 1...1024
    static let bnSize = 1...64
    static let numInitFeatures = 1...4096
    static let inputSize = 32...1024
    static let hidden = 1...8192
    static let embed = 1...8192
    static let attentionDim = 1...8192
    static let supportedPreprocessing = 1
    /// Largest encoder workspace a config may need, in bytes (1 GiB; DenseNet-121 at 256 needs about 22 MiB).
    static let maximumEncoderWorkspaceBytes = 1 << 30
}

extension ModelConfig {
    /// The keys of the `config` metadata object, all required.
    static let jsonKeys = [
        "block_config", "growth_rate", "bn_size", "num_init_features", "in_channels", "input_size", "hidden",
        "embed", "attention_dim", "bn_eps", "mean", "std", "preprocessing",
    ]

    /// Parses and validates the `config` metadata value (a JSON object; docs/WEIGHTS.md).
    ///
    /// Returns the config and the non-fatal problems found (unknown keys).
    static func parse(metadataJSON text: String) throws -> (config: ModelConfig, problems: [String]) {
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONParser.parse(text)
        } catch {
            throw CXRError.invalidModel("metadata config is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw CXRError.invalidModel("metadata config is a JSON \(value.typeName), expected an object")
        }
        var problems: [String] = []
        for key in object.keys where !jsonKeys.contains(key) {
            problems.append("config has unknown key \"\(key)\" (ignored)")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let value = object[key] else { throw CXRError.invalidModel("config is missing \"\(key)\"") }
            return value
        }
        func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int {
            let value = try field(key)
            guard let integer = value.integerValue else {
                throw CXRError.invalidModel("config \(key) is \(value.serialized), expected an integer")
            }
            guard range.contains(integer) else {
                throw CXRError.invalidModel("config \(key) is \(integer), expected \(range.lowerBound)...\(range.upperBound)")
            }
            return integer
        }

        var config = ModelConfig()
        let blocksValue = try field("block_config")
        guard case .array(let blocks) = blocksValue else {
            throw CXRError.invalidModel("config block_config is \(blocksValue.serialized), expected an array of integers")
        }
        guard blocks.count == ModelConfigLimits.blockCount else {
            throw CXRError.invalidModel("config block_config \(blocksValue.serialized) has \(blocks.count) blocks; "
                + "cxrcaption/1 requires \(ModelConfigLimits.blockCount) (the grid is input_size / 32)")
        }
        config.blockConfig = try blocks.map { block in
            guard let layers = block.integerValue, ModelConfigLimits.layersPerBlock.contains(layers) else {
                throw CXRError.invalidModel("config block_config \(blocksValue.serialized) has entry \(block.serialized); "
                    + "each must be an integer in \(ModelConfigLimits.layersPerBlock.lowerBound)..."
                    + "\(ModelConfigLimits.layersPerBlock.upperBound)")
            }
            return layers
        }
        config.growthRate = try integer("growth_rate", in: ModelConfigLimits.growthRate)
        config.bnSize = try integer("bn_size", in: ModelConfigLimits.bnSize)
        config.numInitFeatures = try integer("num_init_features", in: ModelConfigLimits.numInitFeatures)
        config.inChannels = try integer("in_channels", in: Int.min...Int.max)
        guard config.inChannels == 1 || config.inChannels == 3 else {
            throw CXRError.invalidModel("config in_channels is \(config.inChannels), expected 1 or 3")
        }
        config.inputSize = try integer("input_size", in: ModelConfigLimits.inputSize)
        guard config.inputSize % 32 == 0 else {
            throw CXRError.invalidModel("config input_size is \(config.inputSize), expected a multiple of 32")
        }
        config.hidden = try integer("hidden", in: ModelConfigLimits.hidden)
        config.embed = try integer("embed", in: ModelConfigLimits.embed)
        config.attentionDim = try integer("attention_dim", in: ModelConfigLimits.attentionDim)

        let epsValue = try field("bn_eps")
        guard let eps = epsValue.doubleValue, eps > 0, eps < 1 else {
            throw CXRError.invalidModel("config bn_eps is \(epsValue.serialized), expected a number in (0, 1)")
        }
        config.bnEps = Float(eps)
        guard config.bnEps > 0 else {
            throw CXRError.invalidModel("config bn_eps is \(epsValue.serialized), too small for Float32")
        }

        func channelValues(_ key: String, positive: Bool) throws -> [Float] {
            let value = try field(key)
            guard case .array(let elements) = value, elements.count == 1 || elements.count == config.inChannels else {
                throw CXRError.invalidModel("config \(key) is \(value.serialized), expected an array of 1"
                    + (config.inChannels == 1 ? "" : " or \(config.inChannels)") + " numbers")
            }
            return try elements.map { element in
                guard let number = element.doubleValue, Float(number).isFinite, !positive || Float(number) > 0 else {
                    throw CXRError.invalidModel("config \(key) \(value.serialized) has entry \(element.serialized); "
                        + (positive ? "each must be a positive finite number" : "each must be a finite number"))
                }
                return Float(number)
            }
        }
        config.mean = try channelValues("mean", positive: false)
        config.std = try channelValues("std", positive: true)

        let preprocessingValue = try field("preprocessing")
        guard preprocessingValue.integerValue == ModelConfigLimits.supportedPreprocessing else {
            throw CXRError.invalidModel("config preprocessing is \(preprocessingValue.serialized); this library "
                + "implements intake pipeline version \(ModelConfigLimits.supportedPreprocessing)")
        }
        config.preprocessing = ModelConfigLimits.supportedPreprocessing

        let workspace = config.encoderWorkspaceEstimate
        guard let bytes = workspace, bytes <= ModelConfigLimits.maximumEncoderWorkspaceBytes else {
            throw CXRError.invalidModel("config needs an encoder workspace of "
                + (workspace.map { "about \($0 >> 20) MiB" } ?? "more than Int.max bytes")
                + " per session (input_size \(config.inputSize), num_init_features \(config.numInitFeatures), "
                + "growth_rate \(config.growthRate), bn_size \(config.bnSize)); the limit is "
                + "\(ModelConfigLimits.maximumEncoderWorkspaceBytes >> 20) MiB")
        }
        return (config, problems)
    }

    /// A rough upper bound, in bytes, of the Float32 workspace one session's encoder needs: the input image,
    /// conv0's output, each dense block's full output buffer, the normalized copy of the largest, the
    /// bottleneck, and the im2col / Winograd scratch. nil when the sum overflows `Int`.
    var encoderWorkspaceEstimate: Int? {
        func product(_ factors: [Int]) -> Int? {
            var result = 1
            for factor in factors {
                let (next, overflow) = result.multipliedReportingOverflow(by: factor)
                if overflow { return nil }
                result = next
            }
            return result
        }
        let bandPixels = 1024  // output pixels per im2col band (DenseNetPlan.bandPixels)
        let stemSide = (inputSize + 1) / 2
        var side = (stemSide + 1) / 2
        var channels = numInitFeatures
        guard let bottleneck = product([bnSize, growthRate]),
              let image = product([inputSize, inputSize, inChannels]),
              let stem = product([stemSide, stemSide, numInitFeatures]),
              let stemColumns = product([bandPixels + stemSide, 49, inChannels]),
              let firstBottleneck = product([side, side, bottleneck])
        else { return nil }
        var parts = [image, stem, firstBottleneck, stemColumns]
        var largestBlock = 0
        for (index, layers) in blockConfig.enumerated() {
            guard let added = product([layers, growthRate]),
                  case (let output, false) = channels.addingReportingOverflow(added),
                  let block = product([side, side, output]),
                  let columns = product([bandPixels + side, 9, bottleneck]),
                  let winograd = product([16, (side + 1) / 2, 16, bottleneck + growthRate])  // 2 x 8 parts
            else { return nil }
            parts += [block, columns, winograd]
            largestBlock = max(largestBlock, block)
            channels = output
            if index != blockConfig.count - 1 {
                channels /= 2
                side /= 2
            }
        }
        parts.append(largestBlock)
        var total = 0
        for part in parts {
            let (sum, overflow) = total.addingReportingOverflow(part)
            if overflow { return nil }
            total = sum
        }
        return product([total, MemoryLayout<Float>.size])
    }
}
