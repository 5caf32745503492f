import CVectorKernels

/// log_softmax of one row in Float32, as PyTorch computes it: x - max - log(sum(exp(x - max))), with
/// Cephes' exp (`cvk_log_softmax`; within 2 ulp of libm).
package enum LogSoftmax {
    /// Writes log_softmax(`input[0..<count]`) to `output` (which must not overlap `input`). `count` >= 1.
    package static func apply(_ input: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>,
                      level: VectorLevel = .best) {
        precondition(count >= 1, "log_softmax of an empty row")
        cvk_log_softmax(level.cLevel, input, count, output)
    }
}
