/// The most pixels an image file may decode to: a small compressed file can claim gigabytes (a 2 MB PNG of
/// 16384 x 16384 RGBA16 pixels decodes to 2 GiB). The readers check it from the header, before any pixel is
/// allocated.
public enum ImageSizeLimit {
    /// Pillow's `Image.MAX_IMAGE_PIXELS` (1024 * 1024 * 1024 / 4 / 3): what Python users already expect.
    public static let defaultMaxPixels = 89_478_485
}

/// An image file whose pixels exceed the limit it was read with.
public struct ImageTooLarge: Error, Sendable, CustomStringConvertible {
    /// What the reader said: the image's size, the pixels it would decode and the limit.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
