/// Splits a kernel's work into parts run on several threads (`WorkerPool`), with OpenBLAS kept at one
/// thread per call: the encoder threads over pixel bands itself, so its element-wise loops (BN-ReLU,
/// im2col, pooling) run in parallel too, and no BLAS call waits on OpenBLAS's own thread pool.
package enum ParallelFor {
    /// Runs `body(part)` for every part in `0..<parts`, on up to `parts` threads; returns when all are done.
    /// The calling thread takes parts too, so a late worker thread costs nothing but parallelism.
    package static func run(parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 {
            if parts == 1 { body(0) }
            return
        }
        WorkerPool.shared.run(parts: parts, body)
    }

    /// Part `part` of `0..<count` split into `parts` nearly equal consecutive ranges.
    package static func range(_ part: Int, of parts: Int, count: Int) -> Range<Int> {
        (count * part / parts)..<(count * (part + 1) / parts)
    }
}
