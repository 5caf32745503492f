
/// Steps 2 and 3 of intake version 1 (docs/INTAKE.md): modality rescale, VOI (or the image's own range),
/// MONOCHROME1 inversion, then rounding to a 16-bit level `0...65535` that stands for `level / 65535`.
///
/// Every operation is one IEEE-754 double operation in the order written here, so numpy computes the same bits.
struct IntensityMapping {
    enum Normalization {
        /// DICOM PS3.3 C.11.2.1.2.1 linear VOI with `centerLow = center - 0.5`, `widthLess1 = width - 1`.
        case window(centerLow: Double, widthLess1: Double)
        /// `(x - minimum) / (maximum - minimum)`; a constant image (`maximum == minimum`) maps to 0.
        case range(minimum: Double, maximum: Double)
        /// 8-bit input without a window: `x / 255`.
        case eightBit
    }

    let slope: Double
    let intercept: Double
    let normalization: Normalization
    let invert: Bool

    /// The modality value `stored * slope + intercept`.
    @inline(__always)
    func modality(_ stored: Double) -> Double {
        stored * slope + intercept
    }

    /// The 16-bit level of one stored value.
    @inline(__always)
    func level(stored: Double) -> Int {
        let x = modality(stored)
        var v: Double
        switch normalization {
        case let .window(centerLow, widthLess1):
            v = (x - centerLow) / widthLess1 + 0.5
        case let .range(minimum, maximum):
            let span = maximum - minimum
            v = span == 0 ? 0 : (x - minimum) / span
        case .eightBit:
            v = x / 255
        }
        v = min(max(v, 0), 1)
        if invert { v = 1 - v }
        return Int((v * 65535 + 0.5).rounded(.down))
    }
}
