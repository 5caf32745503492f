import CXRSupport

/// The image intake pipeline, version 1: a caller's pixel buffer becomes the `size` x `size` equalized 8-bit
/// image the model sees, then the model's normalized input. docs/INTAKE.md defines every step; the numpy
/// reference `training/cxrcaption_ref/preprocess.py` computes the same bytes.
public enum ImageIntake {
    /// The pipeline version this implementation computes (a model's `preprocessing` must match).
    public static let version = 1

    /// Source rows read between two polls of a `shouldAbort` callback (a 16384-wide row takes microseconds).
    static let abortPollRows = 64

    /// Read -> modality/VOI -> MONOCHROME1 invert -> resize -> quantize -> equalize.
    ///
    /// - Parameters:
    ///   - pixels: the caller's buffer; row `y` starts at byte `y * descriptor.rowBytes`. Multi-byte samples are
    ///     in the machine's byte order.
    ///   - descriptor: layout and DICOM attributes of the buffer.
    ///   - size: side of the square output (1...4096; the model's `inputSize`).
    ///   - shouldAbort: polled every `abortPollRows` rows while the image is scanned and resized; returning
    ///     true throws `CXRError.aborted`.
    /// - Returns: `size * size` bytes, row-major.
    /// - Throws: `CXRError` `.invalidImage` for a bad buffer or descriptor, `.invalidArgument` for a bad size,
    ///   `.aborted` when `shouldAbort` returned true.
    public static func equalizedImage(pixels: UnsafeRawBufferPointer, descriptor: ImageDescriptor,
                                      size: Int, shouldAbort: (() -> Bool)? = nil) throws -> [UInt8] {
        try IntakeValidation.check(pixels: pixels, descriptor: descriptor, size: size)
        let mapping = try intensityMapping(pixels: pixels, descriptor: descriptor, shouldAbort: shouldAbort)
        var image = try resizeToEightBit(PixelRows(pixels: pixels, descriptor: descriptor, mapping: mapping),
                                         size: size, shouldAbort: shouldAbort)
        HistogramEqualization.equalize(&image)
        return image
    }

    /// Step 6: `x / 255`, then `(x - mean[c]) / std[c]` in Float32, laid out CHW with `channels` channels
    /// (the one gray plane replicated).
    ///
    /// - Precondition: `equalized.count == size * size`; `mean` and `std` have 1 or `channels` entries (a
    ///   validated model config guarantees this).
    package static func modelInput(equalized: [UInt8], size: Int, channels: Int, mean means: [Float],
                                   std stds: [Float]) -> [Float] {
        precondition(equalized.count == size * size, "equalized image has \(equalized.count) bytes, not \(size)^2")
        precondition([1, channels].contains(means.count) && [1, channels].contains(stds.count),
                     "mean and std need 1 or \(channels) entries")
        let plane = size * size
        var input = [Float](repeating: 0, count: channels * plane)
        for channel in 0..<channels {
            let mean = means[means.count == 1 ? 0 : channel]
            let std = stds[stds.count == 1 ? 0 : channel]
            let table = (0..<256).map { (Float($0) / 255 - mean) / std }
            for index in 0..<plane { input[channel * plane + index] = table[Int(equalized[index])] }
        }
        return input
    }

    /// Chooses the VOI or range normalization and checks that modality values stay finite.
    static func intensityMapping(pixels: UnsafeRawBufferPointer, descriptor d: ImageDescriptor,
                                 shouldAbort: (() -> Bool)? = nil) throws -> IntensityMapping {
        let slope = d.rescaleSlope, intercept = d.rescaleIntercept
        let largestStored: Double
        switch d.format {
        case .gray8, .rgb8, .rgba8: largestStored = 255
        case .gray16: largestStored = Double(PixelRows.mask(bitsStored: d.bitsStored))
        case .grayFloat32: largestStored = 0
        }
        let extreme = largestStored * slope + intercept
        guard extreme.isFinite else {
            throw CXRError.invalidImage(
                "image rescaleSlope \(slope) x \(largestStored) + rescaleIntercept \(intercept) is not finite",
                arguments: "rescaleSlope", "rescaleIntercept")
        }
        var normalization: IntensityMapping.Normalization
        if let window = d.window {
            normalization = .window(centerLow: window.center - 0.5, widthLess1: window.width - 1)
        } else if d.format == .gray8 || d.format == .rgb8 || d.format == .rgba8 {
            normalization = .eightBit
        } else {
            normalization = .range(minimum: 0, maximum: 0)
        }
        if d.format == .grayFloat32 || d.window == nil && d.format == .gray16 {
            let range = try PixelRows.modalityRange(pixels: pixels, descriptor: d, slope: slope,
                                                    intercept: intercept, shouldAbort: shouldAbort)
            guard (range.maximum - range.minimum).isFinite else {
                throw CXRError.invalidImage(
                    "image value range \(range.minimum)...\(range.maximum) is too wide to normalize")
            }
            if d.window == nil { normalization = .range(minimum: range.minimum, maximum: range.maximum) }
        }
        return IntensityMapping(slope: slope, intercept: intercept, normalization: normalization,
                                invert: d.photometric == .monochrome1)
    }

    /// Steps 4 and 5a: exact integer resize of the 16-bit levels, then `round half up` to 8 bits.
    ///
    /// - Throws: `.invalidImage` when every pixel has the same level (a blank image, or a window that no
    ///   pixel falls inside): the model would caption a constant image as confidently as a radiograph.
    static func resizeToEightBit(_ rows: PixelRows, size: Int, shouldAbort: (() -> Bool)? = nil) throws
        -> [UInt8] {
        let width = rows.descriptor.width, height = rows.descriptor.height
        let columns = ResizeAxis(source: width, target: size)
        let lines = ResizeAxis(source: height, target: size)
        var sums = [Int](repeating: 0, count: size * size)
        var levels = [Int](repeating: 0, count: width)
        var rowSums = [Int](repeating: 0, count: size)
        // The level of the first pixel, until a pixel with another level is seen (usually in the first row).
        var constantLevel: Int? = nil
        try levels.withUnsafeMutableBufferPointer { levels in
            for y in 0..<height {
                if y % abortPollRows == 0, let shouldAbort, shouldAbort() { throw CXRError.aborted }
                let readers = lines.sourceStart[y]..<lines.sourceStart[y + 1]
                if readers.isEmpty && (y > 0 && constantLevel == nil) { continue }
                rows.read(row: y, into: levels)
                if y == 0 { constantLevel = levels[0] }
                if let level = constantLevel, levels.contains(where: { $0 != level }) { constantLevel = nil }
                if readers.isEmpty { continue }
                for t in 0..<size {
                    var sum = 0
                    for tap in columns.taps[columns.targetStart[t]..<columns.targetStart[t + 1]] {
                        sum += tap.weight * levels[tap.source]
                    }
                    rowSums[t] = sum
                }
                for tap in lines.tapsBySource[readers] {
                    let offset = tap.target * size
                    for t in 0..<size { sums[offset + t] += tap.weight * rowSums[t] }
                }
            }
        }
        if let level = constantLevel {
            throw CXRError.invalidImage(
                "image is constant after the modality and VOI steps: every pixel maps to level \(level) of 65535 "
                    + "(a blank image, or a window that no pixel falls inside)")
        }
        // sums / (columns.denominator * lines.denominator * 65535) is the mean level in [0, 1]; times 255.
        let divisor = columns.denominator * lines.denominator * 257
        return sums.map { UInt8((2 * $0 + divisor) / (2 * divisor)) }
    }
}
