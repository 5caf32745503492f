/// Keeps the m best beam candidates seen so far (docs/DECODING.md, rule 3): higher score first, ties
/// broken by the smaller flat index. Candidates must be offered in increasing flat index.
struct CandidateSelection {
    struct Candidate: Equatable {
        var score: Double
        var flatIndex: Int
    }

    /// The best candidates so far, best first.
    private(set) var chosen: [Candidate] = []
    private var limit = 0

    init(capacity: Int) {
        chosen.reserveCapacity(capacity)
    }

    /// Forgets all candidates; keeps at most `count` from now on.
    mutating func reset(keeping count: Int) {
        chosen.removeAll(keepingCapacity: true)
        limit = count
    }

    /// Considers one candidate. NaN scores rank below every number.
    mutating func offer(score: Double, flatIndex: Int) {
        let score = score.isNaN ? -Double.infinity : score
        if chosen.count == limit {
            // A later candidate loses ties, so it must be strictly better than the worst kept one.
            guard let worst = chosen.last, score > worst.score else { return }
            chosen.removeLast()
        }
        var position = chosen.count
        while position > 0, chosen[position - 1].score < score { position -= 1 }
        chosen.insert(Candidate(score: score, flatIndex: flatIndex), at: position)
    }
}
