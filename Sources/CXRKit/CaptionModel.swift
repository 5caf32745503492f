/// A loaded model: configuration, vocabulary, labels and folded weights. Immutable after `init`, so one
/// instance may be shared by any number of `CaptionSession`s on any threads at once.
public final class CaptionModel: @unchecked Sendable {
    public let config: ModelConfig
    public let vocabulary: Vocabulary
    /// Names of the findings head's labels; empty when the model has no findings head.
    public let labels: [String]
    /// The weights file's `format` metadata (`cxrcaption/1`).
    public let formatVersion: String

    /// Loads and validates a `.safetensors` model file (docs/WEIGHTS.md).
    public convenience init(contentsOfFile path: String) throws {
        throw CXRError(.invalidModel, "model loading is not wired yet (\(path))")
    }

    /// Loads and validates a model from bytes in memory; the bytes are not retained.
    public init(bytes: UnsafeRawBufferPointer) throws {
        throw CXRError(.invalidModel, "model loading is not wired yet")
    }

    public var hasFindingsHead: Bool { !labels.isEmpty }
}
