import CXRImageIO
import CXRIntake

extension PNGImage {
    /// The image as an intake buffer, decoded the way Pillow's `numpy.asarray(Image.open(path))` sees it:
    /// 8-bit gray -> GRAY8, 16-bit gray -> GRAY16, gray+alpha -> GRAY8 of the gray samples, RGB -> RGB8,
    /// RGBA -> RGBA8; 16-bit gray+alpha and color keep each sample's high byte. Palette images arrive as
    /// RGB/RGBA (see `PNGImage(decoding:)`).
    func intakeBuffer() -> (bytes: [UInt8], descriptor: ImageDescriptor) {
        if channels == 1 && bitDepth == 16 {
            let bytes = samples16.withUnsafeBytes { [UInt8]($0) }
            return (bytes, ImageDescriptor(width: width, height: height, format: .gray16))
        }
        let eight: [UInt8] = bitDepth == 8 ? samples8 : samples16.map { UInt8($0 >> 8) }
        switch channels {
        case 1:
            return (eight, ImageDescriptor(width: width, height: height, format: .gray8))
        case 2:
            let gray = stride(from: 0, to: eight.count, by: 2).map { eight[$0] }
            return (gray, ImageDescriptor(width: width, height: height, format: .gray8))
        case 3:
            return (eight, ImageDescriptor(width: width, height: height, format: .rgb8))
        default:
            return (eight, ImageDescriptor(width: width, height: height, format: .rgba8))
        }
    }
}
