import CXRSupport

/// Reads one row of a caller's buffer as 16-bit levels (steps 1 to 3 of docs/INTAKE.md).
///
/// Integer formats go through a lookup table built with `IntensityMapping.level(stored:)` over every stored
/// value, which gives the same result as mapping each pixel. The only unsafe pointer reads of intake live here.
struct PixelRows {
    let pixels: UnsafeRawBufferPointer
    let descriptor: ImageDescriptor
    let mapping: IntensityMapping
    /// Level of each stored value (integer formats; empty for GRAYF32). RGB uses the gray value as index.
    private let table: [UInt16]

    init(pixels: UnsafeRawBufferPointer, descriptor: ImageDescriptor, mapping: IntensityMapping) {
        self.pixels = pixels
        self.descriptor = descriptor
        self.mapping = mapping
        switch descriptor.format {
        case .gray8, .rgb8, .rgba8:
            table = (0..<256).map { UInt16(mapping.level(stored: Double($0))) }
        case .gray16:
            table = (0..<(1 << descriptor.bitsStored)).map { UInt16(mapping.level(stored: Double($0))) }
        case .grayFloat32:
            table = []
        }
    }

    /// Mask that keeps the `bitsStored` low bits of a GRAY16 sample.
    static func mask(bitsStored: Int) -> UInt16 {
        bitsStored >= 16 ? 0xFFFF : UInt16((1 << bitsStored) - 1)
    }

    /// ITU-R 601-2 luma in integers, rounded half up: `(299 R + 587 G + 114 B + 500) / 1000`.
    @inline(__always)
    static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        (299 * Int(r) + 587 * Int(g) + 114 * Int(b) + 500) / 1000
    }

    /// Writes the levels of row `y` into `levels` (count >= width).
    func read(row y: Int, into levels: UnsafeMutableBufferPointer<Int>) {
        let width = descriptor.width
        let start = y * descriptor.rowBytes
        let base = pixels.baseAddress!.advanced(by: start)
        table.withUnsafeBufferPointer { table in
            switch descriptor.format {
            case .gray8:
                let row = base.assumingMemoryBound(to: UInt8.self)
                for x in 0..<width { levels[x] = Int(table[Int(row[x])]) }
            case .gray16:
                let mask = PixelRows.mask(bitsStored: descriptor.bitsStored)
                for x in 0..<width {
                    let sample = base.loadUnaligned(fromByteOffset: 2 * x, as: UInt16.self) & mask
                    levels[x] = Int(table[Int(sample)])
                }
            case .grayFloat32:
                for x in 0..<width {
                    let sample = base.loadUnaligned(fromByteOffset: 4 * x, as: Float.self)
                    levels[x] = mapping.level(stored: Double(sample))
                }
            case .rgb8, .rgba8:
                let step = descriptor.format.bytesPerPixel
                let row = base.assumingMemoryBound(to: UInt8.self)
                for x in 0..<width {
                    let p = x * step
                    levels[x] = Int(table[PixelRows.luma(row[p], row[p + 1], row[p + 2])])
                }
            }
        }
    }

    /// Smallest and largest modality value of the image; for GRAYF32 also checks that every sample and its
    /// modality value is finite. `shouldAbort` is polled every `ImageIntake.abortPollRows` rows.
    static func modalityRange(pixels: UnsafeRawBufferPointer, descriptor d: ImageDescriptor,
                              slope: Double, intercept: Double, shouldAbort: (() -> Bool)? = nil) throws
        -> (minimum: Double, maximum: Double) {
        func poll(_ y: Int) throws {
            if y % ImageIntake.abortPollRows == 0, let shouldAbort, shouldAbort() { throw CXRError.aborted }
        }
        let base = pixels.baseAddress!
        switch d.format {
        case .grayFloat32:
            var low = Double.infinity, high = -Double.infinity
            for y in 0..<d.height {
                try poll(y)
                let row = base.advanced(by: y * d.rowBytes)
                for x in 0..<d.width {
                    let sample = Double(row.loadUnaligned(fromByteOffset: 4 * x, as: Float.self))
                    guard sample.isFinite else {
                        throw CXRError.invalidImage(
                            "image pixel (\(x), \(y)) is \(sample); GRAYF32 samples must be finite")
                    }
                    let value = sample * slope + intercept
                    guard value.isFinite else {
                        throw CXRError.invalidImage(
                            "image pixel (\(x), \(y)) = \(sample) x rescaleSlope \(slope) + rescaleIntercept "
                                + "\(intercept) is not finite", arguments: "rescaleSlope", "rescaleIntercept")
                    }
                    low = min(low, value)
                    high = max(high, value)
                }
            }
            return (low, high)
        case .gray16:
            let mask = mask(bitsStored: d.bitsStored)
            var low = UInt16.max, high = UInt16.min
            for y in 0..<d.height {
                try poll(y)
                let row = base.advanced(by: y * d.rowBytes)
                for x in 0..<d.width {
                    let sample = row.loadUnaligned(fromByteOffset: 2 * x, as: UInt16.self) & mask
                    low = min(low, sample)
                    high = max(high, sample)
                }
            }
            // stored * slope + intercept is monotonic in stored, so the extremes come from the extreme samples.
            let a = Double(low) * slope + intercept, b = Double(high) * slope + intercept
            return (min(a, b), max(a, b))
        case .gray8, .rgb8, .rgba8:
            // Not used: 8-bit input without a window maps x / 255.
            return (0, 255)
        }
    }
}
