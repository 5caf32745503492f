import CCXRCAPI
import CXRIntake

/// A caller's `cxr_image` as the core takes it: the Swift description and exactly the bytes it covers.
struct CallerImage {
    let descriptor: ImageDescriptor
    let pixels: UnsafeRawBufferPointer
}

extension CallerImage {
    /// Converts the caller's struct: checks only what is C's own (NULL, `struct_size`, the raw enum values
    /// and flags, integers that do not fit); every rule about the image itself is the core's
    /// (`IntakeValidation`), which also bounds the buffer the fields describe before anything reads it.
    init(_ pointer: UnsafePointer<cxr_image>?) throws {
        let image = try VersionedStruct.read(required(pointer, "image"), defaults: Defaults.image, "cxr_image")
        let format = try Self.pixelFormat(image.format)
        guard let base = image.pixels else { throw CAPIFailure.invalidImage("image pixels is NULL") }
        let photometric: PhotometricInterpretation
        switch UInt32(bitPattern: image.photometric) {
        case CXR_MONOCHROME2.rawValue: photometric = .monochrome2
        case CXR_MONOCHROME1.rawValue: photometric = .monochrome1
        default:
            throw CAPIFailure.invalidImage(
                "image photometric \(image.photometric) is not a cxr_photometric (0 MONOCHROME2, 1 MONOCHROME1)")
        }
        let window: Window?
        switch image.has_window {
        case 0: window = nil
        case 1: window = Window(center: image.window_center, width: image.window_width)
        default: throw CAPIFailure.invalidImage("image has_window \(image.has_window) is neither 0 nor 1")
        }
        // row_bytes 0 means packed rows.
        var rowBytes: Int? = nil
        if image.row_bytes != 0 {
            guard let exact = Int(exactly: image.row_bytes) else {
                throw CAPIFailure.invalidImage("image row_bytes \(image.row_bytes) is too large")
            }
            rowBytes = exact
        }
        let descriptor = ImageDescriptor(
            width: Int(image.width), height: Int(image.height), format: format, rowBytes: rowBytes,
            bitsStored: Int(image.bits_stored), photometric: photometric, rescaleSlope: image.rescale_slope,
            rescaleIntercept: image.rescale_intercept, window: window)
        self.descriptor = descriptor
        self.pixels = try IntakeValidation.buffer(start: base, descriptor: descriptor)
    }

    private static func pixelFormat(_ value: Int32) throws -> PixelFormat {
        switch UInt32(bitPattern: value) {
        case CXR_PIXEL_GRAY8.rawValue: return .gray8
        case CXR_PIXEL_GRAY16.rawValue: return .gray16
        case CXR_PIXEL_GRAYF32.rawValue: return .grayFloat32
        case CXR_PIXEL_RGB8.rawValue: return .rgb8
        case CXR_PIXEL_RGBA8.rawValue: return .rgba8
        default:
            throw CAPIFailure.invalidImage(
                "image format \(value) is not a cxr_pixel_format (1 GRAY8, 2 GRAY16, 3 GRAYF32, 4 RGB8, 5 RGBA8)")
        }
    }
}
