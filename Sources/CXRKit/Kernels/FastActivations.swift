import CVectorKernels

/// The decoder's exp, logistic function and tanh (`CVectorKernels`: branch-free float arithmetic that
/// vectorizes at any width), over an array. The decoder's kernels inline the same functions; this entry
/// point lets a caller, or a test, evaluate them on their own.
///
/// - `exp`: Cephes' `expf` (range reduction by ln 2 in two parts, degree-5 polynomial), within 2 ulp of
///   libm for results between about 2⁻¹²⁶ and 2¹²⁷ (inputs up to 88.37); smaller results flush to zero and
///   inputs from 88.37 on give +infinity (libm is finite up to 88.72).
/// - `sigmoid`: 1 / (1 + exp(-x)), PyTorch's formula, on that exp.
/// - `tanh`: Eigen's rational approximation (`generic_fast_tanh_float`), within 1e-6 of the exact tanh.
///
/// NaN gives NaN.
enum FastActivations {
    enum Function {
        case exp, sigmoid, tanh

        var cFunction: cvk_function {
            switch self {
            case .exp: return CVK_EXP
            case .sigmoid: return CVK_SIGMOID
            case .tanh: return CVK_TANH
            }
        }
    }

    /// `output[i] = function(input[i])` for i in 0..<`count` (`output` may be `input`).
    static func apply(_ function: Function, _ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                      count: Int, level: VectorLevel = .best) {
        cvk_apply(level.cLevel, function.cFunction, input, output, count)
    }

    /// `function` of each value of `values`.
    static func apply(_ function: Function, to values: [Float], level: VectorLevel = .best) -> [Float] {
        var output = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                if let source = input.baseAddress, let destination = output.baseAddress {
                    apply(function, source, into: destination, count: input.count, level: level)
                }
            }
        }
        return output
    }
}
