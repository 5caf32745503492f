import Foundation
import XCTest
@testable import CXRKernels
@testable import CXRModel

/// The decoder's few-row products against plain Double loops, and the decoder with and without its
/// precomputed tables (the element-wise kernels: VectorKernelTests).
final class DecoderKernelTests: XCTestCase {
    /// FewRowProduct for one row (GEMV), 1 to 4 rows (the vector kernel, at every level this machine runs;
    /// depths and widths that leave every tail), banded rows and many rows (sgemm), beta 0 (C not read:
    /// it starts as NaN) and 1, ldc > n and a B that is a column slice of a wider matrix.
    func testFewRowProductMatchesNaiveProduct() {
        var random = DecoderTestRandom(seed: 21)
        let shapes = [(1, 7, 5), (2, 1201, 3), (3, 700, 513), (4, 9, 31), (3, 5, 16), (2, 3, 8), (1, 50, 100),
                      (5, 33, 64), (32, 50, 9), (40, 45, 17)]
        for (m, n, k) in shapes {
            let lda = k + 2, ldb = k + 3, ldc = n + 1
            let a = random.floats(m * lda), b = random.floats(n * ldb)
            for beta: Float in [0, 1] {
                let initial = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : random.floats(m * ldc)
                for level in VectorLevel.supported {
                    var c = initial
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            c.withUnsafeMutableBufferPointer { c in
                                FewRowProduct.multiply(rows: m, columns: n, depth: k, a: a.baseAddress!, lda: lda,
                                                       b: b.baseAddress!, ldb: ldb, c: c.baseAddress!, ldc: ldc,
                                                       beta: beta, level: level)
                            }
                        }
                    }
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = beta == 0 ? 0 : Double(initial[i * ldc + j])
                            for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[j * ldb + p]) }
                            XCTAssertEqual(Double(c[i * ldc + j]), sum, accuracy: 1e-4 * max(1, abs(sum)),
                                           "m \(m) n \(n) k \(k) beta \(beta) \(level) at [\(i), \(j)]")
                        }
                        // The padding column is left alone.
                        XCTAssertEqual(c[i * ldc + n].bitPattern, initial[i * ldc + n].bitPattern)
                    }
                }
            }
        }
        XCTAssertEqual(FewRowProduct.bandRows(rows: 3, depth: 512), 400)
        XCTAssertEqual(FewRowProduct.bandRows(rows: 3, depth: 1024), 325)
        XCTAssertEqual(FewRowProduct.bandRows(rows: 2000, depth: 1), 1)
    }

    /// The decoder's two precomputed tables, each on and off: the token-gate table W_ih[:, :e] · E[y] (else
    /// a product per step) and P = W_ec Vᵀ per image (else W_ec C_t per step). All four combinations follow
    /// the scalar formulas, with two and three rows.
    func testStepsWithAndWithoutThePrecomputedTables() throws {
        let sizes = DecoderSizes()
        let weights = makeRandomDecoderWeights(sizes, seed: 25)
        var random = DecoderTestRandom(seed: 26)
        let features = random.floats(sizes.regions * sizes.features, scale: 2).map { max($0, 0) }
        for tokenGates in [true, false] {
            for contextTable in [true, false] {
                let decoder = try AttentionDecoder(weights: weights, dimensions: sizes.dimensions,
                                                   vocabularySize: sizes.vocabulary,
                                                   tokenGateLimit: tokenGates ? AttentionDecoder.tokenGateLimit : 0,
                                                   contextTableRegionLimit: contextTable ? 64 : 0)
                XCTAssertEqual(decoder.tokenGates != nil, tokenGates)
                XCTAssertEqual(decoder.usesContextTable, contextTable)
                XCTAssertEqual(try decoder.prepare(features: features).contextLogits != nil, contextTable)
                let label = "token gates \(tokenGates), context table \(contextTable)"
                try assertStepsFollowNaive(decoder, features: features, weights: weights, sizes: sizes,
                                           steps: [[1, 4, 8], [6, 6, 0], [0, 2, 5]], label)
                try assertStepsFollowNaive(decoder, features: features, weights: weights, sizes: sizes,
                                           steps: [[1, 4], [6, 6], [0, 2]], label)
            }
        }
    }
}
