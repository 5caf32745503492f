/// A decoded PNG: 8 or 16 bits per sample, rows packed, channels interleaved.
///
/// Decoding expands what libpng can expand: palette images become RGB (RGBA when the palette has a tRNS chunk),
/// 1/2/4-bit gray becomes 8-bit gray scaled to 0...255. Gray+alpha stays 2 channels. Samples are the file's
/// samples exactly: no gamma or color-space conversion is applied (gAMA, sRGB, iCCP chunks are ignored).
public struct PNGImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
    public var channels: Int
    /// 8 or 16.
    public var bitDepth: Int
    /// Samples of an 8-bit image (`width * height * channels`); empty for a 16-bit one.
    public var samples8: [UInt8]
    /// Samples of a 16-bit image, native byte order; empty for an 8-bit one.
    public var samples16: [UInt16]

    /// An 8-bit image. `samples.count` must be `width * height * channels`.
    public init(width: Int, height: Int, channels: Int, samples8: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = 8
        self.samples8 = samples8
        self.samples16 = []
    }

    /// A 16-bit image. `samples.count` must be `width * height * channels`.
    public init(width: Int, height: Int, channels: Int, samples16: [UInt16]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = 16
        self.samples8 = []
        self.samples16 = samples16
    }
}

/// A PNG that could not be read, decoded or written; the message says why.
public struct PNGError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
