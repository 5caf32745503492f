/// The longest n-gram the metrics use (CIDEr and BLEU use n = 1...4).
let maximumNGramOrder = 4

/// Integer ids for tokens, shared by everything scored together, so n-grams compare as integers.
struct TokenInterner {
    private var ids: [ExactText: Int32] = [:]

    mutating func id(of token: String) -> Int32 {
        let key = ExactText(token)
        if let id = ids[key] { return id }
        let id = Int32(truncatingIfNeeded: ids.count)
        ids[key] = id
        return id
    }

    /// The id of `token` if it has been seen, without adding it.
    func existingID(of token: String) -> Int32? { ids[ExactText(token)] }

    mutating func ids(of tokens: [String]) -> [Int32] { tokens.map { id(of: $0) } }
}

/// An n-gram of 1...4 interned tokens.
struct NGram: Hashable, Sendable {
    /// n, 1...4.
    let order: Int
    private let t0: Int32, t1: Int32, t2: Int32, t3: Int32

    /// The n-gram `tokens[start ..< start + order]`.
    init(_ tokens: [Int32], start: Int, order: Int) {
        precondition(order >= 1 && order <= maximumNGramOrder, "n-gram order \(order) is outside 1...4")
        self.order = order
        t0 = tokens[start]
        t1 = order > 1 ? tokens[start + 1] : -1
        t2 = order > 2 ? tokens[start + 2] : -1
        t3 = order > 3 ? tokens[start + 3] : -1
    }
}

/// The n-gram counts of one token sequence for n = 1...4, in the order pycocoevalcap's `precook` first meets
/// them (all 1-grams left to right, then all 2-grams, ...), so sums over them add in the reference's order.
struct NGramCounts {
    /// The sequence's length in tokens.
    let tokenCount: Int
    /// Distinct n-grams in first-occurrence order, and their counts.
    private(set) var grams: [NGram] = []
    private(set) var counts: [Int] = []
    private var index: [NGram: Int] = [:]

    init(_ tokens: [Int32], maxOrder: Int = maximumNGramOrder) {
        tokenCount = tokens.count
        guard maxOrder >= 1 else { return }
        for order in 1...maxOrder where tokens.count >= order {
            for start in 0...(tokens.count - order) {
                let gram = NGram(tokens, start: start, order: order)
                if let position = index[gram] {
                    counts[position] += 1
                } else {
                    index[gram] = grams.count
                    grams.append(gram)
                    counts.append(1)
                }
            }
        }
    }

    /// How often `gram` occurs (0 when it does not).
    func count(of gram: NGram) -> Int {
        guard let position = index[gram] else { return 0 }
        return counts[position]
    }
}
