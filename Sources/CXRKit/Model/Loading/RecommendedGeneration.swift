import CXRSupport

/// The decoding settings a weights file recommends (its optional `generation` metadata, docs/WEIGHTS.md; like
/// Hugging Face's `generation_config`). Each is nil when the file does not name it. A caller applies them
/// only when it asks to (`use_model_defaults`); the library's own defaults stay the plain beam search.
public struct RecommendedGeneration: Equatable, Sendable {
    public var maxTokens: Int?
    public var lengthPenalty: Double?
    public var suppressUnknown: Bool?
    public var noRepeatNgramSize: Int?
    public var distinctResults: Bool?
    public var distinctExtraBeam: Int?

    public init() {}

    /// The keys `generation` may hold (the C field names, as `cxr_generate_params` spells them).
    package static let keys = ["max_tokens", "length_penalty", "suppress_unknown", "no_repeat_ngram_size",
                               "distinct_results", "distinct_extra_beam"]

    /// Whether it names no setting.
    public var isEmpty: Bool { self == RecommendedGeneration() }

    /// Parses the `generation` metadata value: a JSON object whose keys are `keys` (integers, a number for
    /// length_penalty, booleans for suppress_unknown and distinct_results). A value of the wrong type is an
    /// `invalidModel` error naming the key; an unknown key is a problem (reported, ignored). Ranges are
    /// checked by the facade, which owns the generation limits.
    package static func parse(_ text: String) throws -> (RecommendedGeneration, problems: [String]) {
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONParser.parse(text)
        } catch {
            throw CXRError.invalidModel("metadata generation is not valid JSON: \(error)")
        }
        guard let object = value.objectValue else {
            throw CXRError.invalidModel("metadata generation is \(value.typeName), expected an object")
        }
        var settings = RecommendedGeneration()
        var problems: [String] = []
        func integer(_ key: String, _ entry: JSONValue) throws -> Int {
            guard let number = entry.integerValue else {
                throw CXRError.invalidModel("metadata generation \(key) is \(entry.typeName), expected an integer")
            }
            return number
        }
        func boolean(_ key: String, _ entry: JSONValue) throws -> Bool {
            guard case .bool(let flag) = entry else {
                throw CXRError.invalidModel("metadata generation \(key) is \(entry.typeName), expected true or false")
            }
            return flag
        }
        for (key, entry) in object.members {
            switch key {
            case "max_tokens": settings.maxTokens = try integer(key, entry)
            case "length_penalty":
                guard let number = entry.doubleValue else {
                    throw CXRError.invalidModel("metadata generation \(key) is \(entry.typeName), expected a number")
                }
                settings.lengthPenalty = number
            case "suppress_unknown": settings.suppressUnknown = try boolean(key, entry)
            case "no_repeat_ngram_size": settings.noRepeatNgramSize = try integer(key, entry)
            case "distinct_results": settings.distinctResults = try boolean(key, entry)
            case "distinct_extra_beam": settings.distinctExtraBeam = try integer(key, entry)
            default: problems.append("unknown metadata generation key \"\(key)\" (ignored)")
            }
        }
        return (settings, problems)
    }
}
