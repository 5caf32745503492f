import CXRTensor

/// Max and average pooling over channels-last views, with PyTorch's semantics (floor mode).
package enum Pooling {
    /// Output side of a pooling or convolution window: `floor((input + 2·padding - kernel) / stride) + 1`,
    /// or 0 when the window does not fit at all.
    package static func outputSize(input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        precondition(kernel >= 1 && stride >= 1 && padding >= 0, "window k\(kernel) s\(stride) p\(padding)")
        let span = input + 2 * padding - kernel
        return span < 0 ? 0 : span / stride + 1
    }

    /// Max pooling; padding counts as -infinity (PyTorch's `MaxPool2d`, `ceil_mode=False`).
    /// PyTorch requires `padding <= kernel / 2`, which guarantees every window holds a real pixel.
    /// `outputRows` limits the call to those output rows (all when nil), for threading over bands.
    package static func maxPool(input: FeatureMapView, output: FeatureMapView, kernel: Int, stride: Int, padding: Int,
                        outputRows: Range<Int>? = nil) {
        precondition(padding * 2 <= kernel, "max pool padding \(padding) exceeds half the kernel \(kernel)")
        checkShapes(input: input, output: output, kernel: kernel, stride: stride, padding: padding)
        let channels = input.channels
        for oy in checkedRows(outputRows, output) {
            let y0 = max(oy * stride - padding, 0), y1 = min(oy * stride - padding + kernel, input.height)
            for ox in 0..<output.width {
                let x0 = max(ox * stride - padding, 0), x1 = min(ox * stride - padding + kernel, input.width)
                let destination = output.pixel(oy, ox)
                for channel in 0..<channels { destination[channel] = -Float.infinity }
                for y in y0..<y1 {
                    for x in x0..<x1 {
                        let source = input.pixel(y, x)
                        for channel in 0..<channels {
                            destination[channel] = max(destination[channel], source[channel])
                        }
                    }
                }
            }
        }
    }

    /// Average pooling without padding (PyTorch's `AvgPool2d(kernel, stride)`, `ceil_mode=False`).
    package static func averagePool(input: FeatureMapView, output: FeatureMapView, kernel: Int, stride: Int) {
        averagePool(input: input, output: output, kernel: kernel, stride: stride, transform: nil)
    }

    /// Average pooling of `max(0, x · scale + shift)`: a transition's BN-ReLU fused into its pooling
    /// (the transition's 1x1 convolution commutes with the pooling and runs after it, on 4x fewer pixels).
    /// `outputRows` limits the call to those output rows (all when nil), for threading over bands.
    package static func batchNormReLUAveragePool(input: FeatureMapView, scale: [Float], shift: [Float],
                                         output: FeatureMapView, kernel: Int, stride: Int,
                                         outputRows: Range<Int>? = nil) {
        precondition(scale.count == input.channels && shift.count == input.channels,
                     "BatchNormReLU has \(scale.count) scales for \(input.channels) channels")
        averagePool(input: input, output: output, kernel: kernel, stride: stride, transform: (scale, shift),
                    outputRows: outputRows)
    }

    private static func checkedRows(_ rows: Range<Int>?, _ output: FeatureMapView) -> Range<Int> {
        let rows = rows ?? 0..<output.height
        precondition(rows.lowerBound >= 0 && rows.upperBound <= output.height,
                     "pooling output rows \(rows) outside 0..<\(output.height)")
        return rows
    }

    private static func averagePool(input: FeatureMapView, output: FeatureMapView, kernel: Int, stride: Int,
                                    transform: (scale: [Float], shift: [Float])?,
                                    outputRows: Range<Int>? = nil) {
        checkShapes(input: input, output: output, kernel: kernel, stride: stride, padding: 0)
        let channels = input.channels
        let weight = 1 / Float(kernel * kernel)
        let identityScale = transform == nil ? [Float](repeating: 1, count: channels) : []
        let scaleArray = transform?.scale ?? identityScale
        let shiftArray = transform?.shift ?? []
        let applyReLU = transform != nil
        scaleArray.withUnsafeBufferPointer { scale in
            shiftArray.withUnsafeBufferPointer { shift in
                let scale = scale.baseAddress!
                for oy in checkedRows(outputRows, output) {
                    for ox in 0..<output.width {
                        let destination = output.pixel(oy, ox)
                        for channel in 0..<channels { destination[channel] = 0 }
                        for y in (oy * stride)..<(oy * stride + kernel) {
                            for x in (ox * stride)..<(ox * stride + kernel) {
                                let source = input.pixel(y, x)
                                if applyReLU {
                                    let shift = shift.baseAddress!
                                    for channel in 0..<channels {
                                        destination[channel] += max(source[channel] * scale[channel]
                                                                    + shift[channel], 0)
                                    }
                                } else {
                                    for channel in 0..<channels { destination[channel] += source[channel] }
                                }
                            }
                        }
                        for channel in 0..<channels { destination[channel] *= weight }
                    }
                }
            }
        }
    }

    private static func checkShapes(input: FeatureMapView, output: FeatureMapView,
                                    kernel: Int, stride: Int, padding: Int) {
        precondition(input.channels == output.channels,
                     "pooling channels \(input.channels) -> \(output.channels)")
        precondition(output.height == outputSize(input: input.height, kernel: kernel, stride: stride,
                                                 padding: padding)
                     && output.width == outputSize(input: input.width, kernel: kernel, stride: stride,
                                                   padding: padding),
                     "pooling \(input.height)x\(input.width) k\(kernel) s\(stride) p\(padding) cannot give "
                     + "\(output.height)x\(output.width)")
    }
}
