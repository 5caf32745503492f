/// pycocoevalcap's ROUGE-L (`Rouge.calc_score`): F-measure with beta = 1.2 of the largest LCS precision and
/// the largest LCS recall over the references (each maximum taken separately).
///
/// pycocoevalcap splits text with `split(" ")`, so an empty sentence is one empty token: an empty candidate
/// scores 0 against non-empty references and 1 against an empty one. This is reproduced.
enum ROUGEL {
    static let beta = 1.2

    /// The empty sentence's single empty token; no real token id is negative.
    private static let emptyToken: Int32 = -1

    static func score(candidate: [Int32], references: [[Int32]]) -> Double {
        precondition(!references.isEmpty, "ROUGE-L needs at least one reference")
        let candidateTokens = candidate.isEmpty ? [emptyToken] : candidate
        var bestPrecision = -Double.infinity
        var bestRecall = -Double.infinity
        for reference in references {
            let referenceTokens = reference.isEmpty ? [emptyToken] : reference
            let lcs = Double(longestCommonSubsequence(referenceTokens, candidateTokens))
            bestPrecision = max(bestPrecision, lcs / Double(candidateTokens.count))
            bestRecall = max(bestRecall, lcs / Double(referenceTokens.count))
        }
        guard bestPrecision != 0 && bestRecall != 0 else { return 0 }
        let betaSquared = beta * beta
        return ((1 + betaSquared) * bestPrecision * bestRecall) / (bestRecall + betaSquared * bestPrecision)
    }

    /// Length of the longest common subsequence, one row of the dynamic programme at a time.
    static func longestCommonSubsequence(_ a: [Int32], _ b: [Int32]) -> Int {
        guard !a.isEmpty && !b.isEmpty else { return 0 }
        var previous = Array(repeating: 0, count: b.count + 1)
        var current = previous
        for x in a {
            for j in 1...b.count {
                current[j] = x == b[j - 1] ? previous[j - 1] + 1 : max(previous[j], current[j - 1])
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
