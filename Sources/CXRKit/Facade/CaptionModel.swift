/// A loaded model: configuration, vocabulary, labels and the encoder and decoder built from its folded
/// weights. Immutable after `init`, so one instance may be shared by any number of `CaptionSession`s on any
/// threads at once.
public final class CaptionModel: Sendable {
    public let config: ModelConfig
    public let vocabulary: Vocabulary
    /// Names of the findings head's labels; empty when the model has no findings head.
    public let labels: [String]
    /// The weights file's `format` metadata (`cxrcaption/1`).
    public let formatVersion: String

    let encoder: DenseNetEncoder
    let decoder: AttentionDecoder
    let findingsHead: FindingsHead?

    /// Loads and validates a `.safetensors` model file (docs/WEIGHTS.md).
    /// Throws `CXRError` `.io` when the file cannot be read, `.invalidModel` naming the problem otherwise.
    public convenience init(contentsOfFile path: String) throws {
        try self.init(loaded: ModelLoader.load(path: path, threeByThree: .winograd))
    }

    /// Loads and validates a model from the bytes of a weights file; the bytes are not retained.
    public convenience init(bytes: UnsafeRawBufferPointer) throws {
        try self.init(loaded: ModelLoader.load(bytes: bytes, threeByThree: .winograd))
    }

    /// Builds the networks of a validated model.
    init(loaded: LoadedModel) throws {
        guard loaded.config.preprocessing == ImageIntake.version else {
            throw CXRError.invalidModel("model was trained with preprocessing version "
                                        + "\(loaded.config.preprocessing); this library implements "
                                        + "version \(ImageIntake.version)")
        }
        config = loaded.config
        vocabulary = loaded.vocabulary
        labels = loaded.labels
        formatVersion = loaded.formatVersion
        encoder = try DenseNetEncoder(weights: loaded.weights.encoder, config: loaded.config)
        guard encoder.regionCount == loaded.config.regionCount else {
            throw CXRError.invalidModel("encoder yields \(encoder.regionCount) regions, the config implies "
                                        + "\(loaded.config.regionCount)")
        }
        decoder = try AttentionDecoder(model: loaded)
        findingsHead = try FindingsHead.of(loaded)
    }

    public var hasFindingsHead: Bool { findingsHead != nil }
}
