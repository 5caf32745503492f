import CXRSupport
import CXRWeights

/// A summary of the tensors in a weights file, for `inspect` and diagnostics.
package struct ModelTensorSummary: Sendable {
    /// Every tensor entry of the file, in header order (including ignored ones).
    package var tensors: [SafeTensorInfo]
    /// Names of the tensors the loader ignored (`*.num_batches_tracked`).
    package var ignored: [String]
    /// Number of parameters (elements of all tensors that are not ignored).
    package var parameterCount: Int
    /// The distinct dtypes of the parameters, in order of first appearance.
    package var dtypes: [SafeTensorsDType]
}

/// What a validated cxrcaption/1 file says, besides its parameters.
package struct ModelDescription: Sendable {
    package var config: ModelConfig
    package var vocabulary: Vocabulary
    /// Names of the findings head's labels; empty when there is no findings head.
    package var labels: [String]
    /// The `format` metadata (`cxrcaption/1`).
    package var formatVersion: String
    /// All `__metadata__` entries in file order.
    package var metadata: [(key: String, value: String)]
    /// Non-fatal problems in the metadata (unknown keys, duplicate tokens, tokenizer/join disagreement).
    package var problems: [String]
    package var tensors: ModelTensorSummary
    /// The `generation` metadata's recommended decoding settings (empty when the file has none).
    package var generation = RecommendedGeneration()
}

/// The networks of a loaded model: what `CaptionModel` is made of.
package struct LoadedModel: Sendable {
    package let description: ModelDescription
    package let encoder: any ImageEncoder
    package let decoder: AttentionDecoder
    package let findingsHead: FindingsHead?
}

