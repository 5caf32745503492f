/// A summary of the tensors in a weights file, for `inspect` and diagnostics.
public struct ModelTensorSummary: Sendable {
    /// Every tensor entry of the file, in header order (including ignored ones).
    public var tensors: [SafeTensorInfo]
    /// Names of the tensors the loader ignored (`*.num_batches_tracked`).
    public var ignored: [String]
    /// Number of parameters (elements of all tensors that are not ignored).
    public var parameterCount: Int
    /// The distinct dtypes of the parameters, in order of first appearance.
    public var dtypes: [SafeTensorsDType]
}

/// A validated cxrcaption/1 model: what `CaptionModel` is made from.
public struct LoadedModel: Sendable {
    public var config: ModelConfig
    public var vocabulary: Vocabulary
    /// Names of the findings head's labels; empty when there is no findings head.
    public var labels: [String]
    /// The `format` metadata (`cxrcaption/1`).
    public var formatVersion: String
    /// All `__metadata__` entries in file order.
    public var metadata: [(key: String, value: String)]
    /// Non-fatal problems in the metadata (unknown keys, duplicate tokens, tokenizer/join disagreement).
    public var problems: [String]
    public var tensorSummary: ModelTensorSummary
    /// Folded Float32 weights for the encoder and decoder.
    var weights: ModelWeights
}

/// Reads, validates and folds a cxrcaption/1 weights file (docs/WEIGHTS.md).
public enum ModelLoader {
    /// The largest model file read from disk (4 GiB).
    static let maximumFileSize = FileReader.defaultMaximumSize

    /// Loads the model file at `path`. Throws `CXRError(.io)` when it cannot be read (missing, not a regular
    /// file, larger than 4 GiB, shorter than its header says when read), and `CXRError(.invalidModel)` with
    /// a message naming the problem when it is not a valid model.
    ///
    /// The 8-byte header length is checked against the file size before anything else is read; then the
    /// header is read and validated, and each tensor is read from the file straight into its array
    /// (`ReadableFile`): the file is never held in memory as a whole.
    public static func load(path: String) throws -> LoadedModel {
        try load(path: path, threeByThree: .oihw)
    }

    /// `load(path:)` with the dense layers' 3x3 convolutions in the given form.
    static func load(path: String, threeByThree: ThreeByThreeForm) throws -> LoadedModel {
        let file = try ReadableFile(path: path, maximumSize: maximumFileSize)
        let prefix = try file.bytes(at: 0, count: min(8, file.size))
        let headerEnd = try prefix.withUnsafeBytes { try SafeTensorsLayout.headerEnd(prefix: $0, fileSize: file.size) }
        let header = try file.bytes(at: 0, count: headerEnd)
        let layout = try header.withUnsafeBytes { try SafeTensorsLayout.parse(header: $0, fileSize: file.size) }
        return try load(layout: layout, source: .file(file), threeByThree: threeByThree)
    }

    /// Loads a model from the bytes of a weights file; the bytes are not retained.
    static func load(bytes: UnsafeRawBufferPointer, threeByThree: ThreeByThreeForm = .oihw) throws -> LoadedModel {
        try load(layout: try SafeTensorsLayout.parse(bytes), source: .memory(bytes), threeByThree: threeByThree)
    }

    /// Validates the tensors, then reads them: the encoder's on this thread, the decoder's and the findings
    /// head's at the same time on another (`ConcurrentPair`; an encoder error wins when both fail).
    private static func load(layout: SafeTensorsLayout, source: TensorSource,
                             threeByThree: ThreeByThreeForm) throws -> LoadedModel {
        let metadata = try ModelMetadata.parse(layout.metadata)
        let summary = try validateTensors(layout, metadata: metadata)
        let reader = TensorReader(layout: layout, source: source, config: metadata.config,
                                  threeByThree: threeByThree)
        let hasFindings = metadata.labels != nil
        let (encoder, (decoder, findings)) = try ConcurrentPair.run({ try reader.encoderWeights() }) {
            (try reader.decoderWeights(), hasFindings ? try reader.findingsWeights() : nil)
        }
        let weights = ModelWeights(encoder: encoder, decoder: decoder, findings: findings)
        return LoadedModel(config: metadata.config, vocabulary: metadata.vocabulary, labels: metadata.labels ?? [],
                           formatVersion: metadata.formatVersion, metadata: layout.metadata,
                           problems: metadata.problems, tensorSummary: summary, weights: weights)
    }

