/// A color scale for heat maps: 0 (cold) to 1 (hot), linear between the entries of a small table.
public struct Colormap: Sendable {
    /// Colors at equally spaced points 0, 1/(n-1), ..., 1.
    public let entries: [RGB]

    public init(entries: [RGB]) {
        precondition(entries.count >= 2, "a colormap needs at least two entries")
        self.entries = entries
    }

    /// The color at `value`, clamped to 0...1 (NaN counts as 0).
    public func color(at value: Float) -> RGB {
        let clamped = value.isNaN ? 0 : min(max(value, 0), 1)
        let position = clamped * Float(entries.count - 1)
        let lower = min(Int(position), entries.count - 2)
        let fraction = position - Float(lower)
        let a = entries[lower], b = entries[lower + 1]
        func mix(_ x: UInt8, _ y: UInt8) -> UInt8 {
            UInt8((Float(x) + (Float(y) - Float(x)) * fraction).rounded())
        }
        return RGB(mix(a.red, b.red), mix(a.green, b.green), mix(a.blue, b.blue))
    }

    /// Turbo-like: violet-blue, cyan, green, yellow, orange, dark red. Its hue falls steadily from about 246°
    /// to 5° as the value rises, so "warmer" always means "more". The entries are the polynomial approximation
    /// of Google's Turbo (colormap by A. Mikhailov, polynomial by R. Du, 2019, Apache 2.0) sampled at 17 points
    /// of [1/16, 1]; its near-black low end is left out so that cold regions stay recognizably blue when blended thinly over an image.
    public static let turbo = Colormap(entries: [
        RGB(73, 62, 175), RGB(69, 103, 236), RGB(53, 144, 248), RGB(39, 182, 230), RGB(39, 214, 197),
        RGB(55, 237, 159), RGB(86, 251, 122), RGB(129, 253, 92), RGB(175, 244, 68), RGB(217, 224, 52),
        RGB(248, 195, 41), RGB(255, 158, 34), RGB(255, 117, 27), RGB(232, 76, 20), RGB(195, 40, 11),
        RGB(159, 17, 1), RGB(144, 13, 0),
    ])
}
