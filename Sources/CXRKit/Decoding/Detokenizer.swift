import CXRModel
import CXRSupport

/// Token ids -> text, by the model's join rule (docs/DECODING.md, "Text").
extension Vocabulary {
    /// The characters that make a token punctuation under the English join rule.
    static let attachedPunctuation: Set<Unicode.Scalar> = [".", ",", ";", ":", "!", "?", "%", ")", "]"]

    /// Whether `token` is made only of `. , ; : ! ? % ) ]` (and is not empty), so that the English join
    /// attaches it to the previous token without a space.
    static func attachesToPrevious(_ token: String) -> Bool {
        !token.isEmpty && token.unicodeScalars.allSatisfy { attachedPunctuation.contains($0) }
    }

    /// The text of a token sequence: `<pad>`, `<start>` and `<end>` are left out, `<nou>` is written as
    /// `<nou>`, and the rest are joined by `join` (Chinese: concatenated; English: one space between tokens,
    /// punctuation attached to the previous token). Throws `invalidArgument` for an id outside the vocabulary.
    public func text(for tokenIDs: [Int]) throws -> String {
        var text = ""
        for id in tokenIDs {
            guard id >= 0, id < count else {
                throw CXRError.invalidArgument("token id \(id) is outside 0..<\(count)")
            }
            if id == padID || id == startID || id == endID { continue }
            let piece = id == unknownID ? "<nou>" : tokens[id]
            if join == .spaceSeparated, !text.isEmpty, !Vocabulary.attachesToPrevious(piece) {
                text += " "
            }
            text += piece
        }
        return text
    }
}
