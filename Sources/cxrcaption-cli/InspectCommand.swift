import ArgumentParser
import CXRKit
import CXRModel
import CXRSupport
import Foundation

/// `cxrcaption inspect MODEL`: what a weights file holds, after full validation (docs/WEIGHTS.md).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate a .safetensors model and print its config, vocabulary, labels, parameters and dtypes.",
        discussion: """
            The file is loaded exactly as for captioning (every tensor checked, BatchNorm folded). A file that \
            is not a valid cxrcaption/1 model prints the precise problem to stderr and exits with status 1. \
            Non-fatal metadata problems (unknown keys, duplicate tokens, a tokenizer that disagrees with the \
            join rule) are listed under "problems".
            """
    )

    @Argument(help: "Path to the .safetensors model file.")
    var model: String

    @Flag(help: "Print the summary as JSON.")
    var json = false

    @Option(help: "How many leading vocabulary tokens to show.")
    var tokens: Int = 12

    func run() throws {
        let loaded: ModelDescription
        do {
            loaded = try CaptionModel(contentsOfFile: model).file
        } catch let error as CXRError {
            FileHandle.standardError.write(Data("error: \(model): \(error.message)\n".utf8))
            throw ExitCode.failure
        }
        if json {
            print(try jsonSummary(loaded))
        } else {
            print(textSummary(loaded))
        }
    }

    /// Metadata keys shown in parsed form rather than as raw text.
    private static let summarizedKeys: Set<String> = ["config", "vocab", "special_tokens", "labels", "join"]

    private func textSummary(_ model: ModelDescription) -> String {
        let config = model.config
        let vocabulary = model.vocabulary
        func quoted(_ token: String) -> String { "\"\(token)\"" }
        func list<T>(_ values: [T]) -> String { "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
        let shown = vocabulary.tokens.prefix(max(tokens, 0)).map(quoted).joined(separator: " ")
        let ellipsis = vocabulary.count > tokens ? " ..." : ""
        let join = vocabulary.join == .concatenate ? "\"\" (concatenate)" : "\" \" (space-separated)"
        var lines = [
            "file:         \(self.model)",
            "format:       \(model.formatVersion)",
        ]
        for entry in model.metadata where !Self.summarizedKeys.contains(entry.key) && entry.key != "format" {
            lines.append("\(entry.key + ":")".padding(toLength: 14, withPad: " ", startingAt: 0) + entry.value)
        }
        lines += [
            "encoder:      \(config.encoder.summary)",
            "input:        \(config.inChannels) channel(s), \(config.inputSize)x\(config.inputSize), grid "
                + "\(config.gridSize)x\(config.gridSize) (\(config.regionCount) regions), mean \(list(config.mean)), "
                + "std \(list(config.std)), preprocessing v\(config.preprocessing)",
            "decoder:      hidden \(config.hidden), embed \(config.embed), attention \(config.attentionDim)",
            "vocabulary:   \(vocabulary.count) tokens: \(shown)\(ellipsis)",
            "special:      pad \(vocabulary.padID) \(quoted(vocabulary.tokens[vocabulary.padID])), "
                + "start \(vocabulary.startID) \(quoted(vocabulary.tokens[vocabulary.startID])), "
                + "end \(vocabulary.endID) \(quoted(vocabulary.tokens[vocabulary.endID])), "
                + "nou \(vocabulary.unknownID) \(quoted(vocabulary.tokens[vocabulary.unknownID]))",
            "join:         \(join)",
            "labels:       " + (model.labels.isEmpty ? "none (no findings head)"
                : "\(model.labels.count): " + model.labels.joined(separator: ", ")),
            "tensors:      \(model.tensors.tensors.count)"
                + (model.tensors.ignored.isEmpty ? "" : " (\(model.tensors.ignored.count) ignored: "
                    + "num_batches_tracked)"),
            "parameters:   \(grouped(model.tensors.parameterCount))",
            "dtypes:       " + model.tensors.dtypes.map(\.rawValue).joined(separator: ", "),
        ]
        if model.problems.isEmpty {
            lines.append("problems:     none")
        } else {
            lines.append("problems:     \(model.problems.count)")
            lines += model.problems.map { "  - \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    private func grouped(_ value: Int) -> String {
        var digits = Array(String(value))
        var index = digits.count - 3
        while index > 0 {
            digits.insert(",", at: index)
            index -= 3
        }
        return String(digits)
    }

    /// The Double whose shortest decimal form is the Float's (1e-05, not 9.999999747378752e-06).
    private func shortest(_ value: Float) -> Double { Double("\(value)") ?? Double(value) }

    /// The config as the file holds it (the encoder's section included), plus the derived sizes.
    private func configObject(_ config: ModelConfig) -> [String: Any] {
        var object: [String: Any] = [
            "encoder": config.encoderKind, "in_channels": config.inChannels, "input_size": config.inputSize,
            "hidden": config.hidden, "embed": config.embed, "attention_dim": config.attentionDim,
            "mean": config.mean.map(shortest), "std": config.std.map(shortest),
            "preprocessing": config.preprocessing, "feature_channels": config.featureChannels,
            "grid_size": config.gridSize,
        ]
        for (key, value) in config.encoder.values { object[key] = foundationValue(value) }
        return object
    }

    /// A parsed JSON value as JSONSerialization writes it.
    private func foundationValue(_ value: JSONValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let flag): return flag
        case .number(let number): return number.integer.map { $0 as Any } ?? number.double
        case .string(let text): return text
        case .array(let elements): return elements.map(foundationValue)
        case .object(let object):
            var members: [String: Any] = [:]
            for member in object.members { members[member.key] = foundationValue(member.value) }
            return members
        }
    }

    private func jsonSummary(_ model: ModelDescription) throws -> String {
        let config = model.config
        let vocabulary = model.vocabulary
        var metadata: [String: String] = [:]
        for entry in model.metadata where !Self.summarizedKeys.contains(entry.key) { metadata[entry.key] = entry.value }
        let object: [String: Any] = [
            "file": self.model,
            "format": model.formatVersion,
            "metadata": metadata,
            "config": configObject(config),
            "vocabulary_size": vocabulary.count,
            "vocabulary_head": Array(vocabulary.tokens.prefix(max(tokens, 0))),
            "special_tokens": ["pad": vocabulary.padID, "start": vocabulary.startID, "end": vocabulary.endID,
                               "nou": vocabulary.unknownID],
            "join": vocabulary.join == .concatenate ? "" : " ",
            "labels": model.labels,
            "tensor_count": model.tensors.tensors.count,
            "ignored_tensors": model.tensors.ignored,
            "parameter_count": model.tensors.parameterCount,
            "dtypes": model.tensors.dtypes.map(\.rawValue),
            "problems": model.problems,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
