import CXRImageIO
import CXRIntake
import Foundation

/// Every packet image in one form, whichever side it is on and whatever file it came from: an 8-bit gray
/// PNG with no metadata chunks, at most `maxSide` pixels on its long side. The reader adjusts contrast in
/// the page (window/level); the file itself carries nothing from the source (no DICOM header, no name).
enum ReaderStudyImage {
    /// The decoded image as display gray: rescale, the image's first window when it has one (else its own
    /// range), MONOCHROME1 inverted (bright = dense on screen), RGB by luminance; then an area-average
    /// reduction to `maxSide`.
    static func displayGray(_ image: DecodedImage, maxSide: Int) throws -> (pixels: [UInt8], width: Int, height: Int) {
        let d = image.descriptor
        let w = d.width, h = d.height
        var values = [Double](repeating: 0, count: w * h)
        try image.bytes.withUnsafeBytes { raw in
            for y in 0..<h {
                let row = y * d.rowBytes
                for x in 0..<w {
                    let v: Double
                    switch d.format {
                    case .gray8: v = Double(raw[row + x])
                    case .gray16:
                        let lo = UInt16(raw[row + 2 * x]), hi = UInt16(raw[row + 2 * x + 1])
                        let mask: UInt16 = d.bitsStored >= 16 ? 0xFFFF : UInt16((1 << d.bitsStored) - 1)
                        v = Double((lo | hi << 8) & mask)
                    case .grayFloat32:
                        v = Double(raw.loadUnaligned(fromByteOffset: row + 4 * x, as: Float.self))
                    case .rgb8, .rgba8:
                        let n = d.format == .rgb8 ? 3 : 4
                        let o = row + n * x
                        v = 0.299 * Double(raw[o]) + 0.587 * Double(raw[o + 1]) + 0.114 * Double(raw[o + 2])
                    }
                    guard v.isFinite else { throw ReaderStudyError("image has a non-finite sample at (\(x), \(y))") }
                    values[y * w + x] = v * d.rescaleSlope + d.rescaleIntercept
                }
            }
        }
        let low: Double, high: Double
        if let window = d.window, window.width > 0 {
            low = window.center - window.width / 2
            high = window.center + window.width / 2
        } else if d.format == .gray8 || d.format == .rgb8 || d.format == .rgba8 {
            low = d.rescaleIntercept
            high = 255 * d.rescaleSlope + d.rescaleIntercept
        } else {
            low = values.min() ?? 0
            high = values.max() ?? 1
        }
        let span = max(high - low, 1e-12)
        let invert = d.photometric == .monochrome1
        var gray = values.map { v -> Double in
            let t = min(max((v - low) / span, 0), 1)
            return invert ? 1 - t : t
        }
        var outW = w, outH = h
        if max(w, h) > maxSide {
            let scale = Double(maxSide) / Double(max(w, h))
            outW = max(1, Int((Double(w) * scale).rounded()))
            outH = max(1, Int((Double(h) * scale).rounded()))
            gray = areaAverage(gray, width: w, height: h, toWidth: outW, toHeight: outH)
        }
        return (gray.map { UInt8(($0 * 255).rounded()) }, outW, outH)
    }

    /// Each output pixel is the mean of the source pixels its footprint covers (whole pixels, rounded out).
    static func areaAverage(_ source: [Double], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Double] {
        var out = [Double](repeating: 0, count: toWidth * toHeight)
        for oy in 0..<toHeight {
            let y0 = oy * height / toHeight, y1 = max(y0 + 1, (oy + 1) * height / toHeight)
            for ox in 0..<toWidth {
                let x0 = ox * width / toWidth, x1 = max(x0 + 1, (ox + 1) * width / toWidth)
                var sum = 0.0
                for y in y0..<y1 { for x in x0..<x1 { sum += source[y * width + x] } }
                out[oy * toWidth + ox] = sum / Double((y1 - y0) * (x1 - x0))
            }
        }
        return out
    }

    static func write(_ image: DecodedImage, maxSide: Int, to path: String) throws {
        let gray = try displayGray(image, maxSide: maxSide)
        try PNGImage(width: gray.width, height: gray.height, channels: 1, samples8: gray.pixels).write(to: path)
    }
}
