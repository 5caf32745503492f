/// Layout of a caller's pixel buffer.
public enum PixelFormat: Equatable, Sendable {
    case gray8, gray16, grayFloat32, rgb8, rgba8

    /// Bytes one pixel occupies.
    public var bytesPerPixel: Int {
        switch self {
        case .gray8: return 1
        case .gray16: return 2
        case .grayFloat32: return 4
        case .rgb8: return 3
        case .rgba8: return 4
        }
    }
}

/// DICOM photometric interpretation of a grayscale image.
public enum PhotometricInterpretation: Equatable, Sendable {
    /// Low values are dark (the usual case; also every RGB input).
    case monochrome2
    /// Low values are bright (many CR images): inverted after VOI.
    case monochrome1
}

/// A DICOM VOI LUT window (PS3.3 C.11.2.1.2).
public struct Window: Equatable, Sendable {
    public var center: Double
    public var width: Double
    public init(center: Double, width: Double) {
        self.center = center
        self.width = width
    }
}

/// Everything about a pixel buffer except its bytes (the C layer's `cxr_image`).
/// See docs/INTAKE.md for the exact meaning of each field.
public struct ImageDescriptor: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// Bytes from the start of one row to the next; at least width x bytesPerPixel.
    public var rowBytes: Int
    public var format: PixelFormat
    /// Significant bits of a GRAY16 sample (1...16); bits above are masked off. Ignored for other formats.
    public var bitsStored: Int
    public var photometric: PhotometricInterpretation
    public var rescaleSlope: Double
    public var rescaleIntercept: Double
    /// nil: no window (the image's own range, or 0...255 for 8-bit input, maps to [0, 1]).
    public var window: Window?

    public init(width: Int, height: Int, format: PixelFormat, rowBytes: Int? = nil, bitsStored: Int = 16,
                photometric: PhotometricInterpretation = .monochrome2, rescaleSlope: Double = 1,
                rescaleIntercept: Double = 0, window: Window? = nil) {
        self.width = width
        self.height = height
        self.format = format
        self.rowBytes = rowBytes ?? width &* format.bytesPerPixel
        self.bitsStored = bitsStored
        self.photometric = photometric
        self.rescaleSlope = rescaleSlope
        self.rescaleIntercept = rescaleIntercept
        self.window = window
    }
}