/// A cxrcaption/1 weights file whose header, metadata and tensor names, dtypes and shapes are validated
/// (docs/WEIGHTS.md), and whose parameters are not read yet: `load()` reads them and builds the networks.
package struct ModelFile: Sendable {
    /// The largest model file read from disk (4 GiB).
    package static let maximumFileSize = FileReader.defaultMaximumSize

    package let description: ModelDescription
    /// The file's tensors (names, dtypes and shapes validated).
    package let tensors: SafeTensorsReader

    /// Opens and validates the model file at `path`. Throws `CXRError(.io)` when it cannot be read (missing,
    /// not a regular file, larger than 4 GiB, shorter than its header says when read), and
    /// `CXRError(.invalidModel)` with a message naming the problem when it is not a valid model that
    /// `support` can run.
    ///
    /// The 8-byte header length is checked against the file size before anything else is read; then only
    /// the header is read (`SafeTensorsReader`), and `load()` reads each tensor straight into its array.
    package init(path: String, support: ModelSupport) throws {
        try self.init(tensors: SafeTensorsReader(path: path, maximumSize: Self.maximumFileSize), support: support)
    }

    /// A model file in memory; the bytes must stay valid until `load()` returns, and are not retained.
    package init(bytes: UnsafeRawBufferPointer, support: ModelSupport) throws {
        try self.init(tensors: SafeTensorsReader(bytes: bytes), support: support)
    }

    private init(tensors: SafeTensorsReader, support: ModelSupport) throws {
        let metadata = try ModelMetadata.parse(tensors.layout.metadata, support: support)
        let summary = try Self.validateTensors(tensors.layout, metadata: metadata)
        description = ModelDescription(config: metadata.config, vocabulary: metadata.vocabulary,
                                       labels: metadata.labels ?? [], formatVersion: metadata.formatVersion,
                                       metadata: tensors.layout.metadata, problems: metadata.problems,
                                       tensors: summary, generation: metadata.generation)
        self.tensors = tensors
    }

    /// Reads the parameters and builds the networks: the encoder on this thread; the decoder (and its
    /// load-time token-gate product) and the findings head at the same time on another (`ConcurrentPair`).
    /// Both always finish before this returns; when both fail, the encoder's error is reported, so the
    /// message never depends on timing.
    package func load() throws -> LoadedModel {
        let config = description.config
        let vocabularySize = description.vocabulary.count
        let hasFindings = !description.labels.isEmpty
        let tensors = self.tensors
        let (encoder, (decoder, findings)) = try ConcurrentPair.run({
            try config.encoder.makeEncoder(reading: tensors)
        }, background: {
            (try AttentionDecoder(reading: tensors, dimensions: config.decoderDimensions,
                                  vocabularySize: vocabularySize),
             hasFindings ? try FindingsHead(reading: tensors, featureChannels: config.featureChannels) : nil)
        })
        guard encoder.input == config.input, encoder.featureChannels == config.featureChannels,
              encoder.gridSize == config.gridSize else {
            throw CXRError.invalidModel("the \(config.encoderKind) encoder takes \(encoder.input.channels) x "
                + "\(encoder.input.size)² and yields \(encoder.featureChannels) channels on a \(encoder.gridSize)² "
                + "grid; its config says \(config.inChannels) x \(config.inputSize)², \(config.featureChannels) "
                + "channels, \(config.gridSize)²")
        }
        return LoadedModel(description: description, encoder: encoder, decoder: decoder, findingsHead: findings)
    }

    /// Every tensor a file with this metadata must hold, with its shape: the encoder's, the decoder's and
    /// (with labels) the findings head's.
    package static func expectedTensors(_ metadata: ModelMetadata) -> [(name: String, shape: [Int])] {
        let config = metadata.config
        var expected = config.encoder.expectedTensors
        expected += DecoderWeights.expectedTensors(config.decoderDimensions, vocabularySize: metadata.vocabulary.count)
        if let labels = metadata.labels {
            expected += FindingsHead.expectedTensors(labelCount: labels.count, featureChannels: config.featureChannels)
        }
        return expected
    }

    /// Tensors the loader ignores (BatchNorm step counters), whatever their dtype.
    package static func isIgnored(_ name: String) -> Bool { name.hasSuffix(".num_batches_tracked") }

    /// Checks names, dtypes and shapes of every tensor against the config and metadata.
    package static func validateTensors(_ layout: SafeTensorsLayout, metadata: ModelMetadata) throws
        -> ModelTensorSummary {
        let vocabularySize = metadata.vocabulary.count
        let present = Set(layout.tensors.map(\.name))
        let hasFindingsWeight = present.contains("findings.weight")
        let hasFindingsBias = present.contains("findings.bias")
        if hasFindingsWeight != hasFindingsBias {
            throw CXRError.invalidModel(hasFindingsWeight
                ? "findings head incomplete: findings.weight is present but findings.bias is missing"
                : "findings head incomplete: findings.bias is present but findings.weight is missing")
        }
        if hasFindingsWeight && metadata.labels == nil {
            throw CXRError.invalidModel("the file has a findings head (findings.weight, findings.bias) but no "
                + "\"labels\" metadata")
        }
        if let labels = metadata.labels, !hasFindingsWeight {
            throw CXRError.invalidModel("metadata has \(labels.count) labels but the file has no findings head "
                + "(findings.weight, findings.bias)")
        }

        let expected = expectedTensors(metadata)
        var expectedShapes: [String: [Int]] = [:]
        for entry in expected { expectedShapes[entry.name] = entry.shape }

        var ignored: [String] = []
        var parameterCount = 0
        var dtypes: [SafeTensorsDType] = []
        for tensor in layout.tensors {
            if isIgnored(tensor.name) {
                ignored.append(tensor.name)
                continue
            }
            guard let shape = expectedShapes[tensor.name] else {
                throw CXRError.invalidModel("unknown tensor \(tensor.name) (shape \(describeShape(tensor.shape))); "
                    + "it is not part of a \(ModelMetadata.formatVersion) model with this config")
            }
            guard tensor.dtype.isReadableAsFloat else {
                throw CXRError.invalidModel("tensor \(tensor.name) has dtype \(tensor.dtype.rawValue); model "
                    + "parameters must be F32, F16 or BF16")
            }
            if DecoderWeights.vocabularyRowTensors.contains(tensor.name), tensor.shape.first != vocabularySize {
                throw CXRError.invalidModel("metadata vocab has \(vocabularySize) tokens but tensor \(tensor.name) "
                    + "has shape \(describeShape(tensor.shape)) (rows must equal the vocabulary size)")
            }
            if tensor.name.hasPrefix("findings."), let labels = metadata.labels, tensor.shape.first != labels.count {
                throw CXRError.invalidModel("metadata has \(labels.count) labels but tensor \(tensor.name) has shape "
                    + "\(describeShape(tensor.shape)) (rows must equal the label count)")
            }
            guard tensor.shape == shape else {
                throw CXRError.invalidModel("tensor \(tensor.name) has shape \(describeShape(tensor.shape)), "
                    + "expected \(describeShape(shape))")
            }
            parameterCount += tensor.elementCount
            if !dtypes.contains(tensor.dtype) { dtypes.append(tensor.dtype) }
        }
        for entry in expected where !present.contains(entry.name) {
            throw CXRError.invalidModel("missing tensor \(entry.name) (expected shape \(describeShape(entry.shape)))")
        }
        return ModelTensorSummary(tensors: layout.tensors, ignored: ignored, parameterCount: parameterCount,
                                  dtypes: dtypes)
    }
}
