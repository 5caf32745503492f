import COpenBLAS

import CVectorKernels

/// `C[m, n] = A[m, k] · B[n, k]ᵀ + beta · C` for a few rows m (a beam's hypotheses) against a large
/// weight matrix B, row-major, reading B once however many rows there are.
///
/// Up to `vectorRowLimit` rows, on a CPU with AVX2 and FMA, one C kernel (`cvk_few_row_product`) does it:
/// with three rows the product is bound by multiply-adds, and the kernel keeps a rows x 4 block of sums in
/// registers, where OpenBLAS's small-matrix path reaches about two thirds of that rate. Otherwise:
///
/// sgemm on the whole product would first repack all of B (megabytes of weights) on every call, and one
/// GEMV per row streams B once per row. OpenBLAS builds with its small-matrix path (0.3.21 here, x86-64)
/// run products with m · n · k <= 10⁶ and m · n <= 1200 through small-matrix kernels that read the operands in place
/// (AVX-512 on this hardware); cutting B into bands of rows that satisfy those bounds therefore reads B
/// once, unpacked. Where OpenBLAS lacks that path each band is an ordinary sgemm: the same result, slower.
/// One row stays a GEMV (already one pass over B); more than `bandedRowLimit` rows take sgemm calls (two
/// fixed chunks, `sgemmChunk`), whose packing is then worth it.
package enum FewRowProduct {
    /// Largest m run by the vector kernel (`CVK_FEW_ROWS_MAX`).
    package static let vectorRowLimit = Int(CVK_FEW_ROWS_MAX)
    /// Fewest multiply-adds worth a part of their own (a beam's W_eh product, 3 x 300 x 512, is split;
    /// its P alpha, 3 x 300 x 64, is not).
    package static let minimumPartWork = 1 << 17
    /// Largest m run as banded small products.
    package static let bandedRowLimit = 32
    /// OpenBLAS's small-matrix bounds (`sgemm_small_matrix_permit`): m · n · k and m · n per call.
    package static let smallProductLimit = 1_000_000
    package static let smallOutputLimit = 1200

    /// Rows per sgemm call when a many-row product's longer side (`length`) is cut: half of it, rounded up
    /// to a multiple of 16, so two threads get a chunk each. Every call packs the other operand again:
    /// cutting W_v Vᵀ (512 x 64 x 1024) into 2 calls cost 5% on one thread, into 8 calls 40%.
    package static func sgemmChunk(_ length: Int) -> Int { max(16, ((length + 1) / 2 + 15) / 16 * 16) }

    /// Rows of B per band for `rows` rows of A and depth `depth` (at least 1).
    package static func bandRows(rows: Int, depth: Int) -> Int {
        max(1, min(smallOutputLimit / rows, smallProductLimit / max(rows * depth, 1)))
    }

    /// `c[i * ldc + j] = sum_p a[i * lda + p] · b[j * ldb + p] + beta · c[i * ldc + j]`.
    /// Sizes must fit in Int32 (the caller's model validation guarantees it). With `parts` > 1 the columns
    /// (or bands) are shared out among up to `parts` threads (`ParallelFor`); the results are the same as
    /// with one thread. `level` caps the vector kernel's instruction set (tests compare the levels).
    package static func multiply(rows m: Int, columns n: Int, depth k: Int,
                         a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, parts: Int = 1,
                         level: VectorLevel = .best) {
        precondition(m >= 0 && n >= 0 && k >= 0 && lda >= k && ldb >= k && ldc >= n,
                     "few-row product \(m)x\(n)x\(k) with lda \(lda) ldb \(ldb) ldc \(ldc)")
        guard m > 0, n > 0 else { return }
        // A part gets at least `minimumPartWork` multiply-adds: below that, waking a thread costs more.
        let work = Double(m) * Double(n) * Double(k)
        let parts = max(1, min(parts, Int(min(work / Double(minimumPartWork), 64))))
        if m <= vectorRowLimit, level.usable != .generic {
            // Columns shared out in blocks of 16 (whole cache lines of C); every output is the same
            // whichever part computes it.
            let blocks = (n + 15) / 16, used = min(parts, blocks)
            ParallelFor.run(parts: used) { part in
                let range = ParallelFor.range(part, of: used, count: blocks)
                let start = range.lowerBound * 16, count = min(range.upperBound * 16, n) - start
                let computed = cvk_few_row_product(level.cLevel, m, count, k, a, lda, b + start * ldb, ldb,
                                                   c + start, ldc, beta)
                assert(computed == 1, "the few-row kernel declined \(m) rows at \(level.usable)")
            }
            return
        }
        if m == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, b, Int32(ldb), a, 1, beta, c, 1)
            return
        }
        guard m <= bandedRowLimit else {
            // sgemm per chunk of the longer side (A's rows or B's rows), so that each thread reads its own
            // part of the larger operand. The chunks depend on the shape only, never on `parts`: OpenBLAS's
            // result for an element can depend on the shape of the call it is in (its blocking and kernel
            // choice), so a thread count that changed the calls would change the results.
            let splitRows = m >= n
            let length = splitRows ? m : n, chunk = sgemmChunk(length)
            let chunks = (length + chunk - 1) / chunk, used = min(parts, chunks)
            ParallelFor.run(parts: used) { part in
                for index in ParallelFor.range(part, of: used, count: chunks) {
                    let start = index * chunk, count = min(chunk, length - start)
                    if splitRows {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(n), Int32(k),
                                    1, a + start * lda, Int32(lda), b, Int32(ldb), beta, c + start * ldc, Int32(ldc))
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(count), Int32(k),
                                    1, a, Int32(lda), b + start * ldb, Int32(ldb), beta, c + start, Int32(ldc))
                    }
                }
            }
            return
        }
        let band = bandRows(rows: m, depth: k)
        let bands = (n + band - 1) / band
        func run(_ range: Range<Int>) {
            for index in range {
                let start = index * band, count = min(band, n - start)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(count), Int32(k), 1,
                            a, Int32(lda), b + start * ldb, Int32(ldb), beta, c + start, Int32(ldc))
            }
        }
        let used = min(parts, bands)
        if used > 1 {
            ParallelFor.run(parts: used) { part in run(ParallelFor.range(part, of: used, count: bands)) }
        } else {
            run(0..<bands)
        }
    }
}
