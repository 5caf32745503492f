import Foundation

/// The reader study's statistics (docs/READER_STUDY.md, "Analysis"): score distributions, shares with
/// bootstrap intervals, the Mann-Whitney U test, a permutation test on the share of 5s, weighted kappa.
enum ReaderStudyStatistics {
    /// Counts of the scores 1...5 (index 0 = score 1).
    static func distribution(_ scores: [Int]) -> [Int] {
        var counts = [Int](repeating: 0, count: 5)
        for s in scores { counts[s - 1] += 1 }
        return counts
    }

    static func share(_ scores: [Double], atLeast threshold: Double) -> Double {
        scores.isEmpty ? .nan : Double(scores.filter { $0 >= threshold }.count) / Double(scores.count)
    }

    /// Percentile bootstrap 95% interval of `statistic` over cases resampled with replacement.
    static func bootstrapInterval<T>(_ cases: [T], resamples: Int, random: inout ReaderStudyRandom,
                                     statistic: ([T]) -> Double) -> (low: Double, high: Double) {
        guard !cases.isEmpty else { return (.nan, .nan) }
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var sample = cases
        for _ in 0..<resamples {
            for i in sample.indices { sample[i] = cases[random.below(cases.count)] }
            values.append(statistic(sample))
        }
        values.sort()
        return (quantile(values, 0.025), quantile(values, 0.975))
    }

    /// Linear interpolation between order statistics (numpy's default, "linear").
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }

    struct MannWhitney {
        /// U of the first sample: pairs (a, b) with a > b, plus half the ties.
        var u: Double
        /// U / (n1 n2): the chance that a random first-sample case scores above a random second-sample one
        /// (ties counted half); 0.5 = no difference.
        var superiority: Double
        var z: Double
        /// Two-sided, normal approximation with the tie correction and a continuity correction of 0.5.
        var p: Double
    }

    /// Mann-Whitney U of `a` against `b` (midranks for ties).
    static func mannWhitney(_ a: [Double], _ b: [Double]) -> MannWhitney {
        let n1 = Double(a.count), n2 = Double(b.count)
        guard n1 > 0, n2 > 0 else { return MannWhitney(u: .nan, superiority: .nan, z: .nan, p: .nan) }
        let all = (a.map { ($0, 0) } + b.map { ($0, 1) }).sorted { $0.0 < $1.0 }
        var ranks = [Double](repeating: 0, count: all.count)
        var tieTerm = 0.0
        var i = 0
        while i < all.count {
            var j = i
            while j + 1 < all.count, all[j + 1].0 == all[i].0 { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { ranks[k] = rank }
            let t = Double(j - i + 1)
            tieTerm += t * t * t - t
            i = j + 1
        }
        var rankSumA = 0.0
        for (k, item) in all.enumerated() where item.1 == 0 { rankSumA += ranks[k] }
        let u = rankSumA - n1 * (n1 + 1) / 2
        let n = n1 + n2
        let mean = n1 * n2 / 2
        let variance = n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
        guard variance > 0 else { return MannWhitney(u: u, superiority: u / (n1 * n2), z: 0, p: 1) }
        let deviation = u - mean
        let corrected = max(abs(deviation) - 0.5, 0)
        let z = (deviation < 0 ? -corrected : corrected) / variance.squareRoot()
        return MannWhitney(u: u, superiority: u / (n1 * n2), z: z, p: min(1, erfc(abs(z) / 2.squareRoot())))
    }

    /// Two-sided permutation test of a difference of means between `a` and `b` (the origin labels
    /// shuffled `permutations` times): p = (1 + #{|d*| >= |d|}) / (1 + permutations).
    static func permutationTest(_ a: [Double], _ b: [Double], permutations: Int,
                                random: inout ReaderStudyRandom) -> (difference: Double, p: Double) {
        guard !a.isEmpty, !b.isEmpty else { return (.nan, .nan) }
        func mean(_ x: ArraySlice<Double>) -> Double { x.reduce(0, +) / Double(x.count) }
        var pooled = a + b
        let observed = mean(pooled[0..<a.count]) - mean(pooled[a.count...])
        var extreme = 0
        for _ in 0..<permutations {
            random.shuffle(&pooled)
            let d = mean(pooled[0..<a.count]) - mean(pooled[a.count...])
            if abs(d) >= abs(observed) - 1e-12 { extreme += 1 }
        }
        return (observed, Double(1 + extreme) / Double(1 + permutations))
    }

    /// Cohen's kappa of paired scores 1...5 with weights 1 - |i-j|^power / 4^power (power 1: linear, 2:
    /// quadratic); nan when the readers' marginals leave no room for disagreement (both constant).
    static func weightedKappa(_ pairs: [(Int, Int)], power: Double) -> Double {
        guard !pairs.isEmpty else { return .nan }
        var observed = [[Double]](repeating: [Double](repeating: 0, count: 5), count: 5)
        var rows = [Double](repeating: 0, count: 5), columns = [Double](repeating: 0, count: 5)
        let n = Double(pairs.count)
        for (x, y) in pairs {
            observed[x - 1][y - 1] += 1 / n
            rows[x - 1] += 1 / n
            columns[y - 1] += 1 / n
        }
        var disagreeObserved = 0.0, disagreeExpected = 0.0
        for i in 0..<5 {
            for j in 0..<5 {
                let w = pow(Double(abs(i - j)) / 4, power)
                disagreeObserved += w * observed[i][j]
                disagreeExpected += w * rows[i] * columns[j]
            }
        }
        guard disagreeExpected > 0 else { return .nan }
        return 1 - disagreeObserved / disagreeExpected
    }
}
