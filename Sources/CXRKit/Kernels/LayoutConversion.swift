import CXRTensor

/// Conversions between PyTorch's planar layout and the channels-last views the kernels use.
package enum LayoutConversion {
    /// Copies a planar [channels, height, width] image into a channels-last view of the same shape.
    package static func planarToChannelsLast(_ planar: UnsafePointer<Float>, output: FeatureMapView) {
        let plane = output.pixelCount
        for pixel in 0..<plane {
            let destination = output.base + pixel * output.pixelStride
            for channel in 0..<output.channels {
                destination[channel] = planar[channel * plane + pixel]
            }
        }
    }
}
