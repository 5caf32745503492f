import Foundation

/// Every number of the analysis, computed once; the summary, the JSON and the figure all read from here.
struct ReaderStudyAnalysis {
    static let origins = ["model", "human"]

    struct Interval { var value: Double; var low: Double; var high: Double }

    struct Group {
        /// A reader's id, or "all readers".
        var reader: String
        var origin: String
        var cases: Int
        /// Counts of the scores 1...5 (for all readers: every score given, so up to readers x cases).
        var distribution: [Int]
        var shareOf5: Interval
        var shareAtLeast4: Interval
        var meanScore: Double
    }

    struct Comparison {
        var reader: String
        var modelCases: Int
        var humanCases: Int
        var mannWhitney: ReaderStudyStatistics.MannWhitney
        var share5Difference: Double
        var share5PermutationP: Double
    }

    struct Agreement {
        var readers: (String, String)
        var cases: Int
        var quadratic: Double
        var linear: Double
        var exact: Double
    }

    var key: ReaderStudyKey
    var readers: [ReaderScores]
    var groups: [Group] = []
    var comparisons: [Comparison] = []
    var agreements: [Agreement] = []
    var resamples: Int
    var permutations: Int
    var seed: UInt64

    static let allReaders = "all readers"

    init(key: ReaderStudyKey, readers: [ReaderScores], resamples: Int, permutations: Int, seed: UInt64) {
        self.key = key
        self.readers = readers
        self.resamples = resamples
        self.permutations = permutations
        self.seed = seed
        var random = ReaderStudyRandom(seed: seed, stream: 3)
        let ids = key.origins.keys.sorted { key.caseNumbers[$0]! < key.caseNumbers[$1]! }

        // Per case, the scores it got (one per reader who scored it).
        func caseScores(_ origin: String, _ among: [ReaderScores]) -> [[Int]] {
            ids.filter { key.origins[$0] == origin }.map { id in among.compactMap { $0.scores[id] } }.filter { !$0.isEmpty }
        }
        func group(_ name: String, _ origin: String, _ among: [ReaderScores]) -> Group {
            let perCase = caseScores(origin, among)
            let flat = perCase.flatMap { $0 }
            // A case's share is the share of its readers' scores; the group's, the mean over cases of
            // that (equal to the plain share when every reader scored every case).
            func share(_ sample: [[Int]], _ threshold: Int) -> Double {
                let total = sample.reduce(0) { $0 + $1.count }
                return total == 0 ? .nan : Double(sample.reduce(0) { $0 + $1.filter { $0 >= threshold }.count }) / Double(total)
            }
            let five = ReaderStudyStatistics.bootstrapInterval(perCase, resamples: resamples, random: &random) { share($0, 5) }
            let four = ReaderStudyStatistics.bootstrapInterval(perCase, resamples: resamples, random: &random) { share($0, 4) }
            return Group(reader: name, origin: origin, cases: perCase.count,
                         distribution: ReaderStudyStatistics.distribution(flat),
                         shareOf5: Interval(value: share(perCase, 5), low: five.low, high: five.high),
                         shareAtLeast4: Interval(value: share(perCase, 4), low: four.low, high: four.high),
                         meanScore: flat.isEmpty ? .nan : Double(flat.reduce(0, +)) / Double(flat.count))
        }
        func comparison(_ name: String, _ among: [ReaderScores]) -> Comparison {
            // One value per case: its score (one reader) or its readers' mean score (several), so the
            // cases, not the scores, are the independent units.
            let model = caseScores("model", among).map { Double($0.reduce(0, +)) / Double($0.count) }
            let human = caseScores("human", among).map { Double($0.reduce(0, +)) / Double($0.count) }
            let five = { (scores: [[Int]]) in scores.map { Double($0.filter { $0 == 5 }.count) / Double($0.count) } }
            let permutation = ReaderStudyStatistics.permutationTest(five(caseScores("model", among)), five(caseScores("human", among)),
                                                                    permutations: permutations, random: &random)
            return Comparison(reader: name, modelCases: model.count, humanCases: human.count,
                              mannWhitney: ReaderStudyStatistics.mannWhitney(model, human),
                              share5Difference: permutation.difference, share5PermutationP: permutation.p)
        }
        var names = readers.map { ($0.reader, [$0]) }
        if readers.count > 1 { names.append((Self.allReaders, readers)) }
        for (name, among) in names {
            for origin in Self.origins { groups.append(group(name, origin, among)) }
            comparisons.append(comparison(name, among))
        }
        for i in readers.indices {
            for j in readers.indices where j > i {
                let pairs = ids.compactMap { id -> (Int, Int)? in
                    guard let a = readers[i].scores[id], let b = readers[j].scores[id] else { return nil }
                    return (a, b)
                }
                agreements.append(Agreement(readers: (readers[i].reader, readers[j].reader), cases: pairs.count,
                                            quadratic: ReaderStudyStatistics.weightedKappa(pairs, power: 2),
                                            linear: ReaderStudyStatistics.weightedKappa(pairs, power: 1),
                                            exact: pairs.isEmpty ? .nan : Double(pairs.filter { $0.0 == $0.1 }.count) / Double(pairs.count)))
            }
        }
    }

    static func percent(_ x: Double) -> String { x.isNaN ? "-" : String(format: "%.1f%%", 100 * x) }
    static func number(_ x: Double, _ digits: Int = 3) -> String { x.isNaN ? "undefined" : String(format: "%.\(digits)f", x) }
    static func pValue(_ p: Double) -> String { p.isNaN ? "-" : (p < 0.0001 ? "< 0.0001" : String(format: "%.4f", p)) }

