import CCXRCAPI
import CXRKit

/// A validated `cxr_image`: the Swift description and exactly the bytes it covers.
struct CallerImage {
    let descriptor: ImageDescriptor
    let pixels: UnsafeRawBufferPointer
}

extension CallerImage {
    /// Checks every field of the caller's image (and, for float pixels, every value) before CXRKit sees it,
    /// so that nothing the caller describes can make the library read outside the buffer or trap.
    init(_ pointer: UnsafePointer<cxr_image>?) throws {
        let image = try VersionedStruct.read(required(pointer, "image"), defaults: Defaults.image, "cxr_image")

        let format = try Self.pixelFormat(image.format)
        guard let base = image.pixels else { throw CAPIFailure.invalidImage("image pixels is NULL") }
        let sides = Int(CXR_MIN_IMAGE_SIDE)...Int(CXR_MAX_IMAGE_SIDE)
        guard sides.contains(Int(image.width)) else {
            throw CAPIFailure.invalidImage("image width \(image.width) is outside \(sides.lowerBound)...\(sides.upperBound)")
        }
        guard sides.contains(Int(image.height)) else {
            throw CAPIFailure.invalidImage("image height \(image.height) is outside \(sides.lowerBound)...\(sides.upperBound)")
        }
        let width = Int(image.width), height = Int(image.height)
        let pixelBytes = format.bytesPerPixel
        let packedRowBytes = width * pixelBytes  // <= 16384 x 4: cannot overflow

        let rowBytes: Int
        if image.row_bytes == 0 {
            rowBytes = packedRowBytes
        } else {
            guard image.row_bytes >= UInt64(packedRowBytes) else {
                throw CAPIFailure.invalidImage(
                    "image row_bytes \(image.row_bytes) is less than width \(width) x \(pixelBytes) "
                        + (pixelBytes == 1 ? "byte" : "bytes"))
            }
            guard let exact = Int(exactly: image.row_bytes) else {
                throw CAPIFailure.invalidImage("image row_bytes \(image.row_bytes) is too large")
            }
            rowBytes = exact
        }
        // The buffer spans (height - 1) rows of row_bytes plus one packed row.
        let (rowsBytes, overflow1) = rowBytes.multipliedReportingOverflow(by: height - 1)
        let (byteCount, overflow2) = rowsBytes.addingReportingOverflow(packedRowBytes)
        let (_, overflow3) = UInt(bitPattern: base).addingReportingOverflow(UInt(bitPattern: byteCount))
        guard !overflow1, !overflow2, !overflow3 else {
            throw CAPIFailure.invalidImage(
                "image row_bytes \(rowBytes) x height \(height) does not fit in the address space")
        }
        if pixelBytes > 1, format != .rgb8, format != .rgba8 {
            let sample = pixelBytes
            guard UInt(bitPattern: base) % UInt(sample) == 0, rowBytes % sample == 0 else {
                throw CAPIFailure.invalidImage(
                    "image pixels and row_bytes \(rowBytes) must be multiples of the \(sample)-byte sample size")
            }
        }

        guard format != .gray16 || (1...16).contains(image.bits_stored) else {
            throw CAPIFailure.invalidImage("image bits_stored \(image.bits_stored) is outside 1...16")
        }
        let photometric: PhotometricInterpretation
        switch UInt32(bitPattern: image.photometric) {
        case CXR_MONOCHROME2.rawValue: photometric = .monochrome2
        case CXR_MONOCHROME1.rawValue: photometric = .monochrome1
        default:
            throw CAPIFailure.invalidImage(
                "image photometric \(image.photometric) is not a cxr_photometric (0 MONOCHROME2, 1 MONOCHROME1)")
        }
        guard image.rescale_slope.isFinite else {
            throw CAPIFailure.invalidImage("image rescale_slope \(image.rescale_slope) is not finite")
        }
        guard image.rescale_intercept.isFinite else {
            throw CAPIFailure.invalidImage("image rescale_intercept \(image.rescale_intercept) is not finite")
        }
        var window: Window?
        switch image.has_window {
        case 0: window = nil
        case 1:
            guard image.window_center.isFinite else {
                throw CAPIFailure.invalidImage("image window_center \(image.window_center) is not finite")
            }
            guard image.window_width.isFinite, image.window_width > 1 else {
                throw CAPIFailure.invalidImage(
                    "image window_width \(image.window_width) must be a finite number greater than 1 "
                        + "(or set has_window to 0 for no window)")
            }
            window = Window(center: image.window_center, width: image.window_width)
        default:
            throw CAPIFailure.invalidImage("image has_window \(image.has_window) is neither 0 nor 1")
        }

        let pixels = UnsafeRawBufferPointer(start: base, count: byteCount)
        if format == .grayFloat32 {
            try Self.checkFinite(pixels, width: width, height: height, rowBytes: rowBytes)
        }
        self.descriptor = ImageDescriptor(
            width: width, height: height, format: format, rowBytes: rowBytes, bitsStored: Int(image.bits_stored),
            photometric: photometric, rescaleSlope: image.rescale_slope,
            rescaleIntercept: image.rescale_intercept, window: window)
        self.pixels = pixels
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

    /// NaN or Inf in a float buffer is an error, named with its position.
    private static func checkFinite(_ pixels: UnsafeRawBufferPointer, width: Int, height: Int, rowBytes: Int) throws {
        for y in 0..<height {
            let row = pixels.baseAddress! + y * rowBytes
            for x in 0..<width {
                let value = row.load(fromByteOffset: x * 4, as: Float.self)
                guard value.isFinite else {
                    throw CAPIFailure.invalidImage("image pixel (\(x), \(y)) is \(value), not a finite number")
                }
            }
        }
    }
}
