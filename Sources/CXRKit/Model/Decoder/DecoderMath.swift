import CXRKernels
import Glibc

/// The few dense operations the decoder needs, on row-major Float32 arrays.
///
/// Private to the decoder: all sizes are validated by `AttentionDecoder.init` (each fits in `Int32`) and by
/// the workspace before they get here, so these helpers only check them in debug builds.
package enum DecoderMath {
    /// Up to this many rows (a beam), `multiply` runs one GEMV per row instead of sgemm.
    package static let gemvRows = 4

    /// C[m, n] = beta * C + A[m, k] · B[n, k]ᵀ, where row i of A starts at `aOffset + i * lda` and row j of B
    /// at `bOffset + j * ldb` (so B may be a column slice of a wider matrix). B (the weights) is read once
    /// for all m rows (`FewRowProduct`).
    package static func multiplyTransposed(
        rows m: Int, columns n: Int, depth k: Int,
        _ a: [Float], aOffset: Int = 0, lda: Int,
        _ b: [Float], bOffset: Int = 0, ldb: Int,
        into c: inout [Float], ldc: Int, beta: Float, parts: Int = 1
    ) {
        assert(m >= 0 && n >= 0 && k >= 0)
        assert(m == 0 || aOffset + (m - 1) * lda + k <= a.count)
        assert(n == 0 || bOffset + (n - 1) * ldb + k <= b.count)
        assert(m == 0 || (m - 1) * ldc + n <= c.count)
        guard m > 0, n > 0 else { return }
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                c.withUnsafeMutableBufferPointer { cBuffer in
                    FewRowProduct.multiply(rows: m, columns: n, depth: k,
                                           a: aBuffer.baseAddress! + aOffset, lda: lda,
                                           b: bBuffer.baseAddress! + bOffset, ldb: ldb,
                                           c: cBuffer.baseAddress!, ldc: ldc, beta: beta, parts: parts)
                }
            }
        }
    }

    /// A new array C[m, n] = A[m, k] · B[n, k]ᵀ (row i of A at `i * lda`, row j of B at `j * ldb`).
    /// C is zero-filled first: whether sgemm with beta = 0 reads C (and so whether uninitialized memory
    /// could turn into NaN) depends on the OpenBLAS build, and the fill costs little next to the product.
    package static func productTransposed(rows m: Int, columns n: Int, depth k: Int,
                                  _ a: [Float], lda: Int, _ b: [Float], ldb: Int, parts: Int = 1) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        multiplyTransposed(rows: m, columns: n, depth: k, a, lda: lda, b, ldb: ldb, into: &c, ldc: n, beta: 0,
                           parts: parts)
        return c
    }

    /// C[m, n] = A[m, k] · B[k, n] (both dense, row-major; C overwritten): one GEMV per row up to `gemvRows`
    /// rows, else one sgemm.
    package static func multiply(rows m: Int, columns n: Int, depth k: Int,
                         _ a: [Float], _ b: [Float], into c: inout [Float]) {
        assert(m * k <= a.count && k * n <= b.count && m * n <= c.count)
        guard m > 0, n > 0 else { return }
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                c.withUnsafeMutableBufferPointer { cBuffer in
                    if m <= gemvRows {
                        for row in 0..<m {
                            MatrixVector.vectorTimesMatrix(depth: k, columns: n, x: aBuffer.baseAddress! + row * k,
                                                           b: bBuffer.baseAddress!, ldb: n,
                                                           y: cBuffer.baseAddress! + row * n)
                        }
                    } else {
                        GEMM.multiply(m: m, n: n, k: k, a: aBuffer.baseAddress!, lda: k, b: bBuffer.baseAddress!,
                                      ldb: n, bIsTransposed: false, c: cBuffer.baseAddress!, ldc: n)
                    }
                }
            }
        }
    }

    /// y[m] += A[m, n] · x[n], where row i of A starts at `aOffset + i * lda` (`MatrixVector.accumulate`:
    /// chunks fixed by m, so results do not depend on `parts`).
    package static func accumulateMatrixVector(rows m: Int, columns n: Int,
                                       _ a: [Float], aOffset: Int = 0, lda: Int,
                                       _ x: [Float], into y: inout [Float], parts: Int = 1) {
        assert(m == 0 || aOffset + (m - 1) * lda + n <= a.count)
        assert(n <= x.count && m <= y.count)
        guard m > 0, n > 0 else { return }
        a.withUnsafeBufferPointer { aBuffer in
            x.withUnsafeBufferPointer { xBuffer in
                y.withUnsafeMutableBufferPointer { yBuffer in
                    MatrixVector.accumulate(rows: m, columns: n, a: aBuffer.baseAddress! + aOffset, lda: lda,
                                            x: xBuffer.baseAddress!, into: yBuffer.baseAddress!, parts: parts)
                }
            }
        }
    }

    /// The logistic function as PyTorch computes it: 1 / (1 + exp(-x)).
    @inline(__always)
    package static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}
