import CXRSupport
import CXRWeights

/// One kind of image encoder that a weights file can name with its config's `"encoder"` key: how its
/// section of the config is read. Everything else about the encoder hangs off the configuration it reads.
///
/// A new encoder is its own files (a kind, a configuration, an `ImageEncoder`) plus one registration: its
/// kind in an `EncoderRegistry` (CXRKit's `EncoderRegistry.builtIn`, or a test's own registry).
package protocol EncoderKind: Sendable {
    /// The config's `"encoder"` value for this kind.
    var name: String { get }
    /// The config keys this kind reads, besides the shared ones (`ModelConfig.sharedKeys`).
    var configKeys: [String] { get }
    /// Reads and validates this kind's keys of `config` for an encoder taking `input`. Throws
    /// `invalidModel` naming the key and value at fault, or a workspace too large for
    /// `ModelConfigLimits.maximumEncoderWorkspaceBytes`.
    func configuration(_ config: ConfigObject, input: EncoderInput) throws -> any EncoderConfiguration
}

/// An encoder's validated section of the config: what it yields, what it reads from a weights file, and how
/// it is built from what it read.
package protocol EncoderConfiguration: Sendable {
    /// The kind's name (`EncoderKind.name`).
    var kind: String { get }
    /// What the encoder takes.
    var input: EncoderInput { get }
    /// Channels F of V.
    var featureChannels: Int { get }
    /// Side G of V's grid.
    var gridSize: Int { get }
    /// Bytes of one session's workspace.
    var workspaceBytes: Int { get }
    /// This section in one line, for `inspect` ("DenseNet blocks [6, 12, 24, 16], growth 32, ...").
    var summary: String { get }
    /// This section's values as the config holds them, for `inspect --json`.
    var values: [(key: String, value: JSONValue)] { get }
    /// The tensors a weights file must hold for this encoder, with their exact shapes, in the reference
    /// module's `state_dict()` order.
    var expectedTensors: [(name: String, shape: [Int])] { get }
    /// Reads the encoder's tensors (names and shapes already validated against `expectedTensors`) and
    /// builds it.
    func makeEncoder(reading tensors: SafeTensorsReader) throws -> any ImageEncoder
    /// Whether `other` is the same configuration.
    func isEqual(to other: any EncoderConfiguration) -> Bool
}

extension EncoderConfiguration where Self: Equatable {
    package func isEqual(to other: any EncoderConfiguration) -> Bool {
        (other as? Self) == self
    }
}

extension EncoderConfiguration {
    /// Regions R of V: G².
    package var regionCount: Int { gridSize * gridSize }
}
