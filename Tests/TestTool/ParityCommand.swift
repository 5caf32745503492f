import ArgumentParser
import CXRDecoding
import CXRImageIO
import CXRKit
import Foundation

/// `cxrcaption-test-tool parity`: runs the model on a normalized input tensor and writes V, teacher-forced
/// logits and beam results, for the full-size parity script in training/ to compare with PyTorch.
struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Dump V, teacher-forced logits and beam results for a raw float32 input."
    )

    @Option(help: "The model (.safetensors).")
    var model: String

    @Option(help: "Raw little-endian float32 model input [C, S, S].")
    var input: String

    @Option(help: "Comma-separated token ids to teacher-force.")
    var tokens: String = ""

    @Option(help: "Where to write V as float32 [F, G, G] (PyTorch layout).")
    var featuresOut: String?

    @Option(help: "Where to write the teacher-forced logits as float32 [tokens, V].")
    var logitsOut: String?

    @Option(help: "Where to write the beam results as JSON.")
    var beamJson: String?

    @Option var beam: Int = 3
    @Option var results: Int = 3
    @Option var maxTokens: Int = 60

    func run() throws {
        let captionModel = try CaptionModel(contentsOfFile: model)
        let session = try CaptionSession(model: captionModel)
        let raw = try BinaryFile.read(input)
        guard raw.count % 4 == 0 else { throw ValidationError("\(input): \(raw.count) bytes is not whole float32s") }
        let modelInput = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }

        if let featuresOut {
            let regionMajor = try session.encode(modelInput: modelInput)
            let regions = captionModel.config.regionCount
            let channels = captionModel.config.featureChannels
            var torchLayout = [Float](repeating: 0, count: regionMajor.count)
            for region in 0..<regions {
                for channel in 0..<channels {
                    torchLayout[channel * regions + region] = regionMajor[region * channels + channel]
                }
            }
            try BinaryFile.write(torchLayout.withUnsafeBytes { [UInt8]($0) }, to: featuresOut)
        }
        if let logitsOut {
            let ids = try tokens.split(separator: ",").map { text -> Int in
                guard let id = Int(text.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--tokens: \(text) is not an integer")
                }
                return id
            }
            let logits = try session.teacherForcedLogits(modelInput: modelInput, tokens: ids)
            try BinaryFile.write(logits.withUnsafeBytes { [UInt8]($0) }, to: logitsOut)
        }
        if let beamJson {
            var parameters = GenerationParameters()
            parameters.beamWidth = beam
            parameters.maxResults = results
            parameters.maxTokens = maxTokens
            let captions = try session.generate(modelInput: modelInput, parameters: parameters)
            let objects: [[String: Any]] = captions.map { caption in
                let regions = captionModel.config.regionCount
                let maps = stride(from: 0, to: caption.attention.count, by: regions).map {
                    Array(caption.attention[$0..<$0 + regions]).map(Double.init)
                }
                return ["tokens": caption.tokens, "log_prob": caption.logProbability, "score": caption.score,
                        "truncated": caption.truncated, "attention": maps, "text": caption.text]
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])
            try data.write(to: URL(fileURLWithPath: beamJson))
        }
    }
}
