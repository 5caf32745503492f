import CXRTensor

/// Lowers a channels-last input to the rows of a convolution's GEMM (im2col).
package enum Im2Col {
    /// Writes, for every output pixel of rows `outputRows` (of `outputWidth` columns), one row of
    /// `kernel · kernel · input.channels` floats in (ky, kx, c) order: the input patch under the window,
    /// zeros where the window lies in the padding. Rows are consecutive in `columns`.
    package static func pack(input: FeatureMapView, kernel: Int, stride: Int, padding: Int,
                     outputWidth: Int, outputRows: Range<Int>, into columns: UnsafeMutablePointer<Float>) {
        let channels = input.channels
        let rowLength = kernel * kernel * channels
        var destination = columns
        for oy in outputRows {
            for ox in 0..<outputWidth {
                var tap = destination
                for ky in 0..<kernel {
                    let y = oy * stride - padding + ky
                    let rowInside = y >= 0 && y < input.height
                    for kx in 0..<kernel {
                        let x = ox * stride - padding + kx
                        if rowInside && x >= 0 && x < input.width {
                            tap.update(from: input.pixel(y, x), count: channels)
                        } else {
                            tap.update(repeating: 0, count: channels)
                        }
                        tap += channels
                    }
                }
                destination += rowLength
            }
        }
    }
}
