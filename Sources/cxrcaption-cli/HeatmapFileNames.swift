import Foundation

/// File and folder names for heat maps: safe on every file system, still recognizable.
enum HeatmapFileNames {
    /// Punctuation tokens that would vanish when sanitized get a name.
    static let punctuationNames: [String: String] = [
        ".": "period", ",": "comma", ":": "colon", ";": "semicolon", "(": "lparen", ")": "rparen",
        "-": "hyphen", "/": "slash", "'": "apostrophe", "\"": "quote", "?": "question", "!": "exclamation",
        "%": "percent", "&": "and", "+": "plus", "。": "period", "，": "comma", "、": "comma", "：": "colon",
        "；": "semicolon", "（": "lparen", "）": "rparen",
    ]

    /// Letters and digits of any script and '-' kept; runs of anything else become one '_'; at most
    /// `limit` characters; `fallback` when nothing is left.
    static func sanitize(_ text: String, limit: Int = 40, fallback: String) -> String {
        var result = ""
        var pendingUnderscore = false
        for scalar in text.unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) || scalar == "-" {
                if pendingUnderscore && !result.isEmpty { result.append("_") }
                pendingUnderscore = false
                result.unicodeScalars.append(scalar)
            } else {
                pendingUnderscore = true
            }
        }
        result = String(result.prefix(limit))
        return result.isEmpty ? fallback : result
    }

    /// "03_effusion.png": the 1-based position, zero-padded to `digits`, and the sanitized token
    /// (a name for punctuation, "id<N>" when nothing printable is left).
    static func tokenFile(position: Int, digits: Int, token: String, id: Int) -> String {
        let number = String(position)
        let padded = String(repeating: "0", count: max(0, digits - number.count)) + number
        let name = punctuationNames[token] ?? sanitize(token, fallback: "id\(id)")
        return "\(padded)_\(name).png"
    }

    /// True for names `tokenFile` makes ("<digits>_<anything>.png"), so a rerun can replace them.
    static func isTokenFile(_ name: String) -> Bool {
        guard name.hasSuffix(".png"), let underscore = name.firstIndex(of: "_") else { return false }
        let number = name[..<underscore]
        return !number.isEmpty && number.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The sanitized file name of `imagePath` without its extension.
    static func imageStem(_ imagePath: String) -> String {
        let stem = ((imagePath as NSString).lastPathComponent as NSString).deletingPathExtension
        return sanitize(stem, limit: 80, fallback: "image")
    }
}
