/// A string compared and hashed by its UTF-8 bytes.
///
/// Swift's `String` equality is canonical equivalence ("é" precomposed equals "e" + U+0301); the reference
/// scorer (Python) compares code points. Scoring keys n-grams by exact bytes so both agree on every input.
struct ExactText: Hashable, Sendable, Comparable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: ExactText, rhs: ExactText) -> Bool {
        lhs.text.utf8.elementsEqual(rhs.text.utf8)
    }

    /// Byte order, the order Python sorts UTF-8-encoded strings in.
    static func < (lhs: ExactText, rhs: ExactText) -> Bool {
        lhs.text.utf8.lexicographicallyPrecedes(rhs.text.utf8)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(text.utf8.count)
        for byte in text.utf8 { hasher.combine(byte) }
    }
}
