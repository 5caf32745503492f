import CDICOM
import CJPEG
import CXRImageIO
import Foundation
import XCTest

/// The CLI's JPEG (CJPEG, libjpeg) and DICOM (CDICOM: DCMTK + OpenJPEG through include/cxrcaption_dcmtk.hpp)
/// readers on the committed fixtures of Fixtures/readers and Tests/integrations/fixtures (PROVENANCE.md in
/// each). Fixtures/readers/cases.json holds what the references give for each file (python's
/// cxrcaption.dicom.dicom_image on pydicom for DICOM, Pillow's decode for JPEG): the buffer's format, size and
/// keywords, and the FNV-1a 64 hash of its bytes. The readers must give the same, bit for bit.
final class ImageReaderTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let readers = repository.appendingPathComponent("Tests/CXRKitTests/Fixtures/readers")

    struct Case {
        var file: String
        var kind: String
        var format: String
        var width: Int
        var height: Int
        var bitsStored: Int
        var photometric: Int
        var rescale: [Double]
        var window: [Double]?
        var view: String?
        var hash: String
    }

    static func cases() throws -> [Case] {
        let url = readers.appendingPathComponent("cases.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw MissingFixture("no \(url.path)")
        }
        let list = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        return list.map { entry in
            Case(file: entry["file"] as! String, kind: entry["kind"] as! String, format: entry["format"] as! String,
                 width: entry["width"] as! Int, height: entry["height"] as! Int,
                 bitsStored: entry["bits_stored"] as? Int ?? 16, photometric: entry["photometric"] as? Int ?? 0,
                 rescale: entry["rescale"] as? [Double] ?? [1, 0], window: entry["window"] as? [Double],
                 view: entry["view"] as? String, hash: entry["fnv1a64"] as! String)
        }
    }

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        let path = repository.appendingPathComponent(relativePath).path
        guard let data = FileManager.default.contents(atPath: path) else { throw MissingFixture("no \(path)") }
        return [UInt8](data)
    }

    static func fnv1a64(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var hash: UInt64 = 0xCBF29CE484222325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100000001B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func text<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// (ok, image, error) of cxr_dicom_read on the file's bytes.
    static func readDICOM(_ bytes: [UInt8], useWindow: Bool = true,
                          maxPixels: Int = ImageSizeLimit.defaultMaxPixels) -> (Bool, cxr_dicom_image, cxr_dicom_error) {
        var image = cxr_dicom_image()
        var error = cxr_dicom_error()
        let ok = bytes.withUnsafeBufferPointer {
            cxr_dicom_read($0.baseAddress, $0.count, useWindow ? 1 : 0, UInt64(maxPixels), &image, &error)
        }
        return (ok == 1, image, error)
    }

    static func decodeJPEG(_ bytes: [UInt8]) -> (Bool, cxr_jpeg_decoded, String) {
        let (status, decoded, message) = decodeJPEG(bytes, maxPixels: ImageSizeLimit.defaultMaxPixels)
        return (status == 1, decoded, message)
    }

    /// cxr_jpeg_decode's status (1 decoded, 0 refused, 2 over the pixel limit), image and message.
    static func decodeJPEG(_ bytes: [UInt8], maxPixels: Int) -> (Int32, cxr_jpeg_decoded, String) {
        var decoded = cxr_jpeg_decoded()
        var error = cxr_jpeg_error()
        let status = bytes.withUnsafeBufferPointer {
            cxr_jpeg_decode($0.baseAddress, $0.count, 16384, UInt64(maxPixels), &decoded, &error)
        }
        return (status, decoded, text(&error.message))
    }

    /// Every reader checks the pixel limit from the header, says what was asked for, and decodes at the limit.
    func testPixelLimitIsCheckedFromTheHeader() throws {
        // PNG: 206 bytes that claim 16384 x 16384 RGBA16 (2 GiB decoded).
        let huge = try Self.bytes("Tests/CXRKitTests/Fixtures/readers/too_large_16384_rgba16.png")
        XCTAssertThrowsError(try PNGImage(decoding: huge)) { error in
            XCTAssertEqual("\(error)", "PNG image is 16384 x 16384 = 268435456 pixels, more than the limit of 89478485")
        }
        let png = try Self.bytes("Tests/CXRKitTests/Fixtures/intake/png_gray8.png")  // 23 x 17
        XCTAssertThrowsError(try PNGImage(decoding: png, maxPixels: 23 * 17 - 1)) { error in
            XCTAssertTrue(error is ImageTooLarge, "\(error)")
        }
        XCTAssertEqual(try PNGImage(decoding: png, maxPixels: 23 * 17).width, 23)

        let jpeg = try Self.bytes("Tests/CXRKitTests/Fixtures/readers/jpeg_gray.jpg")  // 80 x 64
        let (refused, size, message) = Self.decodeJPEG(jpeg, maxPixels: 80 * 64 - 1)
        XCTAssertEqual(refused, 2)
        XCTAssertEqual([size.width, size.height], [80, 64])
        XCTAssertEqual(message, "image is 80 x 64 = 5120 pixels, more than the limit of 5119")
        let (status, decoded, _) = Self.decodeJPEG(jpeg, maxPixels: 80 * 64)
        XCTAssertEqual(status, 1)
        cxr_jpeg_free(decoded.pixels)

        // DICOM, compressed (RLE, 56 x 44): refused before decoding, decoded at the limit.
        let rle = try Self.bytes("Tests/CXRKitTests/Fixtures/readers/rle_mono16.dcm")
        var (ok, image, error) = Self.readDICOM(rle, maxPixels: 56 * 44 - 1)
        XCTAssertFalse(ok)
        XCTAssertEqual(error.kind, Int32(CXR_DICOM_TOO_LARGE.rawValue))
        XCTAssertEqual(Self.text(&error.message), "image is 56 x 44 = 2464 pixels, more than the limit of 2463")
        (ok, image, error) = Self.readDICOM(rle, maxPixels: 56 * 44)
        XCTAssertTrue(ok, Self.text(&error.message))
        cxr_dicom_free(&image)
        // Uncompressed frames are in memory already: two 48 x 40 frames fit a one-frame limit.
        let frames = try Self.bytes("Tests/CXRKitTests/Fixtures/readers/lateral_signed12_2frames.dcm")
        (ok, image, error) = Self.readDICOM(frames, maxPixels: 48 * 40)
        XCTAssertTrue(ok, Self.text(&error.message))
        cxr_dicom_free(&image)
    }

    func testEveryFixtureGivesTheReferenceBufferBitForBit() throws {
        let cases = try Self.cases()
        XCTAssertGreaterThanOrEqual(cases.filter { $0.kind == "DICOM" }.count, 10)
        XCTAssertGreaterThanOrEqual(cases.filter { $0.kind == "JPEG" }.count, 3)
        for item in cases {
            let bytes = try Self.bytes(item.file)
            if item.kind == "JPEG" {
                let (ok, decoded, message) = Self.decodeJPEG(bytes)
                XCTAssertTrue(ok, "\(item.file): \(message)")
                guard ok else { continue }
                defer { cxr_jpeg_free(decoded.pixels) }
                XCTAssertEqual([Int(decoded.width), Int(decoded.height), Int(decoded.channels)],
                               [item.width, item.height, item.format == "gray8" ? 1 : 3], item.file)
                let count = Int(decoded.width * decoded.height) * Int(decoded.channels)
                XCTAssertEqual(Self.fnv1a64(UnsafeBufferPointer(start: decoded.pixels, count: count)), item.hash,
                               "\(item.file): pixels differ from Pillow's")
                continue
            }
            var (ok, image, error) = Self.readDICOM(bytes)
            XCTAssertTrue(ok, "\(item.file): \(Self.text(&error.message))")
            guard ok else { continue }
            defer { cxr_dicom_free(&image) }
            let format = ["gray8": 1, "gray16": 2, "grayf32": 3, "rgb8": 4][item.format]!
            XCTAssertEqual(image.format, Int32(format), item.file)
            XCTAssertEqual([Int(image.width), Int(image.height)], [item.width, item.height], item.file)
            if format == 2 { XCTAssertEqual(Int(image.bits_stored), item.bitsStored, item.file) }
            XCTAssertEqual(Int(image.photometric), item.photometric, item.file)
            XCTAssertEqual([image.rescale_slope, image.rescale_intercept], item.rescale, item.file)
            if let window = item.window {
                XCTAssertEqual(image.has_window, 1, item.file)
                XCTAssertEqual([image.window_center, image.window_width], window, item.file)
            } else {
                XCTAssertEqual(image.has_window, 0, item.file)
            }
            let view = Self.text(&image.view_position)
            XCTAssertEqual(view.isEmpty ? nil : view, item.view, item.file)
            XCTAssertEqual(Self.fnv1a64(UnsafeBufferPointer(start: image.pixels, count: image.pixel_bytes)), item.hash,
                           "\(item.file): pixels differ from cxrcaption.dicom.dicom_image's")
        }
    }

    func testSignedRescaledCopyHoldsTheSameModalityValues() throws {
        var (ok1, unsigned, _) = Self.readDICOM(try Self.bytes("Tests/integrations/fixtures/rg1_small.dcm"))
        var (ok2, signed, _) = Self.readDICOM(try Self.bytes("Tests/integrations/fixtures/rg1_small_signed_rescaled.dcm"))
        XCTAssertTrue(ok1 && ok2)
        defer { cxr_dicom_free(&unsigned); cxr_dicom_free(&signed) }
        XCTAssertEqual([unsigned.format, signed.format], [2, 3])  // GRAY16, GRAYF32
        let count = Int(unsigned.width * unsigned.height)
        let stored = UnsafeRawPointer(unsigned.pixels!).bindMemory(to: UInt16.self, capacity: count)
        let floats = UnsafeRawPointer(signed.pixels!).bindMemory(to: Float.self, capacity: count)
        for i in 0..<count {
            XCTAssertEqual(Double(floats[i]) * signed.rescale_slope + signed.rescale_intercept, Double(stored[i]))
        }
    }

    func testWhatTheDatasetSays() throws {
        var (ok, image, _) = Self.readDICOM(try Self.bytes("Tests/CXRKitTests/Fixtures/readers/lateral_signed12_2frames.dcm"))
        XCTAssertTrue(ok)
        defer { cxr_dicom_free(&image) }
        XCTAssertEqual(Self.text(&image.view_position), "LL")
        XCTAssertEqual([image.frames, image.bits_allocated, image.bits_stored_attribute, image.pixel_representation],
                       [2, 16, 12, 1])
        XCTAssertEqual(image.window_ignored, 1)  // WindowWidth 1: not a window
        XCTAssertEqual([image.ignored_window_center, image.ignored_window_width], [0, 1])
        XCTAssertEqual(image.has_window, 0)
        // 12-bit two's complement in the low bits, garbage above: sign-extended from bit 11.
        let floats = UnsafeRawPointer(image.pixels!).bindMemory(to: Float.self, capacity: Int(image.width * image.height))
        let values = (0..<Int(image.width * image.height)).map { floats[$0] }
        XCTAssertGreaterThanOrEqual(values.min()!, -2048)
        XCTAssertLessThanOrEqual(values.max()!, 2047)
        XCTAssertLessThan(values.min()!, 0)

        var (okJ2K, j2k, _) = Self.readDICOM(try Self.bytes("Tests/integrations/fixtures/rg1_thumb_jpeg2000.dcm"))
        XCTAssertTrue(okJ2K)
        defer { cxr_dicom_free(&j2k) }
        XCTAssertTrue(Self.text(&j2k.transfer_syntax).contains("1.2.840.10008.1.2.4.90"), Self.text(&j2k.transfer_syntax))

        var (okWindow, noWindow, _) = Self.readDICOM(try Self.bytes("Tests/integrations/fixtures/rg1_small.dcm"),
                                                     useWindow: false)
        XCTAssertTrue(okWindow)
        defer { cxr_dicom_free(&noWindow) }
        XCTAssertEqual(noWindow.has_window, 0)
    }

    func testRefusedFilesSayWhy() throws {
        let refused: [(String, Int32, String)] = [
            ("refused_palette.dcm", 3, "PhotometricInterpretation 'PALETTE COLOR' is not supported"),
            ("refused_short_pixel_data.dcm", 5, "PixelData holds 1000 bytes"),
            ("refused_no_bits_stored.dcm", 2, "no BitsStored (0028,0101) attribute"),
        ]
        for (name, kind, message) in refused {
            var (ok, _, error) = Self.readDICOM(try Self.bytes("Tests/CXRKitTests/Fixtures/readers/" + name))
            XCTAssertFalse(ok, name)
            XCTAssertEqual(error.kind, kind, name)
            XCTAssertTrue(Self.text(&error.message).contains(message), "\(name): \(Self.text(&error.message))")
        }
        var (ok, _, error) = Self.readDICOM(Array("not a DICOM file at all".utf8))
        XCTAssertFalse(ok)
        XCTAssertEqual(error.kind, 1, Self.text(&error.message))  // not DICOM
        let full = try Self.bytes("Tests/integrations/fixtures/rg1_small.dcm")
        (ok, _, error) = Self.readDICOM(Array(full.prefix(full.count / 2)))
        XCTAssertFalse(ok, "a DICOM file cut in half")
        XCTAssertFalse(Self.text(&error.message).isEmpty)
        (ok, _, error) = Self.readDICOM([])
        XCTAssertFalse(ok)

        let (cmyk, _, cmykMessage) = Self.decodeJPEG(try Self.bytes("Tests/CXRKitTests/Fixtures/readers/refused_cmyk.jpg"))
        XCTAssertFalse(cmyk)
        XCTAssertTrue(cmykMessage.contains("CMYK"), cmykMessage)
        let jpeg = try Self.bytes("Tests/CXRKitTests/Fixtures/readers/jpeg_gray.jpg")
        for cut in [3, 20, jpeg.count / 2, jpeg.count - 2] {
            let (ok, _, message) = Self.decodeJPEG(Array(jpeg.prefix(cut)))
            XCTAssertFalse(ok, "a JPEG cut at \(cut) bytes")
            XCTAssertTrue(message.contains("truncated") || message.contains("JPEG"), message)
        }
        let (notJPEG, _, notMessage) = Self.decodeJPEG(Array("GIF89a".utf8))
        XCTAssertFalse(notJPEG)
        XCTAssertTrue(notMessage.contains("not a JPEG"), notMessage)
        // A header larger than the limit is refused before any pixel is allocated.
        var decoded = cxr_jpeg_decoded()
        var error2 = cxr_jpeg_error()
        let small = jpeg.withUnsafeBufferPointer { cxr_jpeg_decode($0.baseAddress, $0.count, 32, 1 << 28, &decoded, &error2) }
        XCTAssertEqual(small, 0)
        XCTAssertTrue(Self.text(&error2.message).contains("width and height must be 1...32"), Self.text(&error2.message))
    }

    /// The two real DICOMs of ../shared (skipped without it): read, with the attributes pydicom reports.
    func testRealDICOMs() throws {
        guard let shared = IntakeFixtures.sharedRealCXR else {
            throw XCTSkip("../shared/data/real-cxr is absent: the real DICOM reader test is skipped")
        }
        let folder = shared.appendingPathComponent("dicom")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".dcm") }
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path)!
            var (ok, image, error) = Self.readDICOM([UInt8](data))
            XCTAssertTrue(ok, "\(name): \(Self.text(&error.message))")
            defer { cxr_dicom_free(&image) }
            XCTAssertEqual(Self.text(&image.view_position), "PA", name)
            if name == "RG1_UNCR.dcm" {
                XCTAssertEqual([image.format, image.width, image.height, image.bits_stored, image.photometric],
                               [2, 1841, 1955, 15, 1])
                XCTAssertEqual([image.window_center, image.window_width], [15000, 30000])
            } else {
                XCTAssertEqual([image.format, image.width, image.height], [1, 1024, 1024])  // JPEG baseline, 8-bit
            }
        }
    }
}
