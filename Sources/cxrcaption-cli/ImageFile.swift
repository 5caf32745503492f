import CDICOM
import CJPEG
import CXRImageIO
import CXRIntake
import Foundation

/// The image files the CLI reads: DICOM (DCMTK, include/cxrcaption_dcmtk.hpp's mapping), JPEG (libjpeg) and
/// PNG (libpng).
enum ImageKind: String, Equatable, Sendable {
    case dicom = "DICOM"
    case jpeg = "JPEG"
    case png = "PNG"
}

/// A decoded image, ready for intake: its pixels, their description and what the file says about its view.
struct DecodedImage {
    var kind: ImageKind
    var bytes: [UInt8]
    var descriptor: ImageDescriptor
    /// DICOM ViewPosition (0018,5101) as written ("PA", "LL", ...); nil when the file has none.
    var view: String?
    /// Remarks worth showing once (e.g. a DICOM window that is not applied).
    var notes: [String] = []
}

/// A file that could not be read or decoded; the message says why (and names the file's kind).
struct ImageFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Recognizing and decoding image files.
///
/// A file's kind comes from its first bytes: "DICM" at byte 128 (DICOM Part 10), the PNG signature, or a JPEG
/// start-of-image marker (FF D8 FF); when none matches, from its extension (.dcm, .dicom, .dic; .png; .jpg,
/// .jpeg, .jpe, .jfif), which covers DICOM datasets stored without the 128-byte preamble.
enum ImageFile {
    static let dicomExtensions: Set<String> = ["dcm", "dicom", "dic"]
    static let jpegExtensions: Set<String> = ["jpg", "jpeg", "jpe", "jfif"]

