/// Which tokens of a caption get a heat-map panel, and why the others do not.
///
/// A caption that falls into a loop ("catheter catheter catheter ...", or a sentence said again and again
/// until max_tokens) would otherwise give one panel per token: 61 near-identical panels that bury the few
/// that matter. Panels stop at the first loop (`Loop`), and never exceed `limit`; `notes` says, in words for
/// the sheet, what was left out and why.
public struct HeatmapPanelPlan: Equatable, Sendable {
    /// A repetition: from token index `start` (0-based) the caption repeats the `period` tokens before it.
    public struct Loop: Equatable, Sendable {
        public let start: Int
        public let period: Int

        public init(start: Int, period: Int) {
            self.start = start
            self.period = period
        }
    }

    /// Tokens 0..<drawn get panels.
    public let drawn: Int
    public let total: Int
    public let loop: Loop?
    public let truncated: Bool
    public let limit: Int

    /// Limits of `limit` (the CLI's --heatmap-panels).
    public static let limitRange = 1...256

    public init(tokens: [Int], truncated: Bool, limit: Int) {
        precondition(limit > 0, "the panel limit must be positive")
        total = tokens.count
        self.truncated = truncated
        self.limit = limit
        loop = Self.firstLoop(tokens)
        drawn = min(loop?.start ?? tokens.count, limit)
    }

    /// The earliest token index p at which the caption starts repeating itself: the n tokens before p come
    /// again right from p (p >= n, tokens[p-n..<p] == tokens[p..<p+n]) for some n >= 2, or one token
    /// stands three times in a row (n = 1: tokens[p-1] == tokens[p] == tokens[p+1]; a word said twice,
    /// "right right", is a stutter, not yet a loop). Nil when there is no such p.
    public static func firstLoop(_ tokens: [Int]) -> Loop? {
        let count = tokens.count
        guard count >= 3 else { return nil }
        for p in 1..<count {
            if p + 1 < count && tokens[p - 1] == tokens[p] && tokens[p] == tokens[p + 1] {
                return Loop(start: p, period: 1)
            }
            var n = 2
            while n <= p && p + n <= count {
                if tokens[(p - n)..<p].elementsEqual(tokens[p..<(p + n)]) { return Loop(start: p, period: n) }
                n += 1
            }
        }
        return nil
    }

    /// Sentences for the sheet (empty when every token has a panel and the caption ended normally); token
    /// numbers are 1-based, as on the panels.
    public var notes: [String] {
        var notes: [String] = []
        if let loop, loop.start <= limit {
            let first = loop.start - loop.period + 1
            let repeated = loop.period == 1 ? "token \(loop.start)" : "tokens \(first)-\(loop.start)"
            notes.append("From token \(loop.start + 1) the caption repeats \(repeated) (a loop): "
                         + "\(total - drawn) more tokens not drawn.")
        } else if drawn < total {
            notes.append("Only the first \(drawn) of \(total) tokens drawn (--heatmap-panels \(limit)).")
        }
        if truncated { notes.append("The caption was cut at --max-tokens (no <end>).") }
        return notes
    }
}
