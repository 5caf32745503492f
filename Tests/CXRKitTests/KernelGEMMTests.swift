import XCTest
@testable import CXRKernels

final class KernelGEMMTests: XCTestCase {
    private func naive(m: Int, n: Int, k: Int, a: [Float], lda: Int, b: [Float], ldb: Int, transposed: Bool,
                       c: [Float], ldc: Int, beta: Float) -> [Float] {
        var out = c
        for i in 0..<m { for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let bValue = transposed ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(a[i * lda + p]) * Double(bValue)
            }
            out[i * ldc + j] = Float(sum) + beta * c[i * ldc + j]
        } }
        return out
    }

    private func check(m: Int, n: Int, k: Int, padA: Int, padB: Int, padC: Int, transposed: Bool, beta: Float,
                       seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var random = SeededGenerator(seed: seed)
        let lda = k + padA, ldc = n + padC
        let ldb = (transposed ? k : n) + padB
        let a = random.floats(m * lda, in: -1...1)
        let b = random.floats((transposed ? n : k) * ldb, in: -1...1)
        let c = random.floats(m * ldc, in: -1...1)
        let expected = naive(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transposed: transposed,
                             c: c, ldc: ldc, beta: beta)
        var actual = c
        actual.withUnsafeMutableBufferPointer { out in
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, bIsTransposed: transposed,
                          c: out.baseAddress!, ldc: ldc, beta: beta)
        }
        assertClose(actual, expected, relativeTolerance: 1e-5, "gemm \(m)x\(n)x\(k) t\(transposed) beta \(beta)",
                    file: file, line: line)
    }

    func testOddShapesStridesAndTransposes() {
        check(m: 37, n: 5, k: 19, padA: 0, padB: 0, padC: 0, transposed: true, beta: 0, seed: 1)
        check(m: 13, n: 7, k: 33, padA: 3, padB: 2, padC: 5, transposed: true, beta: 0, seed: 2)
        check(m: 9, n: 11, k: 4, padA: 1, padB: 4, padC: 2, transposed: false, beta: 0, seed: 3)
        check(m: 1, n: 1, k: 1, padA: 0, padB: 0, padC: 0, transposed: false, beta: 0, seed: 4)
    }

    func testBetaAccumulatesAndZeroBetaIgnoresOldContents() {
        check(m: 8, n: 6, k: 5, padA: 0, padB: 0, padC: 1, transposed: true, beta: 1, seed: 5)
        check(m: 8, n: 6, k: 5, padA: 0, padB: 0, padC: 1, transposed: false, beta: 0.5, seed: 6)
        // k == 0: the product is empty, so beta 0 gives zeros.
        var c: [Float] = [3, 4, 5, 6]
        c.withUnsafeMutableBufferPointer { out in
            GEMM.multiply(m: 2, n: 2, k: 0, a: [0], lda: 1, b: [0], ldb: 2, bIsTransposed: false,
                          c: out.baseAddress!, ldc: 2)
        }
        XCTAssertEqual(c, [0, 0, 0, 0])
    }

    func testThreadCountControl() {
        let available = BLASThreads.available
        XCTAssertGreaterThanOrEqual(available, 1)
        XCTAssertEqual(BLASThreads.resolve(0), available)
        XCTAssertEqual(BLASThreads.resolve(1), 1)
        XCTAssertEqual(BLASThreads.resolve(available + 5), available)
        BLASThreads.apply(1)
        XCTAssertEqual(BLASThreads.current, 1)
        BLASThreads.apply(0)
        XCTAssertEqual(BLASThreads.current, available)
    }
}