    /// The kind the first bytes of a file announce, if any.
    static func kind(ofContent head: [UInt8]) -> ImageKind? {
        if head.count >= 132 && Array(head[128..<132]) == Array("DICM".utf8) { return .dicom }
        if head.count >= 8 && Array(head[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF { return .jpeg }
        return nil
    }

    /// The kind a file name's extension announces (any letter case), if any.
    static func kind(ofExtension path: String) -> ImageKind? {
        let ext = (path as NSString).pathExtension.lowercased()
        if ext == "png" { return .png }
        if jpegExtensions.contains(ext) { return .jpeg }
        if dicomExtensions.contains(ext) { return .dicom }
        return nil
    }

    /// The first 132 bytes of the file (fewer when it is shorter); nil when it cannot be opened.
    static func head(of path: String) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return [UInt8]((try? handle.read(upToCount: 132)) ?? Data())
    }

    /// The file's kind by content, else by extension; nil when neither says it is an image.
    static func kind(of path: String) -> ImageKind? {
        if let head = head(of: path), let kind = kind(ofContent: head) { return kind }
        return kind(ofExtension: path)
    }

    /// Reads and decodes the image at `path` (its kind found as `kind(of:)` does). `useWindow` false ignores a
    /// DICOM file's WindowCenter/Width. An image that would decode to more than `maxPixels` pixels is refused
    /// from its header (`ImageSizeLimit`; the message names `--max-pixels`).
    static func read(_ path: String, useWindow: Bool = true,
                     maxPixels: Int = ImageSizeLimit.defaultMaxPixels) throws -> DecodedImage {
        do {
            return try decode(path, useWindow: useWindow, maxPixels: maxPixels)
        } catch let error as ImageTooLarge {
            throw ImageFileError("\(error.message) (--max-pixels raises the limit)")
        }
    }

    private static func decode(_ path: String, useWindow: Bool, maxPixels: Int) throws -> DecodedImage {
        let bytes: [UInt8]
        do {
            bytes = try BinaryFile.read(path)
        } catch let error as PNGError {
            throw ImageFileError(error.message)
        }
        let kind = Self.kind(ofContent: Array(bytes.prefix(132))) ?? Self.kind(ofExtension: path)
        switch kind {
        case .png?:
            do {
                let (pixels, descriptor) = try PNGImage(decoding: bytes, maxPixels: maxPixels).intakeBuffer()
                return DecodedImage(kind: .png, bytes: pixels, descriptor: descriptor, view: nil)
            } catch let error as PNGError {
                throw ImageFileError(error.message)
            }
        case .jpeg?:
            return try decodeJPEG(bytes, maxPixels: maxPixels)
        case .dicom?:
            return try decodeDICOM(bytes, useWindow: useWindow, maxPixels: maxPixels)
        case nil:
            throw ImageFileError("not an image: neither its content nor its extension is DICOM, JPEG or PNG")
        }
    }

    /// JPEG as Pillow's `numpy.asarray(Image.open(path))` sees it: gray -> GRAY8, YCbCr/RGB -> RGB8.
    static func decodeJPEG(_ bytes: [UInt8], maxPixels: Int) throws -> DecodedImage {
        var decoded = cxr_jpeg_decoded()
        var error = cxr_jpeg_error()
        let status = bytes.withUnsafeBufferPointer {
            cxr_jpeg_decode($0.baseAddress, $0.count, UInt32(PNGImage.maxSide), UInt64(max(maxPixels, 0)),
                            &decoded, &error)
        }
        if status == 2 { throw ImageTooLarge("JPEG \(message(of: &error.message))") }
        guard status == 1 else { throw ImageFileError("JPEG could not be decoded: \(message(of: &error.message))") }
        defer { cxr_jpeg_free(decoded.pixels) }
        let width = Int(decoded.width), height = Int(decoded.height), channels = Int(decoded.channels)
        let pixels = [UInt8](UnsafeBufferPointer(start: decoded.pixels, count: width * height * channels))
        let descriptor = ImageDescriptor(width: width, height: height, format: channels == 1 ? .gray8 : .rgb8)
        return DecodedImage(kind: .jpeg, bytes: pixels, descriptor: descriptor, view: nil)
    }

    /// DICOM through include/cxrcaption_dcmtk.hpp (docs/INTAKE.md, "DICOM").
    static func decodeDICOM(_ bytes: [UInt8], useWindow: Bool, maxPixels: Int) throws -> DecodedImage {
        var image = cxr_dicom_image()
        var error = cxr_dicom_error()
        let ok = bytes.withUnsafeBufferPointer {
            cxr_dicom_read($0.baseAddress, $0.count, useWindow ? 1 : 0, UInt64(max(maxPixels, 0)), &image, &error)
        }
        if ok != 1 && error.kind == Int32(CXR_DICOM_TOO_LARGE.rawValue) {
            throw ImageTooLarge("DICOM \(message(of: &error.message))")
        }
        guard ok == 1 else { throw ImageFileError("DICOM: \(message(of: &error.message))") }
        defer { cxr_dicom_free(&image) }
        let format: PixelFormat
        switch image.format {
        case 1: format = .gray8
        case 2: format = .gray16
        case 3: format = .grayFloat32
        default: format = .rgb8
        }
        var descriptor = ImageDescriptor(width: Int(image.width), height: Int(image.height), format: format,
                                         bitsStored: Int(image.bits_stored),
                                         photometric: image.photometric == 1 ? .monochrome1 : .monochrome2,
                                         rescaleSlope: image.rescale_slope, rescaleIntercept: image.rescale_intercept)
        if image.has_window != 0 {
            descriptor.window = Window(center: image.window_center, width: image.window_width)
        }
        let pixels = [UInt8](UnsafeBufferPointer(start: image.pixels, count: image.pixel_bytes))
        let view = message(of: &image.view_position)
        var decoded = DecodedImage(kind: .dicom, bytes: pixels, descriptor: descriptor,
                                   view: view.isEmpty ? nil : view)
        if image.window_ignored != 0 && useWindow {
            decoded.notes.append("window \(image.ignored_window_center)/\(image.ignored_window_width) is not "
                                 + "applied (its width must be > 1); the image's own range is used")
        }
        return decoded
    }

    /// A NUL-terminated C char array as a String.
    static func message<T>(of tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
