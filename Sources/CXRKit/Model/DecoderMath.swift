import COpenBLAS
import Glibc

/// The few dense operations the decoder needs, on row-major Float32 arrays.
///
/// Private to the decoder: all sizes are validated by `AttentionDecoder.init` (each fits in `Int32`) and by
/// the workspace before they get here, so these helpers only check them in debug builds.
enum DecoderMath {
    /// Up to this many rows (a beam), products skip sgemm (see `multiplyTransposed` and `multiply`).
    static let gemvRows = 4

    /// C[m, n] = beta * C + A[m, k] · B[n, k]ᵀ, where row i of A starts at `aOffset + i * lda` and row j of B
    /// at `bOffset + j * ldb` (so B may be a column slice of a wider matrix).
    static func multiplyTransposed(
        rows m: Int, columns n: Int, depth k: Int,
        _ a: [Float], aOffset: Int = 0, lda: Int,
        _ b: [Float], bOffset: Int = 0, ldb: Int,
        into c: inout [Float], ldc: Int, beta: Float
    ) {
        assert(m >= 0 && n >= 0 && k >= 0)
        assert(m == 0 || aOffset + (m - 1) * lda + k <= a.count)
        assert(n == 0 || bOffset + (n - 1) * ldb + k <= b.count)
        assert(m == 0 || (m - 1) * ldc + n <= c.count)
        guard m > 0, n > 0 else { return }
        if m <= gemvRows {
            // A few rows (a beam): one GEMV per row streams B as it is. sgemm would repack all of B (the
            // weights, megabytes) on every call. (A fused SSE kernel that reads B once for all rows measured
            // the same here; OpenBLAS's GEMV has AVX-512 kernels.)
            a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    c.withUnsafeMutableBufferPointer { cBuffer in
                        for row in 0..<m {
                            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1,
                                        bBuffer.baseAddress! + bOffset, Int32(ldb),
                                        aBuffer.baseAddress! + aOffset + row * lda, 1,
                                        beta, cBuffer.baseAddress! + row * ldc, 1)
                        }
                    }
                }
            }
            return
        }
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                c.withUnsafeMutableBufferPointer { cBuffer in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                Int32(m), Int32(n), Int32(k), 1,
                                aBuffer.baseAddress! + aOffset, Int32(lda),
                                bBuffer.baseAddress! + bOffset, Int32(ldb),
                                beta, cBuffer.baseAddress!, Int32(ldc))
                }
            }
        }
    }

    /// C[m, n] = A[m, k] · B[k, n] (both dense, row-major; C overwritten).
    static func multiply(rows m: Int, columns n: Int, depth k: Int,
                         _ a: [Float], _ b: [Float], into c: inout [Float]) {
        assert(m * k <= a.count && k * n <= b.count && m * n <= c.count)
        guard m > 0, n > 0 else { return }
        if m <= gemvRows {
            a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    c.withUnsafeMutableBufferPointer { cBuffer in
                        for row in 0..<m {
                            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), 1,
                                        bBuffer.baseAddress!, Int32(n), aBuffer.baseAddress! + row * k, 1,
                                        0, cBuffer.baseAddress! + row * n, 1)
                        }
                    }
                }
            }
            return
        }
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                c.withUnsafeMutableBufferPointer { cBuffer in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), 1,
                                aBuffer.baseAddress!, Int32(k),
                                bBuffer.baseAddress!, Int32(n),
                                0, cBuffer.baseAddress!, Int32(n))
                }
            }
        }
    }

    /// y[m] += A[m, n] · x[n], where row i of A starts at `aOffset + i * lda`.
    static func accumulateMatrixVector(rows m: Int, columns n: Int,
                                       _ a: [Float], aOffset: Int = 0, lda: Int,
                                       _ x: [Float], into y: inout [Float]) {
        assert(m == 0 || aOffset + (m - 1) * lda + n <= a.count)
        assert(n <= x.count && m <= y.count)
        guard m > 0, n > 0 else { return }
        a.withUnsafeBufferPointer { aBuffer in
            x.withUnsafeBufferPointer { xBuffer in
                y.withUnsafeMutableBufferPointer { yBuffer in
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(n), 1,
                                aBuffer.baseAddress! + aOffset, Int32(lda),
                                xBuffer.baseAddress!, 1, 1, yBuffer.baseAddress!, 1)
                }
            }
        }
    }

    /// out[i] = tanh(x[i] + y[i]) for i in 0..<count, vectorizable (see `tanh`).
    static func tanhOfSum(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                          into out: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count { out[index] = tanh(x[index] + y[index]) }
    }

    /// sum_i x[i] · y[i] (OpenBLAS sdot).
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        cblas_sdot(Int32(count), x, 1, y, 1)
    }

    /// tanh as a branch-free rational function (Eigen's `generic_fast_tanh_float`: odd degree-13 numerator,
    /// even degree-6 denominator on the input clamped to [-9, 9]), within 1e-6 of libm's tanhf and
    /// vectorizable when inlined into a loop. NaN stays NaN.
    @inline(__always)
    static func tanh(_ value: Float) -> Float {
        let x = value < -9 ? -9 : (value > 9 ? 9 : value)
        let x2 = x * x
        var p: Float = -2.76076847742355e-16
        p = p * x2 + 2.00018790482477e-13
        p = p * x2 - 8.60467152213735e-11
        p = p * x2 + 5.12229709037114e-08
        p = p * x2 + 1.48572235717979e-05
        p = p * x2 + 6.37261928875436e-04
        p = p * x2 + 4.89352455891786e-03
        p = p * x
        var q: Float = 1.19825839466702e-06
        q = q * x2 + 1.18534705686654e-04
        q = q * x2 + 2.26843463243900e-03
        q = q * x2 + 4.89352518554385e-03
        return p / q
    }

    /// The logistic function as PyTorch computes it: 1 / (1 + exp(-x)).
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}
