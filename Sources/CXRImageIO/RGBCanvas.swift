/// An 8-bit RGB image to draw on: rows packed, channels interleaved (R, G, B).
public struct RGBCanvas: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` samples.
    public var pixels: [UInt8]

    /// An image filled with `color`. Sides must be positive.
    public init(width: Int, height: Int, color: RGB = RGB(0, 0, 0)) {
        precondition(width > 0 && height > 0, "canvas sides must be positive")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, color: color)
    }

    /// An RGB copy of a row-major 8-bit gray image.
    public init(gray: [UInt8], width: Int, height: Int) {
        precondition(width > 0 && height > 0 && gray.count == width * height, "gray image size mismatch")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for (index, value) in gray.enumerated() {
            pixels[3 * index] = value
            pixels[3 * index + 1] = value
            pixels[3 * index + 2] = value
        }
    }

    /// The color at (x, y); (0, 0) is the top-left pixel.
    public func color(x: Int, y: Int) -> RGB {
        let offset = 3 * (y * width + x)
        return RGB(pixels[offset], pixels[offset + 1], pixels[offset + 2])
    }

    /// Sets one pixel; coordinates outside the canvas are ignored.
    public mutating func set(x: Int, y: Int, color: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let offset = 3 * (y * width + x)
        pixels[offset] = color.red
        pixels[offset + 1] = color.green
        pixels[offset + 2] = color.blue
    }

    /// Fills a rectangle, clipped to the canvas.
    public mutating func fill(x: Int, y: Int, width: Int, height: Int, color: RGB) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(self.width, x + width), y1 = min(self.height, y + height)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            var offset = 3 * (row * self.width + x0)
            for _ in x0..<x1 {
                pixels[offset] = color.red
                pixels[offset + 1] = color.green
                pixels[offset + 2] = color.blue
                offset += 3
            }
        }
    }

    /// Copies `other` with its top-left corner at (x, y), clipped to this canvas.
    public mutating func paste(_ other: RGBCanvas, x: Int, y: Int) {
        let first = max(0, -x), last = min(other.width, width - x)  // columns of `other` that land here
        guard first < last else { return }
        for row in 0..<other.height where y + row >= 0 && y + row < height {
            let source = 3 * (row * other.width + first)
            let target = 3 * ((y + row) * width + x + first)
            let count = 3 * (last - first)
            pixels.replaceSubrange(target..<(target + count), with: other.pixels[source..<(source + count)])
        }
    }

    /// The canvas as an 8-bit RGB PNG image.
    public var pngImage: PNGImage {
        PNGImage(width: width, height: height, channels: 3, samples8: pixels)
    }
}

/// An 8-bit RGB color.
public struct RGB: Equatable, Hashable, Sendable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)
}
