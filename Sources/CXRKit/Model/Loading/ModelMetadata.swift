import CXRSupport

/// The `__metadata__` of a cxrcaption/1 weights file, parsed and validated (docs/WEIGHTS.md).
package struct ModelMetadata: Sendable {
    package static let formatVersion = "cxrcaption/1"
    static let largestVocabulary = 1_000_000
    static let largestLabelCount = 100_000
    static let knownKeys = Set(["format", "config", "vocab", "special_tokens", "join", "labels", "tokenizer",
                                "generation"])
        .union(describingKeys)
    /// Free-text keys that describe the model to people (docs/WEIGHTS.md): what a viewer shows beside the
    /// results, what a DICOM report cites.
    package static let describingKeys: Set<String> = [
        "name", "description", "version", "intended_use", "disclaimer", "license", "training_data",
    ]

    package var formatVersion: String
    package var config: ModelConfig
    package var vocabulary: Vocabulary
    /// nil when the file has no `labels` key (no findings head).
    package var labels: [String]?
    /// The optional `generation` metadata: recommended decoding settings (empty when absent).
    package var generation = RecommendedGeneration()
    /// Non-fatal findings: unknown keys, duplicate tokens, a tokenizer that disagrees with the join rule.
    package var problems: [String]

    /// Parses the metadata entries of a safetensors header; the config's encoder kind and preprocessing
    /// version must be ones `support` has.
    package static func parse(_ entries: [(key: String, value: String)], support: ModelSupport) throws -> ModelMetadata {
        if entries.isEmpty {
            throw CXRError.invalidModel("the file has no __metadata__; not a \(formatVersion) model")
        }
        func value(_ key: String) -> String? { entries.first { $0.key == key }?.value }
        func required(_ key: String) throws -> String {
            guard let text = value(key) else { throw CXRError.invalidModel("metadata is missing \"\(key)\"") }
            return text
        }
        func json(_ key: String) throws -> JSONValue {
            let text = try required(key)
            do throws(JSONParseError) {
                return try JSONParser.parse(text)
            } catch {
                throw CXRError.invalidModel("metadata \(key) is not valid JSON: \(error)")
            }
        }

        guard let format = value("format") else {
            throw CXRError.invalidModel("metadata has no \"format\"; not a \(formatVersion) model")
        }
        guard format == formatVersion else {
            throw CXRError.invalidModel("metadata format is \"\(format)\"; this library reads \(formatVersion)")
        }
        var problems: [String] = []
        for entry in entries where !knownKeys.contains(entry.key) {
            problems.append("unknown metadata key \"\(entry.key)\" (ignored)")
        }

        let (config, configProblems) = try ModelConfig.parse(metadataJSON: try required("config"), support: support)
        problems += configProblems

        let tokens = try stringArray(try json("vocab"), key: "vocab", limit: largestVocabulary)
        guard tokens.count >= 4 else {
            throw CXRError.invalidModel("metadata vocab has \(tokens.count) tokens; at least the 4 special tokens are required")
        }
        var seen = Set<String>()
        var duplicates: [String] = []
        for token in tokens where !seen.insert(token).inserted { duplicates.append(token) }
        if !duplicates.isEmpty {
            problems.append("vocab has \(duplicates.count) duplicate token(s), first \"\(duplicates[0])\"")
        }
        if tokens.contains("") { problems.append("vocab contains an empty token") }

        let special = try specialTokenIDs(try json("special_tokens"), vocabularySize: tokens.count,
                                          problems: &problems)

        let joinText = try required("join")
        let join: JoinRule
        switch joinText {
        case "": join = .concatenate
        case " ": join = .spaceSeparated
        default:
            throw CXRError.invalidModel("metadata join is \(JSONValue.string(joinText).serialized); "
                + "expected \"\" (concatenate) or \" \" (space-separated)")
        }
        if let tokenizer = value("tokenizer") {
            switch (tokenizer, join) {
            case ("en", .spaceSeparated), ("zh", .concatenate): break
            case ("en", _), ("zh", _):
                problems.append("tokenizer \"\(tokenizer)\" does not match join \(JSONValue.string(joinText).serialized)")
            default:
                problems.append("unknown tokenizer \"\(tokenizer)\" (expected en or zh)")
            }
        }

        var labels: [String]? = nil
        if value("labels") != nil {
            let names = try stringArray(try json("labels"), key: "labels", limit: largestLabelCount)
            guard !names.isEmpty else {
                throw CXRError.invalidModel("metadata labels is an empty array; omit it when there is no findings head")
            }
            // Labels name the head's outputs: callers look them up by name (the CLI's findings map).
            var seen = Set<String>()
            for (index, name) in names.enumerated() where !seen.insert(name).inserted {
                throw CXRError.invalidModel("metadata labels repeat \"\(name)\" (at index \(index)); each label must be unique")
            }
            labels = names
        }

        var generation = RecommendedGeneration()
        if let text = value("generation") {
            let (settings, generationProblems) = try RecommendedGeneration.parse(text)
            generation = settings
            problems += generationProblems
        }

        let vocabulary = Vocabulary(tokens: tokens, padID: special.pad, startID: special.start, endID: special.end,
                                    unknownID: special.nou, join: join)
        return ModelMetadata(formatVersion: format, config: config, vocabulary: vocabulary, labels: labels,
                             generation: generation, problems: problems)
    }

    private static func stringArray(_ value: JSONValue, key: String, limit: Int) throws -> [String] {
        guard case .array(let elements) = value else {
            throw CXRError.invalidModel("metadata \(key) is a JSON \(value.typeName), expected an array of strings")
        }
        guard elements.count <= limit else {
            throw CXRError.invalidModel("metadata \(key) has \(elements.count) entries, more than \(limit)")
        }
        return try elements.enumerated().map { index, element in
            guard case .string(let text) = element else {
                throw CXRError.invalidModel("metadata \(key)[\(index)] is a JSON \(element.typeName), expected a string")
            }
            // C callers receive tokens and labels as NUL-terminated strings, which a NUL would cut short.
            if text.utf8.contains(0) {
                throw CXRError.invalidModel("metadata \(key)[\(index)] contains a NUL character")
            }
            return text
        }
    }

    private static func specialTokenIDs(
        _ value: JSONValue, vocabularySize: Int, problems: inout [String]
    ) throws -> (pad: Int, start: Int, end: Int, nou: Int) {
        guard case .object(let object) = value else {
            throw CXRError.invalidModel("metadata special_tokens is a JSON \(value.typeName), expected an object")
        }
        let names = ["pad", "start", "end", "nou"]
        for key in object.keys where !names.contains(key) {
            problems.append("special_tokens has unknown key \"\(key)\" (ignored)")
        }
        var ids: [Int] = []
        for name in names {
            guard let entry = object[name] else {
                throw CXRError.invalidModel("metadata special_tokens is missing \"\(name)\"")
            }
            guard let id = entry.integerValue else {
                throw CXRError.invalidModel("special token \(name) is \(entry.serialized), expected an integer id")
            }
            guard id >= 0 && id < vocabularySize else {
                throw CXRError.invalidModel("special token \(name) id \(id) is outside the vocabulary of "
                    + "\(vocabularySize) tokens")
            }
            if let other = ids.firstIndex(of: id) {
                throw CXRError.invalidModel("special tokens \(names[other]) and \(name) share id \(id); ids must be distinct")
            }
            ids.append(id)
        }
        return (ids[0], ids[1], ids[2], ids[3])
    }
}
