import Glibc

/// log_softmax of one row in Float32, as PyTorch computes it: x - max - log(sum(exp(x - max))), with
/// `FastActivations.exp`.
enum LogSoftmax {
    /// Writes log_softmax(`input[0..<count]`) to `output` (which must not overlap `input`). `count` >= 1.
    static func apply(_ input: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(count >= 1, "log_softmax of an empty row")
        var largest = -Float.infinity
        for index in 0..<count { largest = max(largest, input[index]) }
        // exp into `output` first (this loop vectorizes), then the sum in eight partial sums.
        for index in 0..<count { output[index] = FastActivations.exp(input[index] - largest) }
        typealias Lanes = SIMD8<Float>
        var sum0 = Lanes(), sum1 = Lanes()
        var index = 0
        while index + 16 <= count {
            sum0 += UnsafeRawPointer(output + index).loadUnaligned(as: Lanes.self)
            sum1 += UnsafeRawPointer(output + index + 8).loadUnaligned(as: Lanes.self)
            index += 16
        }
        var total = (sum0 + sum1).sum()
        for tail in index..<count { total += output[tail] }
        let logTotal = logf(total)
        for index in 0..<count { output[index] = input[index] - largest - logTotal }
    }
}
