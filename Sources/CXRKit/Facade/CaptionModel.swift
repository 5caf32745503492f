import CXRDecoding
import CXRModel
import CXRSupport

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
    /// Everything the file says besides its parameters (metadata, problems, tensors), for `inspect`.
    package let file: ModelDescription

    package let encoder: any ImageEncoder
    package let decoder: AttentionDecoder
    package let findingsHead: FindingsHead?

    /// Loads and validates a `.safetensors` model file (docs/WEIGHTS.md).
    /// Throws `CXRError` `.io` when the file cannot be read, `.invalidModel` naming the problem otherwise.
    public convenience init(contentsOfFile path: String) throws {
        try self.init(contentsOfFile: path, support: .library)
    }

    /// Loads and validates a model from the bytes of a weights file; the bytes are not retained.
    public convenience init(bytes: UnsafeRawBufferPointer) throws {
        try self.init(bytes: bytes, support: .library)
    }

    /// `init(contentsOfFile:)` accepting what `support` says (tests add encoder kinds of their own).
    package convenience init(contentsOfFile path: String, support: ModelSupport) throws {
        try self.init(try ModelFile(path: path, support: support).load())
    }

    /// `init(bytes:)` accepting what `support` says.
    package convenience init(bytes: UnsafeRawBufferPointer, support: ModelSupport) throws {
        try self.init(try ModelFile(bytes: bytes, support: support).load())
    }

    /// Wraps the networks of a loaded file.
    package init(_ loaded: LoadedModel) throws {
        file = loaded.description
        config = loaded.description.config
        vocabulary = loaded.description.vocabulary
        labels = loaded.description.labels
        formatVersion = loaded.description.formatVersion
        encoder = loaded.encoder
        decoder = loaded.decoder
        findingsHead = loaded.findingsHead
        guard decoder.vocabularySize == vocabulary.count else {
            throw CXRError.invalidModel("the decoder has \(decoder.vocabularySize) tokens, the vocabulary "
                                        + "\(vocabulary.count)")
        }
        recommendedGeneration = loaded.description.generation
        // The recommended settings must be ones a search accepts (GenerationParameters owns the ranges).
        do {
            try GenerationParameters().applying(recommendedGeneration).validate()
        } catch let error as CXRError {
            throw CXRError.invalidModel("metadata generation is out of range: \(error.message)")
        }
    }

    /// The decoding settings the file recommends (`generation` metadata, docs/WEIGHTS.md); empty when it has
    /// none. `GenerationParameters.applying(_:)` applies them; nothing applies them unasked.
    public let recommendedGeneration: RecommendedGeneration

    public var hasFindingsHead: Bool { findingsHead != nil }

    /// The weights file's `__metadata__` value for `key` (e.g. `name`, `version`, `intended_use`,
    /// `disclaimer`: docs/WEIGHTS.md), or nil when the file has none.
    public func metadata(_ key: String) -> String? {
        file.metadata.first { $0.key == key }?.value
    }

    /// Every `__metadata__` entry, in file order.
    public var metadataEntries: [(key: String, value: String)] { file.metadata }
}
