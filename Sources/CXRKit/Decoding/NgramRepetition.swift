/// docs/DECODING.md, rule 2a (Hugging Face's `no_repeat_ngram_size`): the tokens that would complete an
/// n-gram the hypothesis already contains.
enum NgramRepetition {
    /// Writes into `banned` (emptied first) every w such that the last n - 1 tokens followed by w occur in
    /// `tokens`; a token may be written more than once. Nothing when n == 0 or fewer than n - 1 tokens were
    /// emitted; for n == 1, every emitted token. O(tokens x n), no allocation once `banned` has grown.
    static func tokens(completingRepeatsIn tokens: [Int], size n: Int, into banned: inout [Int]) {
        banned.removeAll(keepingCapacity: true)
        guard n >= 1, tokens.count >= n - 1 else { return }
        let prefixStart = tokens.count - (n - 1)
        var start = 0
        while start + n <= tokens.count {
            var matches = true
            for offset in 0..<(n - 1) where tokens[start + offset] != tokens[prefixStart + offset] {
                matches = false
                break
            }
            if matches { banned.append(tokens[start + n - 1]) }
            start += 1
        }
    }
}
