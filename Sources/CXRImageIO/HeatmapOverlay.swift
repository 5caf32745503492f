/// Draws a coarse grid of weights (an attention map) over a gray image as a smooth, semi-transparent color map.
///
/// The grid's cells tile the image: cell (x, y), stored at `y * gridSize + x`, covers the square whose centre
/// is at ((x + 0.5) * side / gridSize, (y + 0.5) * side / gridSize). Values between cell centres are
/// interpolated bilinearly; outside the outer centres they are held constant (edge clamping).
public struct HeatmapOverlay: Sendable {
    public var colormap: Colormap
    /// Opacity of the color where the normalized heat is 0 ...
    public var coldOpacity: Float
    /// ... and where it is 1 (linear in between), so hot regions are strongly tinted and cold ones lightly.
    public var hotOpacity: Float

    public init(colormap: Colormap = .turbo, coldOpacity: Float = 0.2, hotOpacity: Float = 0.7) {
        self.colormap = colormap
        self.coldOpacity = coldOpacity
        self.hotOpacity = hotOpacity
    }

    /// `weights` divided by their maximum, so the hottest cell is 1 and a zero weight is 0. All zeros (or no
    /// positive finite maximum) gives all zeros; negative and NaN weights count as 0.
    public static func normalizedByMaximum(_ weights: [Float]) -> [Float] {
        let maximum = weights.reduce(Float(0)) { $1.isFinite ? max($0, $1) : $0 }
        guard maximum > 0 else { return [Float](repeating: 0, count: weights.count) }
        return weights.map { $0.isFinite ? max($0, 0) / maximum : 0 }
    }

    /// The `gridSize` x `gridSize` grid resampled bilinearly (cell centres) to `side` x `side`, row-major.
    public static func upsample(_ grid: [Float], gridSize: Int, to side: Int) -> [Float] {
        precondition(gridSize > 0 && side > 0 && grid.count == gridSize * gridSize, "grid size mismatch")
        // Per output coordinate: the two cells it lies between and the weight of the second.
        let taps: [(Int, Int, Float)] = (0..<side).map { index in
            let position = (Float(index) + 0.5) * Float(gridSize) / Float(side) - 0.5
            let clamped = min(max(position, 0), Float(gridSize - 1))
            let lower = min(Int(clamped), gridSize - 1)
            let upper = min(lower + 1, gridSize - 1)
            return (lower, upper, clamped - Float(lower))
        }
        var output = [Float](repeating: 0, count: side * side)
        for y in 0..<side {
            let (y0, y1, fy) = taps[y]
            for x in 0..<side {
                let (x0, x1, fx) = taps[x]
                let top = grid[y0 * gridSize + x0] * (1 - fx) + grid[y0 * gridSize + x1] * fx
                let bottom = grid[y1 * gridSize + x0] * (1 - fx) + grid[y1 * gridSize + x1] * fx
                output[y * side + x] = top * (1 - fy) + bottom * fy
            }
        }
        return output
    }

    /// A gray image enlarged by an integer `factor` (each pixel becomes a factor x factor block), row-major.
    public static func enlarge(_ gray: [UInt8], side: Int, factor: Int) -> [UInt8] {
        precondition(side > 0 && factor > 0 && gray.count == side * side, "gray image size mismatch")
        if factor == 1 { return gray }
        let large = side * factor
        var output = [UInt8](repeating: 0, count: large * large)
        for y in 0..<large {
            let source = (y / factor) * side
            for x in 0..<large { output[y * large + x] = gray[source + x / factor] }
        }
        return output
    }

    /// The gray `side` x `side` image with the grid's heat blended over it. `grid` holds values in 0...1
    /// (see `normalizedByMaximum`): each pixel becomes (1 - a) * gray + a * colormap(h), where h is the
    /// interpolated heat there and a = coldOpacity + (hotOpacity - coldOpacity) * h.
    public func render(gray: [UInt8], side: Int, grid: [Float], gridSize: Int) -> RGBCanvas {
        precondition(gray.count == side * side, "gray image size mismatch")
        let heat = Self.upsample(grid, gridSize: gridSize, to: side)
        var canvas = RGBCanvas(width: side, height: side)
        for index in 0..<(side * side) {
            let h = min(max(heat[index].isNaN ? 0 : heat[index], 0), 1)
            let color = colormap.color(at: h)
            let a = coldOpacity + (hotOpacity - coldOpacity) * h
            let g = Float(gray[index]) * (1 - a)
            func blend(_ c: UInt8) -> UInt8 { UInt8(min(max((g + a * Float(c)).rounded(), 0), 255)) }
            canvas.pixels[3 * index] = blend(color.red)
            canvas.pixels[3 * index + 1] = blend(color.green)
            canvas.pixels[3 * index + 2] = blend(color.blue)
        }
        return canvas
    }
}
