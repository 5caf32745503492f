/// How Han characters (CJK ideographs) become scoring tokens.
public enum HanTokenization: String, Equatable, Sendable, CaseIterable {
    /// Every Han character is a token of its own (for unsegmented Chinese such as the model's output,
    /// whose join rule concatenates tokens).
    case characters
    /// Han characters are ordinary word characters: runs of them separated by spaces or punctuation are
    /// tokens (for Chinese that is already segmented with spaces, e.g. by jieba).
    case words
}

/// The one tokenizer used for scoring captions (CIDEr-D, CIDEr, BLEU, ROUGE-L).
///
/// The rule (also written in docs/METRICS.md), applied to the text's Unicode scalars:
/// 1. A scalar is a *word scalar* when its general category is a letter (L*), a mark (M*) or a number (N*).
///    Every other scalar (punctuation, symbols, spaces, controls, unassigned) separates tokens and is dropped.
/// 2. A token is a maximal run of word scalars. With `HanTokenization.characters`, a scalar in the Han ranges
///    U+3400-4DBF, U+4E00-9FFF, U+F900-FAFF, U+20000-3FFFF is a token by itself instead.
/// 3. Each token is lowercased scalar by scalar with the Unicode full lowercase mapping.
///
/// So `"Heart size is normal. No XXXX, 1.5 cm."` gives `heart size is normal no xxxx 1 5 cm`. Tokens never
/// contain whitespace, so joining them with single spaces and splitting again gives them back.
public struct ScoringTokenizer: Equatable, Sendable {
    public var han: HanTokenization

    public init(han: HanTokenization = .characters) {
        self.han = han
    }

    /// A short description that names the rule, recorded in reports and document-frequency tables.
    public var name: String { "cxrcaption-scoring-1 han=\(han.rawValue)" }

    /// The scoring tokens of `text`, lowercased, punctuation dropped.
    public func tokens(in text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        for scalar in text.unicodeScalars {
            if han == .characters && Self.isHan(scalar) {
                if !current.isEmpty { tokens.append(current); current = "" }
                tokens.append(scalar.properties.lowercaseMapping)
            } else if Self.isWordScalar(scalar) {
                current += scalar.properties.lowercaseMapping
            } else if !current.isEmpty {
                tokens.append(current)
                current = ""
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    /// Letters, marks and numbers (general categories L*, M*, N*).
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// The Han ranges: CJK Unified Ideographs and Extension A, the compatibility ideographs, and the
    /// supplementary and tertiary ideographic planes.
    static func isHan(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x3FFFF: return true
        default: return false
        }
    }
}
