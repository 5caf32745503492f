import CXRTensor

/// Folded BatchNorm followed by ReLU, per channel: `y = max(0, x · scale[c] + shift[c])`.
package enum BatchNormReLU {
    /// Writes `max(0, input · scale + shift)` to `output` (same pixels and channels). `output` may be
    /// `input` itself (in place); other overlaps are not allowed.
    package static func apply(input: FeatureMapView, scale: [Float], shift: [Float], output: FeatureMapView) {
        precondition(input.height == output.height && input.width == output.width
                     && input.channels == output.channels,
                     "BatchNormReLU shapes differ: \(input.height)x\(input.width)x\(input.channels) vs "
                     + "\(output.height)x\(output.width)x\(output.channels)")
        precondition(scale.count == input.channels && shift.count == input.channels,
                     "BatchNormReLU has \(scale.count) scales for \(input.channels) channels")
        let channels = input.channels
        let inPlace = input.base == output.base && input.pixelStride == output.pixelStride
        scale.withUnsafeBufferPointer { scale in
            shift.withUnsafeBufferPointer { shift in
                let scale = scale.baseAddress!, shift = shift.baseAddress!
                for pixel in 0..<input.pixelCount {
                    let destination = output.base + pixel * output.pixelStride
                    if inPlace {
                        // One pointer: each element is read, then written, so the loop vectorizes without
                        // the overlap checks two pointers would need (which an in-place call fails).
                        for channel in 0..<channels {
                            destination[channel] = max(destination[channel] * scale[channel] + shift[channel], 0)
                        }
                    } else {
                        let source = input.base + pixel * input.pixelStride
                        for channel in 0..<channels {
                            destination[channel] = max(source[channel] * scale[channel] + shift[channel], 0)
                        }
                    }
                }
            }
        }
    }
}
