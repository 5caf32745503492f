import XCTest
@testable import CXRDenseNet
@testable import CXRKit
@testable import CXRModel
@testable import CXRSupport
@testable import CXRWeights

/// A hand-built cxrcaption/1 file for tests: blocks (1,1,1,1), growth 4, bn_size 2, 8 initial features,
/// input 64 (F = 8), hidden 6, embed 5, attention 7, a vocabulary of 7 tokens and optionally 3 labels.
///
/// Tensor names are written out here from docs/WEIGHTS.md (torchvision's DenseNet naming), independently of
/// the loader's own table, so the tests check the loader against the contract rather than against itself.
struct TinyModel {
    var configFields: [(key: String, value: String)] = [
        ("block_config", "[1, 1, 1, 1]"), ("growth_rate", "4"), ("bn_size", "2"), ("num_init_features", "8"),
        ("in_channels", "1"), ("input_size", "64"), ("hidden", "6"), ("embed", "5"), ("attention_dim", "7"),
        ("bn_eps", "1e-05"), ("mean", "[0.5]"), ("std", "[0.25]"), ("preprocessing", "1"),
    ]
    var metadata: [(key: String, value: String)] = [
        ("format", "cxrcaption/1"),
        ("vocab", #"["<pad>", "<start>", "<end>", "<nou>", "heart", "normal", "."]"#),
        ("special_tokens", #"{"pad": 0, "start": 1, "end": 2, "nou": 3}"#),
        ("join", " "),
        ("tokenizer", "en"),
    ]
    var tensors: [(name: String, shape: [Int], values: [Float], dtype: SafeTensorsDType)] = []

    static let featureChannels = 8
    static let vocabularySize = 7
    static let labels = ["cardiomegaly", "effusion", "normal"]

    init(withFindings: Bool = false) {
        var seed: UInt32 = 2024
        func values(_ count: Int, positive: Bool) -> [Float] {
            (0..<count).map { _ in
                seed = seed &* 1_664_525 &+ 1_013_904_223
                let unit = Float(seed >> 8) / Float(1 << 24)  // [0, 1)
                return positive ? 0.5 + unit : unit * 2 - 1
            }
        }
        func add(_ name: String, _ shape: [Int], positive: Bool = false) {
            tensors.append((name, shape, values(shape.reduce(1, *), positive: positive), .f32))
        }
        func batchNorm(_ prefix: String, _ channels: Int) {
            add("\(prefix).weight", [channels])
            add("\(prefix).bias", [channels])
            add("\(prefix).running_mean", [channels])
            add("\(prefix).running_var", [channels], positive: true)
        }
        add("encoder.features.conv0.weight", [8, 1, 7, 7])
        batchNorm("encoder.features.norm0", 8)
        // Channels entering each block's single layer, and after each transition.
        let entering = [8, 6, 5, 4]
        for block in 1...4 {
            let inChannels = entering[block - 1]
            let prefix = "encoder.features.denseblock\(block).denselayer1"
            batchNorm("\(prefix).norm1", inChannels)
            add("\(prefix).conv1.weight", [8, inChannels, 1, 1])
            batchNorm("\(prefix).norm2", 8)
            add("\(prefix).conv2.weight", [4, 8, 3, 3])
            if block < 4 {
                let channels = inChannels + 4
                batchNorm("encoder.features.transition\(block).norm", channels)
                add("encoder.features.transition\(block).conv.weight", [channels / 2, channels, 1, 1])
            }
        }
        batchNorm("encoder.features.norm5", 8)
        add("decoder.embedding.weight", [7, 5])
        add("decoder.lstm.weight_ih", [24, 13])
        add("decoder.lstm.weight_hh", [24, 6])
        add("decoder.lstm.bias_ih", [24])
        add("decoder.lstm.bias_hh", [24])
        add("decoder.att_h.weight", [7, 6])
        add("decoder.att_v.weight", [7, 8])
        add("decoder.att_v.bias", [7])
        add("decoder.att_w.weight", [1, 7])
        add("decoder.out_h.weight", [7, 6])
        add("decoder.out_h.bias", [7])
        add("decoder.out_c.weight", [7, 8])
        if withFindings {
            add("findings.weight", [3, 8])
            add("findings.bias", [3])
            metadata.append(("labels", #"["cardiomegaly", "effusion", "normal"]"#))
        }
    }

    /// Replaces the `config` metadata text when set (`.some(nil)` leaves `config` out).
    var rawConfigOverride: String?? = nil
    private var rawConfig: String? { rawConfigOverride ?? configJSON }

    var configJSON: String {
        "{" + configFields.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }

    func values(_ name: String) -> [Float] { tensors.first { $0.name == name }!.values }

    mutating func setConfig(_ key: String, _ value: String?) {
        configFields.removeAll { $0.key == key }
        if let value { configFields.append((key, value)) }
    }

    mutating func setMetadata(_ key: String, _ value: String?) {
        if let index = metadata.firstIndex(where: { $0.key == key }) {
            if let value { metadata[index].value = value } else { metadata.remove(at: index) }
        } else if let value {
            metadata.append((key, value))
        }
    }

    mutating func removeTensor(_ name: String) {
        let before = tensors.count
        tensors.removeAll { $0.name == name }
        precondition(tensors.count == before - 1, "no tensor \(name)")
    }

    /// Replaces a tensor's shape (values filled with a ramp).
    mutating func reshapeTensor(_ name: String, _ shape: [Int]) {
        let index = tensors.firstIndex { $0.name == name }!
        tensors[index].shape = shape
        tensors[index].values = (0..<shape.reduce(1, *)).map { Float($0) * 0.01 }
    }

    mutating func addTensor(_ name: String, _ shape: [Int]) {
        tensors.append((name, shape, [Float](repeating: 0.25, count: shape.reduce(1, *)), .f32))
    }

    mutating func setDType(_ dtype: SafeTensorsDType) {
        for index in tensors.indices { tensors[index].dtype = dtype }
    }

    func writer() throws -> SafeTensorsWriter {
        var writer = SafeTensorsWriter()
        var entries = metadata.filter { $0.key == "format" }
        if let config = rawConfig { entries.append(("config", config)) }
        entries += metadata.filter { $0.key != "format" }
        writer.metadata = entries
        for tensor in tensors {
            try writer.add(tensor.name, shape: tensor.shape, values: tensor.values, dtype: tensor.dtype)
        }
        return writer
    }

    func bytes() throws -> [UInt8] { try writer().serialized() }

    /// The file validated and its raw parameters read (`TestWeights`).
    func load() throws -> LoadedWeights {
        let bytes = try bytes()
        return try bytes.withUnsafeBytes { try TestWeights.load(bytes: $0) }
    }

    /// The file loaded as for captioning.
    func captionModel() throws -> CaptionModel {
        let bytes = try bytes()
        return try bytes.withUnsafeBytes { try CaptionModel(bytes: $0) }
    }
}

/// Asserts that `body` throws a `CXRError` of `kind` whose message contains `fragment`.
func assertCXRError<T>(_ kind: CXRError.Kind, _ fragment: String, file: StaticString = #filePath,
                       line: UInt = #line, _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected \(kind) error containing \"\(fragment)\", got success", file: file, line: line)
    } catch let error as CXRError {
        XCTAssertEqual(error.kind, kind, "kind of \"\(error.message)\"", file: file, line: line)
        XCTAssertTrue(error.message.contains(fragment), "message \"\(error.message)\" lacks \"\(fragment)\"",
                      file: file, line: line)
    } catch {
        XCTFail("expected CXRError, got \(error)", file: file, line: line)
    }
}

final class WeightsTinyModelTests: XCTestCase {
    func testTinyModelMatchesTheContractTable() throws {
        // The hand-written tensor list and the loader's table agree on every name and shape.
        let model = TinyModel(withFindings: true)
        let metadata = try ModelMetadata.parse([("format", "cxrcaption/1"), ("config", model.configJSON)]
            + model.metadata.filter { $0.key != "format" }, support: .library)
        XCTAssertEqual(metadata.vocabulary.count, 7)
        XCTAssertEqual(metadata.labels?.count, 3)
        let expected = ModelFile.expectedTensors(metadata)
        XCTAssertEqual(expected.map(\.name), model.tensors.map(\.name))
        XCTAssertEqual(expected.map(\.shape), model.tensors.map(\.shape))
        XCTAssertEqual(metadata.config.featureChannels, TinyModel.featureChannels)
    }
}
