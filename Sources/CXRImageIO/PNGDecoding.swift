import CPNG

extension PNGImage {
    /// Images wider or taller than this (the image intake's limit) are refused right after the header is read.
    public static let maxSide = 16384

    /// Decodes PNG bytes. Corrupt, truncated or non-PNG data throws `PNGError` (libpng's message); an image of
    /// more than `maxPixels` pixels throws `ImageTooLarge` before its pixels are allocated. It never traps.
    public init(decoding bytes: [UInt8], maxPixels: Int = ImageSizeLimit.defaultMaxPixels) throws {
        var decoded = cxr_png_decoded()
        var error = cxr_png_error()
        let status = bytes.withUnsafeBufferPointer { buffer in
            cxr_png_decode(buffer.baseAddress, buffer.count, UInt32(PNGImage.maxSide),
                           UInt64(max(maxPixels, 0)), &decoded, &error)
        }
        if status == 2 { throw ImageTooLarge("PNG \(PNGImage.message(of: &error))") }
        guard status == 1 else {
            throw PNGError("PNG could not be decoded: \(PNGImage.message(of: &error))")
        }
        defer { cxr_png_free(decoded.pixels) }
        let width = Int(decoded.width), height = Int(decoded.height), channels = Int(decoded.channels)
        let count = width * height * channels
        if decoded.bit_depth == 16 {
            let samples = [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: decoded.pixels, byteCount: 2 * count)
                initialized = count
            }
            self.init(width: width, height: height, channels: channels, samples16: samples)
        } else {
            let samples = [UInt8](UnsafeBufferPointer(start: decoded.pixels, count: count))
            self.init(width: width, height: height, channels: channels, samples8: samples)
        }
    }

    /// Reads and decodes the PNG file at `path`.
    public init(contentsOf path: String, maxPixels: Int = ImageSizeLimit.defaultMaxPixels) throws {
        try self.init(decoding: try BinaryFile.read(path), maxPixels: maxPixels)
    }

    static func message(of error: inout cxr_png_error) -> String {
        withUnsafeBytes(of: &error.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
