import COpenBLAS

/// Single-precision matrix multiply on OpenBLAS, row-major.
package enum GEMM {
    /// `c[m, n] = a[m, k] · op(b) + beta · c`, all row-major.
    ///
    /// - `a`: [m, k] with leading dimension `lda` (>= k).
    /// - `b`: when `bIsTransposed`, stored as [n, k] (leading dimension `ldb` >= k), so op(b) = bᵀ;
    ///   otherwise stored as [k, n] (`ldb` >= n).
    /// - `c`: [m, n] with leading dimension `ldc` (>= n). With `beta == 0`, c's old contents are ignored.
    package static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, bIsTransposed: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        beta: Float = 0
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM sizes \(m)x\(n)x\(k)")
        precondition(lda >= max(k, 1) && ldc >= max(n, 1) && ldb >= max(bIsTransposed ? k : n, 1),
                     "GEMM leading dimensions lda \(lda) ldb \(ldb) ldc \(ldc) for \(m)x\(n)x\(k)")
        guard m > 0 && n > 0 else { return }
        guard k > 0 else {
            // BLAS leaves C untouched (beta aside) when k == 0; make beta == 0 mean zero here too.
            for row in 0..<m {
                let c = c + row * ldc
                for column in 0..<n { c[column] = beta == 0 ? 0 : beta * c[column] }
            }
            return
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, bIsTransposed ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// The thread count OpenBLAS uses. OpenBLAS keeps one process-wide setting, so callers that run at the
/// same time with different counts share whichever was set last (results do not depend on it).
package enum BLASThreads {
    /// Cores OpenBLAS can use.
    package static var available: Int { Int(max(openblas_get_num_procs(), 1)) }

    /// The count `requested` resolves to: 0 means all available cores; more than available is clamped.
    package static func resolve(_ requested: Int) -> Int {
        requested <= 0 ? available : min(requested, available)
    }

    /// Applies `requested` (0 = all cores) for the BLAS calls that follow.
    package static func apply(_ requested: Int) {
        let count = resolve(requested)
        if Int(openblas_get_num_threads()) != count {
            openblas_set_num_threads(Int32(count))
        }
    }

    /// The count currently in effect.
    package static var current: Int { Int(openblas_get_num_threads()) }
}
