import COpenBLAS

/// Matrix-vector products on OpenBLAS's sgemv, row-major.
package enum MatrixVector {
    /// `y[i] = x · B[:, i]` for B [k, n] row-major (`ldb` >= n): x times a matrix, as one GEMV over Bᵀ.
    package static func vectorTimesMatrix(depth k: Int, columns n: Int, x: UnsafePointer<Float>,
                                          b: UnsafePointer<Float>, ldb: Int, y: UnsafeMutablePointer<Float>) {
        precondition(k >= 0 && n >= 0 && ldb >= max(n, 1), "vector x matrix \(k) x \(n) with ldb \(ldb)")
        guard n > 0 else { return }
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), 1, b, Int32(ldb), x, 1, 0, y, 1)
    }

    /// `y[m] += A[m, n] · x[n]`, row i of A at `a + i * lda`, as one GEMV per chunk of rows
    /// (`FewRowProduct.sgemmChunk`, fixed by m alone, so results do not depend on `parts`), the chunks shared
    /// among up to `parts` threads.
    package static func accumulate(rows m: Int, columns n: Int, a: UnsafePointer<Float>, lda: Int,
                                   x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, parts: Int = 1) {
        precondition(m >= 0 && n >= 0 && lda >= max(n, 1), "matrix x vector \(m) x \(n) with lda \(lda)")
        guard m > 0, n > 0 else { return }
        let chunk = FewRowProduct.sgemmChunk(m), chunks = (m + chunk - 1) / chunk
        let used = min(max(parts, 1), chunks)
        ParallelFor.run(parts: used) { part in
            for index in ParallelFor.range(part, of: used, count: chunks) {
                let start = index * chunk, count = min(chunk, m - start)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(count), Int32(n), 1, a + start * lda, Int32(lda),
                            x, 1, 1, y + start, 1)
            }
        }
    }
}