    /// Checks names, dtypes and shapes of every tensor against the config and metadata.
    static func validateTensors(_ layout: SafeTensorsLayout, metadata: ModelMetadata) throws -> ModelTensorSummary {
        let config = metadata.config
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

        let expected = ModelTensorNames.expected(config: config, vocabularySize: vocabularySize,
                                                 labelCount: metadata.labels?.count)
        var expectedShapes: [String: [Int]] = [:]
        for entry in expected { expectedShapes[entry.name] = entry.shape }

        var ignored: [String] = []
        var parameterCount = 0
        var dtypes: [SafeTensorsDType] = []
        for tensor in layout.tensors {
            if ModelTensorNames.isIgnored(tensor.name) {
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
            if ModelTensorNames.vocabularyRowTensors.contains(tensor.name), tensor.shape.first != vocabularySize {
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

/// The form `ModelLoader` gives the dense layers' 3x3 convolutions (`ThreeByThreeWeights`).
enum ThreeByThreeForm: Sendable {
    /// PyTorch's OIHW weights, as in the file (for inspection, tests and the im2col encoder).
    case oihw
    /// Winograd-transformed while reading, each tensor through one reused buffer, so that the 8.5 MB of
    /// raw weights of DenseNet-121 never get pages of their own (what `CaptionModel` loads).
    case winograd
}

/// Where the loader reads tensor bytes from. Both threads of a load read it; the memory a `.memory`
/// source points to outlives the load (the caller's bytes), so sharing it is safe.
private enum TensorSource: @unchecked Sendable {
    /// A whole weights file in memory.
    case memory(UnsafeRawBufferPointer)
    /// An open weights file, read tensor by tensor.
    case file(ReadableFile)
}

/// Reads validated tensors and assembles `ModelWeights`.
private struct TensorReader: Sendable {
    let layout: SafeTensorsLayout
    let source: TensorSource
    let config: ModelConfig
    let threeByThree: ThreeByThreeForm
    let index: [String: SafeTensorInfo]

    init(layout: SafeTensorsLayout, source: TensorSource, config: ModelConfig, threeByThree: ThreeByThreeForm) {
        self.layout = layout
        self.source = source
        self.config = config
        self.threeByThree = threeByThree
        var index: [String: SafeTensorInfo] = [:]
        for tensor in layout.tensors { index[tensor.name] = tensor }
        self.index = index
    }

    func floats(_ name: String) throws -> [Float] {
        let tensor = try info(name)
        return try [Float](unsafeUninitializedCapacity: tensor.elementCount) { output, initialized in
            try read(tensor, into: output)
            initialized = tensor.elementCount
        }
    }

    private func info(_ name: String) throws -> SafeTensorInfo {
        guard let tensor = index[name] else { throw CXRError.invalidModel("missing tensor \(name)") }
        return tensor
    }

    /// Reads `tensor` into `output` (exactly its element count) and checks that every value is finite.
    private func read(_ tensor: SafeTensorInfo, into output: UnsafeMutableBufferPointer<Float>) throws {
        switch source {
        case .memory(let bytes): try layout.read(tensor, in: bytes, into: output)
        case .file(let file): try layout.read(tensor, from: file, into: output)
        }
        if let bad = TensorDecoding.firstNonFinite(UnsafeBufferPointer(output)) {
            throw CXRError.invalidModel("tensor \(tensor.name)[\(bad)] is \(output[bad]); model parameters must "
                + "be finite")
        }
    }

    func batchNorm(_ prefix: String) throws -> FoldedBatchNorm {
        let folded = BatchNormFolding.fold(
            weight: try floats("\(prefix).weight"), bias: try floats("\(prefix).bias"),
            runningMean: try floats("\(prefix).running_mean"), runningVar: try floats("\(prefix).running_var"),
            eps: Double(config.bnEps))
        switch folded {
        case .success(let batchNorm): return batchNorm
        case .failure(let problem):
            throw CXRError.invalidModel("tensor \(prefix).running_var[\(problem.channel)] is \(problem.runningVar); "
                + "running_var + bn_eps must be positive")
        }
    }

    func convolution(_ name: String, kernel: Int, stride: Int, padding: Int) throws -> ConvolutionWeights {
        let shape = index[name]!.shape  // validated: [out, in, kernel, kernel]
        return ConvolutionWeights(outChannels: shape[0], inChannels: shape[1], kernel: kernel, stride: stride,
                                  padding: padding, weight: try floats(name))
    }

    /// A dense layer's 3x3 convolution in the form asked for. The `.winograd` form reads the tensor into
    /// `scratch` (grown as needed, reused for every layer) and transforms it from there.
    func threeByThree(_ name: String, scratch: inout [Float]) throws -> ThreeByThreeWeights {
        let tensor = try info(name)
        let shape = tensor.shape  // validated: [out, in, 3, 3]
        guard threeByThree == .winograd, shape.count == 4, shape[0] >= 1, shape[1] >= 1, shape[2] == 3,
              shape[3] == 3 else {
            // (Any other shape stays OIHW; the encoder rejects it by name.)
            return .oihw(try convolution(name, kernel: 3, stride: 1, padding: 1))
        }
        if scratch.count < tensor.elementCount {
            scratch = [Float](repeating: 0, count: tensor.elementCount)
        }
        return try scratch.withUnsafeMutableBufferPointer { buffer in
            let weights = UnsafeMutableBufferPointer(rebasing: buffer[0..<tensor.elementCount])
            try read(tensor, into: weights)
            return .winograd(WinogradConvolution(outChannels: shape[0], inChannels: shape[1],
                                                 oihw: UnsafeBufferPointer(weights)))
        }
    }

    func encoderWeights() throws -> EncoderWeights {
        let conv0 = try convolution("encoder.features.conv0.weight", kernel: 7, stride: 2, padding: 3)
        let norm0 = try batchNorm("encoder.features.norm0")
        var blocks: [[DenseLayerWeights]] = []
        var transitions: [TransitionWeights] = []
        var scratch: [Float] = []
        for (blockIndex, layers) in config.blockConfig.enumerated() {
            var block: [DenseLayerWeights] = []
            for layer in stride(from: 1, through: layers, by: 1) {
                let prefix = ModelTensorNames.denseLayer(blockIndex + 1, layer)
                block.append(DenseLayerWeights(
                    norm1: try batchNorm("\(prefix).norm1"),
                    conv1: try convolution("\(prefix).conv1.weight", kernel: 1, stride: 1, padding: 0),
                    norm2: try batchNorm("\(prefix).norm2"),
                    conv2: try threeByThree("\(prefix).conv2.weight", scratch: &scratch)))
            }
            blocks.append(block)
            if blockIndex != config.blockConfig.count - 1 {
                let prefix = ModelTensorNames.transition(blockIndex + 1)
                transitions.append(TransitionWeights(
                    norm: try batchNorm("\(prefix).norm"),
                    conv: try convolution("\(prefix).conv.weight", kernel: 1, stride: 1, padding: 0)))
            }
        }
        return EncoderWeights(conv0: conv0, norm0: norm0, blocks: blocks, transitions: transitions,
                              norm5: try batchNorm("encoder.features.norm5"))
    }

    /// The decoder's weights, with the token-gate table when the decoder will want it (its sgemm then
    /// runs on the loader's decoder thread, beside the encoder's reading and Winograd transforms).
    func decoderWeights() throws -> DecoderWeights {
        var weights = try decoderTensors()
        let vocabularySize = index["decoder.embedding.weight"]!.shape[0]  // validated: [V, e]
        let (gates, overflow) = vocabularySize.multipliedReportingOverflow(by: 4 * config.hidden)
        if !overflow, gates <= AttentionDecoder.tokenGateLimit,
           weights.embedding.count == vocabularySize * config.embed,
           weights.lstmInputWeight.count == 4 * config.hidden * (config.embed + config.featureChannels) {
            weights.tokenGates = AttentionDecoder.tokenGateTable(
                weights, hidden: config.hidden, embed: config.embed, featureChannels: config.featureChannels,
                vocabularySize: vocabularySize)
        }
        return weights
    }

    private func decoderTensors() throws -> DecoderWeights {
        let biasIH = try floats("decoder.lstm.bias_ih")
        let biasHH = try floats("decoder.lstm.bias_hh")
        let lstmBias = zip(biasIH, biasHH).map { Float(Double($0) + Double($1)) }
        return DecoderWeights(
            embedding: try floats("decoder.embedding.weight"),
            lstmInputWeight: try floats("decoder.lstm.weight_ih"),
            lstmHiddenWeight: try floats("decoder.lstm.weight_hh"),
            lstmBias: lstmBias,
            attentionHidden: try floats("decoder.att_h.weight"),
            attentionFeature: try floats("decoder.att_v.weight"),
            attentionFeatureBias: try floats("decoder.att_v.bias"),
            attentionScore: try floats("decoder.att_w.weight"),
            outputHidden: try floats("decoder.out_h.weight"),
            outputBias: try floats("decoder.out_h.bias"),
            outputContext: try floats("decoder.out_c.weight"))
    }

    func findingsWeights() throws -> FindingsHeadWeights {
        FindingsHeadWeights(weight: try floats("findings.weight"), bias: try floats("findings.bias"))
    }
}
