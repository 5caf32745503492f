import Foundation

/// The one text form both sides of a reader study are shown in, so that nothing in a report's formatting
/// tells a reader whether the model or a radiologist wrote it.
///
/// A model writes lowercased tokens joined by spaces ("no acute disease ."); a radiologist writes
/// "No acute disease". Both go through the same steps:
/// 1. runs of two or more X's (the IU collection's redaction mark) become "xxxx", then everything is
///    lowercased and split into tokens exactly as the trainer's English tokenizer splits
///    (`cxrcaption_train.tokenize.tokenize_en`): decimal numbers, words with inner `'`, `/`, `-`, single
///    punctuation characters;
/// 2. the model's unknown-word token `<nou>` and any other `<...>` special is dropped;
/// 3. tokens are joined with one space, except that closing punctuation (`. , ; : ! ? )` and `%`) sticks
///    to the word before it and `(` to the word after it; repeated sentence ends collapse to one;
/// 4. leading and trailing punctuation and whitespace are removed and exactly one "." ends the text;
/// 5. the first letter of the text and of every sentence is capitalised, and "xxxx" is shown as "XXXX".
enum ReaderStudyText {
    static let closing: Set<String> = [".", ",", ";", ":", "!", "?", ")", "%"]
    static let sentenceEnds: Set<String> = [".", "!", "?"]

    /// Tokens of `text` by the trainer's English rule (lowercased, redactions kept as "xxxx").
    static func tokens(_ text: String) -> [String] {
        var scalars: [Unicode.Scalar] = []
        // Redaction runs first, on the original case (only capital X's mark a redaction).
        var xRun = 0
        func flushX() {
            if xRun >= 2 { scalars.append(contentsOf: "xxxx".unicodeScalars) }
            else if xRun == 1 { scalars.append("x") }
            xRun = 0
        }
        for scalar in text.unicodeScalars {
            if scalar == "X" { xRun += 1; continue }
            flushX()
            scalars.append(scalar)
        }
        flushX()
        let lowered = String(String.UnicodeScalarView(scalars)).lowercased()
        return tokenizeLowercased(Array(lowered.unicodeScalars))
    }

    private static func isAlnum(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("0"..."9").contains(s)
    }
    private static func isDigit(_ s: Unicode.Scalar) -> Bool { ("0"..."9").contains(s) }

    /// `\d+(?:\.\d+)+|[a-z0-9]+(?:['/\-][a-z0-9]+)*|[^\sa-z0-9]`, leftmost alternative first.
    private static func tokenizeLowercased(_ s: [Unicode.Scalar]) -> [String] {
        var tokens: [String] = []
        var i = 0
        func string(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(s[range])) }
        while i < s.count {
            let c = s[i]
            if c.properties.isWhitespace { i += 1; continue }
            if isDigit(c) {
                // A decimal number: digits, then one or more ".digits".
                var j = i
                while j < s.count, isDigit(s[j]) { j += 1 }
                var end = j
                while end + 1 < s.count, s[end] == ".", isDigit(s[end + 1]) {
                    end += 1
                    while end < s.count, isDigit(s[end]) { end += 1 }
                }
                if end > j { tokens.append(string(i..<end)); i = end; continue }
            }
            if isAlnum(c) {
                var j = i
                while j < s.count, isAlnum(s[j]) { j += 1 }
                while j + 1 < s.count, s[j] == "'" || s[j] == "/" || s[j] == "-", isAlnum(s[j + 1]) {
                    j += 1
                    while j < s.count, isAlnum(s[j]) { j += 1 }
                }
                tokens.append(string(i..<j))
                i = j
                continue
            }
            tokens.append(String(c))
            i += 1
        }
        return tokens
    }

    /// The display form of `text` (see the type's comment); "" when it has no word at all.
    static func normalize(_ text: String) -> String {
        // Specials such as "<nou>" arrive as "<", "nou", ">"; drop the three together.
        var raw = tokens(text)
        var kept: [String] = []
        var i = 0
        while i < raw.count {
            if raw[i] == "<", i + 2 < raw.count, raw[i + 2] == ">", raw[i + 1].unicodeScalars.allSatisfy(isAlnum) {
                i += 3
                continue
            }
            kept.append(raw[i])
            i += 1
        }
        raw = kept
        // Leading punctuation and trailing punctuation go; the text then ends with exactly one ".".
        while let first = raw.first, first.count == 1, !first.unicodeScalars.allSatisfy(isAlnum), first != "(" {
            raw.removeFirst()
        }
        while let last = raw.last, last.count == 1, !last.unicodeScalars.allSatisfy(isAlnum), last != ")" {
            raw.removeLast()
        }
        guard raw.contains(where: { $0.unicodeScalars.contains(where: isAlnum) }) else { return "" }
        raw.append(".")

        var out = ""
        var capitalizeNext = true
        var previous: String?
        for token in raw {
            if sentenceEnds.contains(token), let previous, sentenceEnds.contains(previous) { continue }
            var word = token == "xxxx" ? "XXXX" : token
            if capitalizeNext, word.first?.isLetter == true {
                word = word.prefix(1).uppercased() + word.dropFirst()
                capitalizeNext = false
            }
            let attachLeft = closing.contains(token) || previous == "("
            if !out.isEmpty && !attachLeft { out += " " }
            out += word
            // "1." in a numbered list is a sentence end too: the item that follows starts with a capital.
            if sentenceEnds.contains(token) { capitalizeNext = true }
            previous = token
        }
        return out.replacingOccurrences(of: "xxxx", with: "XXXX")
    }
}
