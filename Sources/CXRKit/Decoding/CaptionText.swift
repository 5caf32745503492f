import CXRModel

/// What distinct results compare (docs/DECODING.md, rule 7): a caption's text without case, punctuation and
/// spacing differences, so that "No acute abnormality." and "no acute abnormality.." are one text.
public enum CaptionText {
    /// The text lowercased (Unicode lowercase mapping); every punctuation character (general category P*:
    /// Pc, Pd, Ps, Pe, Pi, Pf, Po) and every White_Space character is a separator; with the English join runs
    /// of separators become one space and leading and trailing ones are dropped, with the Chinese join
    /// separators are dropped. Symbols such as `<`, `>`, `+` are kept.
    public static func normalized(_ text: String, join: JoinRule) -> String {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.lowercased().unicodeScalars {
            if isSeparator(scalar) {
                if !current.isEmpty {
                    words.append(String(current))
                    current = String.UnicodeScalarView()
                }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words.joined(separator: join == .spaceSeparated ? " " : "")
    }

    /// Whether `captions` are `wanted` captions whose normalized texts are pairwise distinct: what a distinct
    /// search promises when it finds enough (the C API's `cxr_result_distinct`).
    public static func distinctComplete(_ captions: [Caption], wanted: Int, join: JoinRule) -> Bool {
        captions.count == wanted && Set(captions.map { normalized($0.text, join: join) }).count == captions.count
    }

    private static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isWhitespace { return true }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}
