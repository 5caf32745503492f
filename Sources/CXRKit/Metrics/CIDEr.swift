#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which CIDEr.
enum CIDErVariant {
    /// pycocoevalcap's `Cider` (CIDEr-D): candidate weights clipped at the reference's, and a Gaussian length
    /// penalty with sigma 6.
    case d
    /// The same without clipping and without the length penalty (the original CIDEr, still x10).
    case plain
}

/// CIDEr-D and CIDEr of candidates against their images' references, given the idf statistics, computed
/// exactly as pycocoevalcap's `CiderScorer.compute_cider` (same operations in the same order).
struct CIDErScorer {
    /// ln(N): N is the number of evaluated images, or of the table's documents.
    let logDocumentCount: Double
    /// n-gram -> number of documents whose references contain it.
    let documentFrequency: [NGram: Int]

    static let sigma = 6.0

    init(documentCount: Int, documentFrequency: [NGram: Int]) {
        logDocumentCount = log(Double(documentCount))
        self.documentFrequency = documentFrequency
    }

    /// Document frequencies counted over the evaluated references: `references[i]` are image i's.
    static func documentFrequency(ofReferences references: [[NGramCounts]]) -> [NGram: Int] {
        var frequency: [NGram: Int] = [:]
        for image in references {
            var seen = Set<NGram>()
            for reference in image { seen.formUnion(reference.grams) }
            for gram in seen { frequency[gram, default: 0] += 1 }
        }
        return frequency
    }

    /// pycocoevalcap's `counts2vec`: tf-idf weights per order, their norms, and "length", which is the
    /// number of bigrams (not words) in the sentence.
    struct Vector {
        /// Per order (index n - 1), the n-grams and weights in first-occurrence order.
        var entries: [[(gram: NGram, weight: Double)]] = Array(repeating: [], count: maximumNGramOrder)
        var weights: [NGram: Double] = [:]
        var norms: [Double] = Array(repeating: 0, count: maximumNGramOrder)
        var length = 0
    }

    func vector(_ counts: NGramCounts) -> Vector {
        var vector = Vector()
        for (gram, termFrequency) in zip(counts.grams, counts.counts) {
            let df = log(max(1.0, Double(documentFrequency[gram] ?? 0)))
            let n = gram.order - 1
            let weight = Double(termFrequency) * (logDocumentCount - df)
            vector.entries[n].append((gram, weight))
            vector.weights[gram] = weight
            vector.norms[n] += pow(weight, 2)
            if n == 1 { vector.length += termFrequency }
        }
        vector.norms = vector.norms.map { $0.squareRoot() }
        return vector
    }

    /// pycocoevalcap's `sim`: per-order cosine similarity (clipped and length-penalised for CIDEr-D).
    func similarity(_ candidate: Vector, _ reference: Vector, _ variant: CIDErVariant) -> [Double] {
        let delta = Double(candidate.length - reference.length)
        var values = Array(repeating: 0.0, count: maximumNGramOrder)
        for n in 0..<maximumNGramOrder {
            var value = 0.0
            for (gram, weight) in candidate.entries[n] {
                let referenceWeight = reference.weights[gram] ?? 0
                switch variant {
                case .d: value += min(weight, referenceWeight) * referenceWeight
                case .plain: value += weight * referenceWeight
                }
            }
            if candidate.norms[n] != 0 && reference.norms[n] != 0 {
                value /= candidate.norms[n] * reference.norms[n]
            }
            if variant == .d {
                value *= pow(2.718281828459045, -pow(delta, 2) / (2 * pow(Self.sigma, 2)))
            }
            values[n] = value
        }
        return values
    }

    /// One image's score: mean over n of the per-order sums over references, / references, x 10.
    func score(_ candidate: Vector, references: [Vector], _ variant: CIDErVariant) -> Double {
        var sums = Array(repeating: 0.0, count: maximumNGramOrder)
        for reference in references {
            let values = similarity(candidate, reference, variant)
            for n in 0..<maximumNGramOrder { sums[n] += values[n] }
        }
        var score = numpySum(sums[...]) / Double(maximumNGramOrder)
        score /= Double(references.count)
        score *= 10.0
        return score
    }
}
