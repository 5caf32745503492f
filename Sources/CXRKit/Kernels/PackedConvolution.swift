/// Convolution weights (no bias) rearranged for channels-last GEMM.
///
/// `weights` is [outChannels, kernel · kernel · inChannels] row-major, the inner index running over
/// (ky, kx, c) with c fastest: the same order as an im2col row of a channels-last input, so that a
/// convolution is `columns[pixels, K] · weightsᵀ`. For a 1x1 convolution this is PyTorch's OIHW as is.
package struct PackedConvolution: Sendable {
    package let outChannels: Int
    package let inChannels: Int
    package let kernel: Int
    package let stride: Int
    package let padding: Int
    package let weights: [Float]

    /// Repacks PyTorch's OIHW weights. The shape must already be valid (`weight.count` =
    /// out x in x kernel x kernel, all positive); the model layer validates it and throws before this.
    package init(outChannels: Int, inChannels: Int, kernel: Int, stride: Int, padding: Int, oihw: [Float]) {
        precondition(outChannels >= 1 && inChannels >= 1 && kernel >= 1 && stride >= 1 && padding >= 0
                     && oihw.count == outChannels * inChannels * kernel * kernel,
                     "convolution \(outChannels)x\(inChannels)x\(kernel)x\(kernel) with \(oihw.count) weights")
        self.outChannels = outChannels
        self.inChannels = inChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        let taps = kernel * kernel
        if taps == 1 {
            // OIHW is already [out, in]: share the loaded array's storage (no copy, no new pages).
            weights = oihw
            return
        }
        var packed = [Float](repeating: 0, count: oihw.count)
        oihw.withUnsafeBufferPointer { source in
            packed.withUnsafeMutableBufferPointer { destination in
                let source = source.baseAddress!, destination = destination.baseAddress!
                for output in 0..<outChannels {
                    for input in 0..<inChannels {
                        let from = source + (output * inChannels + input) * taps
                        let to = destination + output * taps * inChannels + input
                        for tap in 0..<taps { to[tap * inChannels] = from[tap] }
                    }
                }
            }
        }
        weights = packed
    }

    /// Length of one im2col row: kernel · kernel · inChannels.
    package var columnLength: Int { kernel * kernel * inChannels }

    /// True when the convolution is a plain GEMM on the input (1x1, stride 1, no padding).
    package var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }

    /// Output side for an input side (PyTorch's floor formula).
    package func outputSize(_ input: Int) -> Int {
        Pooling.outputSize(input: input, kernel: kernel, stride: stride, padding: padding)
    }
}
