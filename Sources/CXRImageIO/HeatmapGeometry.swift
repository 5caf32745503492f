/// Where the model's square input, and so its attention grid, lies on the original image.
///
/// Intake (docs/INTAKE.md, step 4) resizes each axis of the `imageWidth` x `imageHeight` image on its own to
/// the model's `size` x `size` input: the aspect is not kept. So a point (u, v) of the square input is the
/// point (u * imageWidth / size, v * imageHeight / size) of the original, and attention cell (x, y) of a
/// G x G grid covers columns [x * W / G, (x + 1) * W / G) and rows [y * H / G, (y + 1) * H / G) of it.
/// A heat-map panel shows the original geometry scaled so its longest side is `longestSide` pixels: the
/// `displayWidth` x `displayHeight` rectangle, the same mapping with W and H replaced by the display sides.
public struct HeatmapGeometry: Equatable, Sendable {
    /// Sides of the original image (as read: DICOM rows and columns, the PNG or JPEG size).
    public let imageWidth: Int
    public let imageHeight: Int
    /// Sides of the displayed image: the original's aspect, the longest side `longestSide`, each side >= 1.
    public let displayWidth: Int
    public let displayHeight: Int

    /// Limits of `longestSide`: a readable panel, and a bounded sheet.
    public static let longestSideRange = 64...1024

    public init(imageWidth: Int, imageHeight: Int, longestSide: Int) {
        precondition(imageWidth > 0 && imageHeight > 0 && longestSide > 0, "sides must be positive")
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        let longest = max(imageWidth, imageHeight)
        // Rounded half up in integers: the short side keeps the aspect to within half a pixel.
        displayWidth = max(1, (2 * imageWidth * longestSide + longest) / (2 * longest))
        displayHeight = max(1, (2 * imageHeight * longestSide + longest) / (2 * longest))
    }

    /// The point of the original image that the point (u, v) of the model's `inputSize` square input shows
    /// (continuous coordinates: (0, 0) is the top-left corner of the top-left pixel).
    public func originalPoint(inputX u: Double, inputY v: Double, inputSize: Int) -> (x: Double, y: Double) {
        (u * Double(imageWidth) / Double(inputSize), v * Double(imageHeight) / Double(inputSize))
    }

    /// The centre of attention cell (x, y) of a `gridSize` x `gridSize` grid in display coordinates.
    public func cellCentre(x: Int, y: Int, gridSize: Int) -> (x: Double, y: Double) {
        ((Double(x) + 0.5) * Double(displayWidth) / Double(gridSize),
         (Double(y) + 0.5) * Double(displayHeight) / Double(gridSize))
    }

    /// The display pixels whose centres lie in attention cell (x, y): columns and rows.
    public func cellPixels(x: Int, y: Int, gridSize: Int) -> (columns: Range<Int>, rows: Range<Int>) {
        func span(_ cell: Int, _ side: Int) -> Range<Int> {
            // Pixel p's centre p + 0.5 lies in [cell * side / G, (cell + 1) * side / G).
            let lower = (2 * cell * side + gridSize - 1) / (2 * gridSize)  // ceil(cell*side/G - 0.5)
            let upper = (2 * (cell + 1) * side + gridSize - 1) / (2 * gridSize)
            return lower..<upper
        }
        return (span(x, displayWidth), span(y, displayHeight))
    }

    /// A row-major `width` x `height` gray image resampled to `toWidth` x `toHeight`, each axis on its own:
    /// area averaging where an axis shrinks, bilinear between pixel centres where it grows.
    public static func resample(_ gray: [UInt8], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [UInt8] {
        precondition(width > 0 && height > 0 && toWidth > 0 && toHeight > 0 && gray.count == width * height,
                     "gray image size mismatch")
        if width == toWidth && height == toHeight { return gray }
        let columns = taps(source: width, target: toWidth)
        let lines = taps(source: height, target: toHeight)
        var rowsDone = [Float](repeating: 0, count: height * toWidth)
        for y in 0..<height {
            for (t, weights) in columns.enumerated() {
                var sum: Float = 0
                for (source, weight) in weights { sum += weight * Float(gray[y * width + source]) }
                rowsDone[y * toWidth + t] = sum
            }
        }
        var output = [UInt8](repeating: 0, count: toWidth * toHeight)
        for (t, weights) in lines.enumerated() {
            for x in 0..<toWidth {
                var sum: Float = 0
                for (source, weight) in weights { sum += weight * rowsDone[source * toWidth + x] }
                output[t * toWidth + x] = UInt8(min(max(sum.rounded(), 0), 255))
            }
        }
        return output
    }

    /// Per output sample of one axis: the input samples it reads and their weights (summing to 1).
    static func taps(source n: Int, target m: Int) -> [[(Int, Float)]] {
        (0..<m).map { t in
            if n >= m {
                // Output t covers [t n, (t + 1) n) in units of 1/m input pixel; input k covers [k m, (k + 1) m).
                let start = t * n, end = (t + 1) * n
                return (start / m...((end - 1) / m)).map { k in
                    let overlap = min(end, (k + 1) * m) - max(start, k * m)
                    return (k, Float(overlap) / Float(n))
                }
            }
            let position = min(max((Double(t) + 0.5) * Double(n) / Double(m) - 0.5, 0), Double(n - 1))
            let lower = min(Int(position), n - 1)
            let fraction = Float(position - Double(lower))
            return lower + 1 < n ? [(lower, 1 - fraction), (lower + 1, fraction)] : [(lower, Float(1))]
        }
    }
}
