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

    /// The largest finite weight, 0 when there is none above 0.
    public static func peak(_ weights: [Float]) -> Float {
        weights.reduce(Float(0)) { $1.isFinite ? max($0, $1) : $0 }
    }

    /// `weights` divided by `top` and clipped to 0...1 (one scale for several maps: `top` their largest
    /// peak). A `top` that is not above 0 gives all zeros; negative and NaN weights count as 0.
    public static func normalized(_ weights: [Float], by top: Float) -> [Float] {
        guard top > 0, top.isFinite else { return [Float](repeating: 0, count: weights.count) }
        return weights.map { $0.isFinite ? min(max($0, 0) / top, 1) : 0 }
    }

    /// The `gridSize` x `gridSize` grid resampled bilinearly (cell centres) to `side` x `side`, row-major.
    public static func upsample(_ grid: [Float], gridSize: Int, to side: Int) -> [Float] {
        upsample(grid, gridSize: gridSize, width: side, height: side)
    }

    /// The `gridSize` x `gridSize` grid stretched over a `width` x `height` image, each axis on its own (as
    /// intake stretched the image to the square input: `HeatmapGeometry`), resampled bilinearly between cell
    /// centres, row-major.
    public static func upsample(_ grid: [Float], gridSize: Int, width: Int, height: Int) -> [Float] {
        precondition(gridSize > 0 && width > 0 && height > 0 && grid.count == gridSize * gridSize,
                     "grid size mismatch")
        // Per output coordinate: the two cells it lies between and the weight of the second.
        func taps(_ side: Int) -> [(Int, Int, Float)] {
            (0..<side).map { index in
                let position = (Float(index) + 0.5) * Float(gridSize) / Float(side) - 0.5
                let clamped = min(max(position, 0), Float(gridSize - 1))
                let lower = min(Int(clamped), gridSize - 1)
                let upper = min(lower + 1, gridSize - 1)
                return (lower, upper, clamped - Float(lower))
            }
        }
        let columns = taps(width), rows = taps(height)
        var output = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            let (y0, y1, fy) = rows[y]
            for x in 0..<width {
                let (x0, x1, fx) = columns[x]
                let top = grid[y0 * gridSize + x0] * (1 - fx) + grid[y0 * gridSize + x1] * fx
                let bottom = grid[y1 * gridSize + x0] * (1 - fx) + grid[y1 * gridSize + x1] * fx
                output[y * width + x] = top * (1 - fy) + bottom * fy
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

    /// The gray `side` x `side` image with the grid's heat blended over it (see the other `render`).
    public func render(gray: [UInt8], side: Int, grid: [Float], gridSize: Int) -> RGBCanvas {
        render(gray: gray, width: side, height: side, grid: grid, gridSize: gridSize)
    }

    /// The gray `width` x `height` image with the grid's heat blended over it, the grid stretched over the
    /// whole image. `grid` holds values in 0...1 (see `normalizedByMaximum`): each pixel becomes
    /// (1 - a) * gray + a * colormap(h), where h is the interpolated heat there and
    /// a = coldOpacity + (hotOpacity - coldOpacity) * h.
    public func render(gray: [UInt8], width: Int, height: Int, grid: [Float], gridSize: Int) -> RGBCanvas {
        precondition(gray.count == width * height, "gray image size mismatch")
        let heat = Self.upsample(grid, gridSize: gridSize, width: width, height: height)
        var canvas = RGBCanvas(width: width, height: height)
        for index in 0..<(width * height) {
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

    /// A horizontal colour bar, `width` x `height`: the colormap's own colours from 0 (left) to 1 (right),
    /// which the panels blend over the image (more opaque where hotter).
    public func colourBar(width: Int, height: Int) -> RGBCanvas {
        var canvas = RGBCanvas(width: width, height: height)
        for x in 0..<width {
            let h = width == 1 ? 1 : Float(x) / Float(width - 1)
            canvas.fill(x: x, y: 0, width: 1, height: height, color: colormap.color(at: h))
        }
        return canvas
    }
}