    func markdown(figure: String) -> String {
        var s = "# Reader study: model vs human impressions\n\n"
        s += "Packet `\(key.packet)`, seed \(key.seed), model `\(key.model)` (SHA-256 `\(key.modelSHA256.prefix(16))...`); "
        s += "\(key.origins.values.filter { $0 == "model" }.count) model and \(key.origins.values.filter { $0 == "human" }.count) human cases; "
        s += "readers: " + readers.map { "\($0.reader) (\($0.scores.count) scored" + ($0.unscored > 0 ? ", \($0.unscored) unscored" : "") + ")" }.joined(separator: ", ") + ".\n\n"
        s += "## Scores\n\n| reader | origin | cases | 1 | 2 | 3 | 4 | 5 | mean | share of 5s (95% CI) | share >= 4 (95% CI) |\n"
        s += "|---|---|---|---|---|---|---|---|---|---|---|\n"
        for g in groups {
            s += "| \(g.reader) | \(g.origin) | \(g.cases) | " + g.distribution.map(String.init).joined(separator: " | ")
            s += " | \(Self.number(g.meanScore, 2)) | \(Self.percent(g.shareOf5.value)) (\(Self.percent(g.shareOf5.low))-\(Self.percent(g.shareOf5.high)))"
            s += " | \(Self.percent(g.shareAtLeast4.value)) (\(Self.percent(g.shareAtLeast4.low))-\(Self.percent(g.shareAtLeast4.high))) |\n"
        }
        s += "\nIntervals: percentile bootstrap, \(resamples) resamples of the cases (for all readers, a case keeps all its scores).\n\n"
        s += "## Model vs human\n\n| reader | model / human cases | Mann-Whitney U | P(model > human) | z | p (two-sided) | share of 5s, model - human | permutation p |\n"
        s += "|---|---|---|---|---|---|---|---|\n"
        for c in comparisons {
            s += "| \(c.reader) | \(c.modelCases) / \(c.humanCases) | \(Self.number(c.mannWhitney.u, 1)) | \(Self.number(c.mannWhitney.superiority)) | "
            s += "\(Self.number(c.mannWhitney.z, 2)) | \(Self.pValue(c.mannWhitney.p)) | \(Self.percent(c.share5Difference)) | \(Self.pValue(c.share5PermutationP)) |\n"
        }
        s += "\nMann-Whitney U (Wilcoxon rank-sum): the scores are ordinal (a 5 is not \"one more\" than a 4), the model and human "
        s += "cases are different studies, so the two samples are independent, and the test assumes no distribution; ties get midranks, "
        s += "p from the normal approximation with tie and continuity corrections. With several readers each case enters once, as its "
        s += "readers' mean score. P(model > human) = U / (n_model n_human), ties counted half; 0.5 means no difference. "
        s += "The permutation test (\(permutations) shuffles of the origin labels) tests the published headline number, the share of 5s, directly.\n\n"
        if !agreements.isEmpty {
            s += "## Agreement between readers\n\n| readers | cases both scored | weighted kappa (quadratic) | weighted kappa (linear) | exact agreement |\n|---|---|---|---|---|\n"
            for a in agreements {
                s += "| \(a.readers.0) vs \(a.readers.1) | \(a.cases) | \(Self.number(a.quadratic)) | \(Self.number(a.linear)) | \(Self.percent(a.exact)) |\n"
            }
            s += "\nWeighted Cohen's kappa on the 5 ordered scores: weights 1 - (|i - j| / 4)^2 (quadratic) or 1 - |i - j| / 4 (linear); 1 = perfect agreement, 0 = chance.\n\n"
        }
        s += "## Figure\n\n![Score distributions, model vs human](\(figure))\n"
        return s
    }

    func json() -> [String: Any] {
        func nanless(_ x: Double) -> Any { x.isNaN ? NSNull() : x }
        func interval(_ i: Interval) -> [String: Any] { ["value": nanless(i.value), "low": nanless(i.low), "high": nanless(i.high)] }
        return [
            "packet": key.packet, "bootstrap_resamples": resamples, "permutations": permutations, "seed": seed,
            "readers": readers.map { ["reader": $0.reader, "scored": $0.scores.count, "unscored": $0.unscored] },
            "groups": groups.map { ["reader": $0.reader, "origin": $0.origin, "cases": $0.cases, "distribution": $0.distribution,
                                    "mean": nanless($0.meanScore), "share_of_5": interval($0.shareOf5),
                                    "share_at_least_4": interval($0.shareAtLeast4)] },
            "comparisons": comparisons.map { ["reader": $0.reader, "model_cases": $0.modelCases, "human_cases": $0.humanCases,
                                              "mann_whitney_u": nanless($0.mannWhitney.u), "superiority": nanless($0.mannWhitney.superiority),
                                              "z": nanless($0.mannWhitney.z), "p": nanless($0.mannWhitney.p),
                                              "share_of_5_difference": nanless($0.share5Difference),
                                              "share_of_5_permutation_p": nanless($0.share5PermutationP)] },
            "agreements": agreements.map { ["readers": [$0.readers.0, $0.readers.1], "cases": $0.cases,
                                            "kappa_quadratic": nanless($0.quadratic), "kappa_linear": nanless($0.linear),
                                            "exact": nanless($0.exact)] },
        ]
    }
}
