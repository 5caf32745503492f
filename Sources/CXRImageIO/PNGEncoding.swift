import CPNG

extension PNGImage {
    /// The image as PNG bytes (no gamma or color-space chunks).
    public func encoded() throws -> [UInt8] {
        guard (1...4).contains(channels), bitDepth == 8 || bitDepth == 16,
              (1...Int(UInt32.max)).contains(width), (1...Int(UInt32.max)).contains(height) else {
            throw PNGError("cannot encode a \(width)x\(height) PNG with \(channels) channels at \(bitDepth) bits")
        }
        let (pixelCount, overflow) = width.multipliedReportingOverflow(by: height)
        let (count, overflow2) = pixelCount.multipliedReportingOverflow(by: channels)
        let available = bitDepth == 8 ? samples8.count : samples16.count
        guard !overflow, !overflow2, available == count else {
            throw PNGError("PNG image of \(width)x\(height)x\(channels) needs \(count) samples but has \(available)")
        }
        var error = cxr_png_error()
        var encoded: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let ok: Int32
        if bitDepth == 8 {
            ok = samples8.withUnsafeBufferPointer {
                cxr_png_encode($0.baseAddress, UInt32(width), UInt32(height), Int32(channels), 8, &encoded, &size,
                               &error)
            }
        } else {
            ok = samples16.withUnsafeBytes {
                cxr_png_encode($0.bindMemory(to: UInt8.self).baseAddress, UInt32(width), UInt32(height),
                               Int32(channels), 16, &encoded, &size, &error)
            }
        }
        guard ok == 1, let bytes = encoded else {
            throw PNGError("PNG could not be encoded: \(PNGImage.message(of: &error))")
        }
        defer { cxr_png_free(bytes) }
        return [UInt8](UnsafeBufferPointer(start: bytes, count: size))
    }

    /// Encodes the image and writes it to `path` (replacing the file).
    public func write(to path: String) throws {
        try BinaryFile.write(try encoded(), to: path)
    }
}
