import CXRTensor

/// 2-D convolution (no bias) of a channels-last input into a channels-last output.
///
/// 1x1 stride-1 convolutions are one GEMM straight on the input view (its pixel stride is the GEMM's
/// leading dimension, so a slice of a dense block's buffer needs no copy). Other shapes are lowered with
/// im2col into caller-provided scratch, a band of output rows at a time, each band one GEMM.
package enum Convolution {
    /// Scratch floats `forward` needs for an output `outputWidth` wide when bands aim at
    /// `targetBandPixels` output pixels (at least one output row). 0 for pointwise convolutions.
    package static func scratchCount(for weights: PackedConvolution, outputHeight: Int, outputWidth: Int,
                             targetBandPixels: Int) -> Int {
        if weights.isPointwise { return 0 }
        return scratchCount(columnLength: weights.columnLength, outputHeight: outputHeight,
                            outputWidth: outputWidth, targetBandPixels: targetBandPixels)
    }

    /// Scratch floats for an im2col convolution whose rows are `columnLength` (kernel² x in channels) long.
    package static func scratchCount(columnLength: Int, outputHeight: Int, outputWidth: Int,
                             targetBandPixels: Int) -> Int {
        if outputHeight == 0 || outputWidth == 0 { return 0 }
        return bandRows(outputHeight: outputHeight, outputWidth: outputWidth,
                        targetBandPixels: targetBandPixels) * outputWidth * columnLength
    }

    /// Output rows per band: enough rows to reach `targetBandPixels`, at least 1, at most all.
    package static func bandRows(outputHeight: Int, outputWidth: Int, targetBandPixels: Int) -> Int {
        min(outputHeight, max(1, targetBandPixels / max(outputWidth, 1)))
    }

    /// `output = convolution(input, weights)`. `output` must have the convolution's output shape and must
    /// not overlap `input` or `scratch`. `scratchCount` floats of scratch must cover at least one output
    /// row of im2col (see `scratchCount(for:...)`); more rows per band are used when it fits.
    ///
    /// `outputRows` limits the call to those output rows (all when nil), so that callers can run bands of
    /// one convolution on several threads, each with its own scratch.
    package static func forward(input: FeatureMapView, weights: PackedConvolution, output: FeatureMapView,
                        outputRows: Range<Int>? = nil,
                        scratch: UnsafeMutablePointer<Float>, scratchCount: Int) {
        precondition(input.channels == weights.inChannels && output.channels == weights.outChannels,
                     "convolution \(weights.inChannels)->\(weights.outChannels) channels applied to "
                     + "\(input.channels)->\(output.channels)")
        precondition(output.height == weights.outputSize(input.height)
                     && output.width == weights.outputSize(input.width),
                     "convolution output \(output.height)x\(output.width) for input \(input.height)x\(input.width)")
        let outputRows = outputRows ?? 0..<output.height
        precondition(outputRows.lowerBound >= 0 && outputRows.upperBound <= output.height,
                     "convolution output rows \(outputRows) outside 0..<\(output.height)")
        let pixels = outputRows.count * output.width
        guard pixels > 0 else { return }
        weights.weights.withUnsafeBufferPointer { packed in
            let packed = packed.baseAddress!
            if weights.isPointwise {
                GEMM.multiply(m: pixels, n: weights.outChannels, k: weights.inChannels,
                              a: input.pixel(outputRows.lowerBound, 0), lda: input.pixelStride,
                              b: packed, ldb: weights.inChannels, bIsTransposed: true,
                              c: output.pixel(outputRows.lowerBound, 0), ldc: output.pixelStride)
                return
            }
            let length = weights.columnLength
            let rowFloats = output.width * length
            precondition(scratchCount >= rowFloats,
                         "convolution scratch \(scratchCount) floats is less than one row (\(rowFloats))")
            let rowsPerBand = min(outputRows.count, scratchCount / rowFloats)
            var row = outputRows.lowerBound
            while row < outputRows.upperBound {
                let rows = row..<min(row + rowsPerBand, outputRows.upperBound)
                Im2Col.pack(input: input, kernel: weights.kernel, stride: weights.stride,
                            padding: weights.padding, outputWidth: output.width, outputRows: rows,
                            into: scratch)
                GEMM.multiply(m: rows.count * output.width, n: weights.outChannels, k: length,
                              a: scratch, lda: length,
                              b: packed, ldb: length, bIsTransposed: true,
                              c: output.pixel(rows.lowerBound, 0), ldc: output.pixelStride)
                row = rows.upperBound
            }
        }
    }
}
