/// A decoded PNG: 8 or 16 bits per sample, 1 (gray) or 3 (RGB) or 4 (RGBA) channels, rows packed.
/// 16-bit samples are stored native-endian in `samples16`; 8-bit ones in `samples8`.
public struct PNGImage: Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var bitDepth: Int
    public var samples8: [UInt8]
    public var samples16: [UInt16]
}
