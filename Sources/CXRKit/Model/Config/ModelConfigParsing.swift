import CXRSupport

/// Bounds on the shared configuration values, so every size computed from a config fits comfortably in `Int`.
/// (Each encoder kind bounds its own section.)
package enum ModelConfigLimits {
    package static let inputSize = 32...1024
    package static let hidden = 1...8192
    package static let embed = 1...8192
    package static let attentionDim = 1...8192
    /// Largest encoder workspace a config may need, in bytes (1 GiB; DenseNet-121 at 256 needs about 22 MiB).
    package static let maximumEncoderWorkspaceBytes = 1 << 30

    /// Throws `invalidModel` unless a session's encoder workspace of `bytes` (nil: too large for the encoder
    /// to lay out) is within `maximumEncoderWorkspaceBytes`; `settings` names the config values that size it.
    package static func checkEncoderWorkspace(bytes: Int?, settings: String) throws {
        guard let bytes, bytes <= maximumEncoderWorkspaceBytes else {
            throw CXRError.invalidModel("config needs an encoder workspace of "
                + (bytes.map { "about \($0 >> 20) MiB" } ?? "more than the encoder can lay out")
                + " per session (\(settings)); the limit is \(maximumEncoderWorkspaceBytes >> 20) MiB")
        }
    }
}

extension ModelConfig {
    /// The keys every config has, whatever its encoder (all required).
    package static let sharedKeys = [
        "in_channels", "input_size", "hidden", "embed", "attention_dim", "mean", "std", "preprocessing",
    ]
    /// The key that names the encoder kind; optional, `EncoderRegistry.implicitKindName` when absent.
    package static let encoderKey = "encoder"

    /// Parses and validates the `config` metadata value (a JSON object; docs/WEIGHTS.md): the shared keys
    /// here, the encoder's section by the kind of `support.encoders` that the config's `"encoder"` names.
    ///
    /// Returns the config and the non-fatal problems found (unknown keys).
    package static func parse(metadataJSON text: String, support: ModelSupport)
        throws -> (config: ModelConfig, problems: [String]) {
        let encoders = support.encoders
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONParser.parse(text)
        } catch {
            throw CXRError.invalidModel("metadata config is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw CXRError.invalidModel("metadata config is a JSON \(value.typeName), expected an object")
        }
        let config = ConfigObject(object)

        let kind: any EncoderKind
        if let named = config[encoderKey] {
            guard let name = named.stringValue else {
                throw CXRError.invalidModel("config encoder is \(named.serialized), expected a string (one of "
                    + encoders.names.joined(separator: ", ") + ")")
            }
            guard let found = encoders.kind(named: name) else {
                throw CXRError.invalidModel("config encoder is \(named.serialized); this library knows "
                    + encoders.names.map { "\"\($0)\"" }.joined(separator: ", "))
            }
            kind = found
        } else {
            guard let implicit = encoders.kind(named: EncoderRegistry.implicitKindName) else {
                throw CXRError.invalidModel("config names no encoder and this library has no "
                    + "\"\(EncoderRegistry.implicitKindName)\" encoder")
            }
            kind = implicit
        }

        var problems: [String] = []
        let known = Set(sharedKeys + [encoderKey] + kind.configKeys)
        for key in config.keys where !known.contains(key) {
            problems.append("config has unknown key \"\(key)\" (ignored)")
        }

        let channels = try config.integer("in_channels", in: Int.min...Int.max)
        guard channels == 1 || channels == 3 else {
            throw CXRError.invalidModel("config in_channels is \(channels), expected 1 or 3")
        }
        let inputSize = try config.integer("input_size", in: ModelConfigLimits.inputSize)
        let input = EncoderInput(channels: channels, size: inputSize)
        let encoder = try kind.configuration(config, input: input)
        let hidden = try config.integer("hidden", in: ModelConfigLimits.hidden)
        let embed = try config.integer("embed", in: ModelConfigLimits.embed)
        let attentionDim = try config.integer("attention_dim", in: ModelConfigLimits.attentionDim)

        func channelValues(_ key: String, positive: Bool) throws -> [Float] {
            let value = try config.value(key)
            guard case .array(let elements) = value, elements.count == 1 || elements.count == channels else {
                throw CXRError.invalidModel("config \(key) is \(value.serialized), expected an array of 1"
                    + (channels == 1 ? "" : " or \(channels)") + " numbers")
            }
            return try elements.map { element in
                guard let number = element.doubleValue, Float(number).isFinite, !positive || Float(number) > 0 else {
                    throw CXRError.invalidModel("config \(key) \(value.serialized) has entry \(element.serialized); "
                        + (positive ? "each must be a positive finite number" : "each must be a finite number"))
                }
                return Float(number)
            }
        }
        let mean = try channelValues("mean", positive: false)
        let std = try channelValues("std", positive: true)

        let preprocessingValue = try config.value("preprocessing")
        guard let preprocessing = preprocessingValue.integerValue, preprocessing == support.intakeVersion else {
            throw CXRError.invalidModel("config preprocessing is \(preprocessingValue.serialized); this library "
                + "implements intake pipeline version \(support.intakeVersion)")
        }

        return (ModelConfig(input: input, hidden: hidden, embed: embed, attentionDim: attentionDim, mean: mean,
                            std: std, preprocessing: preprocessing, encoder: encoder), problems)
    }
}
