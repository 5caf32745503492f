@testable import CXRDenseNet
@testable import CXRSupport
@testable import CXRKit
@testable import CXRModel

/// A weights file as the tests read it: validated exactly as for captioning (`ModelFile`), with its raw
/// parameters read through the same code the encoder and decoder are built from, the dense layers' 3x3
/// convolutions kept in the form asked for (OIHW by default, so that the im2col encoder can run them).
struct LoadedWeights {
    let file: ModelFile
    let weights: Parameters

    struct Parameters {
        var encoder: DenseNetWeights
        var decoder: DecoderWeights
        var findings: (weight: [Float], bias: [Float])?
    }

    var config: ModelConfig { file.description.config }
    var vocabulary: Vocabulary { file.description.vocabulary }
    var labels: [String] { file.description.labels }
    var formatVersion: String { file.description.formatVersion }
    var metadata: [(key: String, value: String)] { file.description.metadata }
    var problems: [String] { file.description.problems }
    var tensorSummary: ModelTensorSummary { file.description.tensors }
    /// The DenseNet section of the config.
    var denseNet: DenseNetConfiguration { config.encoder as! DenseNetConfiguration }

    init(_ file: ModelFile, threeByThree: ThreeByThreeForm) throws {
        self.file = file
        let tensors = file.tensors
        let denseNet = try denseNetConfiguration(of: file.description.config)
        weights = Parameters(
            encoder: try DenseNetWeights(reading: tensors, configuration: denseNet, threeByThree: threeByThree),
            decoder: try DecoderWeights(reading: tensors),
            findings: file.description.labels.isEmpty ? nil
                : (try tensors.floats("findings.weight"), try tensors.floats("findings.bias")))
    }

    /// The decoder built from these weights, as a loaded model builds it.
    func decoder() throws -> AttentionDecoder {
        try AttentionDecoder(weights: weights.decoder, dimensions: config.decoderDimensions,
                             vocabularySize: vocabulary.count)
    }

    /// The findings head, or nil without labels.
    func findingsHead() throws -> FindingsHead? {
        try weights.findings.map {
            try FindingsHead(weight: $0.weight, bias: $0.bias, featureChannels: config.featureChannels)
        }
    }
}

/// Opens weights files for the tests with what the library supports.
enum TestWeights {
    static func load(path: String, threeByThree: ThreeByThreeForm = .oihw) throws -> LoadedWeights {
        try LoadedWeights(ModelFile(path: path, support: .library), threeByThree: threeByThree)
    }

    static func load(bytes: UnsafeRawBufferPointer, threeByThree: ThreeByThreeForm = .oihw) throws -> LoadedWeights {
        try LoadedWeights(ModelFile(bytes: bytes, support: .library), threeByThree: threeByThree)
    }
}

/// The DenseNet section of a config (every file the tests load through the library's support is one).
func denseNetConfiguration(of config: ModelConfig) throws -> DenseNetConfiguration {
    guard let denseNet = config.encoder as? DenseNetConfiguration else {
        throw CXRError.invalidModel("not a DenseNet: \(config.encoderKind)")
    }
    return denseNet
}
