import CXRImageIO
import Foundation
import XCTest
@testable import CXRIntake
@testable import CXRSupport

/// The committed fixtures of Fixtures/intake (see PROVENANCE.md there): inputs cut from real CXRs and made-up
/// buffers, with the numpy reference's outputs. Swift must reproduce them bit for bit.
enum IntakeFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/intake")

    /// `<repo>/../shared/data/real-cxr`, when present.
    static var sharedRealCXR: URL? {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/data/real-cxr")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    struct Case {
        var name: String
        var bytes: [UInt8]
        var descriptor: ImageDescriptor
        var size: Int
        var expected: [UInt8]
    }

    static func png(_ name: String) throws -> PNGImage {
        try PNGImage(contentsOf: directory.appendingPathComponent(name).path)
    }

    /// The pixel bytes of a decoded PNG as intake reads them (16-bit samples in machine order).
    static func bytes(of image: PNGImage) -> [UInt8] {
        image.bitDepth == 16 ? image.samples16.withUnsafeBytes { [UInt8]($0) } : image.samples8
    }

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: directory.appendingPathComponent("cases.json"))
        let entries = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let formats: [String: PixelFormat] = [
            "gray8": .gray8, "gray16": .gray16, "grayf32": .grayFloat32, "rgb8": .rgb8, "rgba8": .rgba8,
        ]
        return try entries.map { entry in
            let input = try XCTUnwrap(entry["input"] as? String)
            var descriptor = ImageDescriptor(
                width: try XCTUnwrap(entry["width"] as? Int), height: try XCTUnwrap(entry["height"] as? Int),
                format: try XCTUnwrap(formats[try XCTUnwrap(entry["format"] as? String)]),
                rowBytes: entry["row_bytes"] as? Int, bitsStored: try XCTUnwrap(entry["bits_stored"] as? Int),
                photometric: entry["photometric"] as? String == "MONOCHROME1" ? .monochrome1 : .monochrome2,
                rescaleSlope: try XCTUnwrap(entry["rescale_slope"] as? Double),
                rescaleIntercept: try XCTUnwrap(entry["rescale_intercept"] as? Double))
            if let window = entry["window"] as? [Double] {
                descriptor.window = Window(center: window[0], width: window[1])
            }
            let bytes: [UInt8]
            if input.hasSuffix(".raw") {
                bytes = [UInt8](try Data(contentsOf: directory.appendingPathComponent(input)))
            } else {
                bytes = Self.bytes(of: try png(input))
            }
            let expected = try png(try XCTUnwrap(entry["expected"] as? String))
            return Case(name: try XCTUnwrap(entry["name"] as? String), bytes: bytes, descriptor: descriptor,
                        size: try XCTUnwrap(entry["size"] as? Int), expected: expected.samples8)
        }
    }

    /// Largest distance between the output's cumulative histogram and the uniform one, and the largest single
    /// level's share of the pixels (a level cannot be split, so flatness is only possible up to that).
    static func flatness(_ image: [UInt8]) -> (distance: Double, largestLevel: Double) {
        var histogram = [Int](repeating: 0, count: 256)
        for value in image { histogram[Int(value)] += 1 }
        var cumulative = 0, distance = 0.0
        for level in 0..<256 {
            cumulative += histogram[level]
            distance = max(distance, abs(Double(cumulative) / Double(image.count) - Double(level + 1) / 256))
        }
        return (distance, Double(histogram.max()!) / Double(image.count))
    }
}

final class IntakeFixtureTests: XCTestCase {
    func testEveryFixtureMatchesTheNumpyReferenceBitForBit() throws {
        let cases = try IntakeFixtures.cases()
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        for fixture in cases {
            let output = try fixture.bytes.withUnsafeBytes {
                try ImageIntake.equalizedImage(pixels: $0, descriptor: fixture.descriptor, size: fixture.size)
            }
            XCTAssertEqual(output.count, fixture.size * fixture.size, fixture.name)
            XCTAssertEqual(fixture.expected.count, output.count, fixture.name)
            let differing = zip(output, fixture.expected).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(fixture.name): \(differing) pixels differ from the numpy reference")
        }
    }

    /// The DICOM crop (15-bit MONOCHROME1 CR, window 15000/30000) as the published design needs it: 256 x 256,
    /// bright bones (inverted), and a flat histogram.
    func testRealDicomCropGivesAFlatHistogramAt256() throws {
        let cases = try IntakeFixtures.cases()
        let dicom = try XCTUnwrap(cases.first { $0.name == "rg1_uncr_stride8" })
        XCTAssertEqual(dicom.descriptor.photometric, .monochrome1)
        let output = try dicom.bytes.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: dicom.descriptor, size: 256)
        }
        XCTAssertEqual(output.count, 256 * 256)
        XCTAssertEqual(output.min(), 0)
        XCTAssertEqual(output.max(), 255)
        let flat = IntakeFixtures.flatness(output)
        XCTAssertLessThan(flat.distance, 0.035)
        XCTAssertLessThanOrEqual(flat.distance, flat.largestLevel + 1.0 / 256)
        // Without equalization (resize and quantize only) the same image is far from flat.
        let raw = try dicom.bytes.withUnsafeBytes { pixels -> [UInt8] in
            let mapping = try ImageIntake.intensityMapping(pixels: pixels, descriptor: dicom.descriptor)
            return try ImageIntake.resizeToEightBit(
                PixelRows(pixels: pixels, descriptor: dicom.descriptor, mapping: mapping), size: 256)
        }
        XCTAssertGreaterThan(IntakeFixtures.flatness(raw).distance, 0.1)
        // MONOCHROME1: the lung fields (low attenuation, high stored values) come out dark; the spine bright.
        let centerColumn = (96..<160).map { output[128 * 256 + $0] }
        let leftLung = (40..<90).map { output[110 * 256 + $0] }
        XCTAssertGreaterThan(centerColumn.map(Int.init).reduce(0, +) / centerColumn.count,
                             leftLung.map(Int.init).reduce(0, +) / leftLung.count)
    }

    /// Every real PNG CXR in ../shared (skipped when absent) gives a 256 x 256 output that is as flat as its
    /// largest gray level allows.
    func testSharedRealCXRsGiveFlatHistograms() throws {
        guard let root = IntakeFixtures.sharedRealCXR else {
            throw XCTSkip("../shared/data/real-cxr is absent; the committed fixtures cover parity")
        }
        let files = FileManager.default.enumerator(atPath: root.path)!.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 20)
        for file in files {
            let png = try PNGImage(contentsOf: root.appendingPathComponent(file).path)
            let format: PixelFormat = png.channels == 1 ? (png.bitDepth == 16 ? .gray16 : .gray8)
                : png.channels == 3 ? .rgb8 : .rgba8
            XCTAssertNotEqual(png.channels, 2, file)
            let descriptor = ImageDescriptor(width: png.width, height: png.height, format: format)
            let output = try IntakeFixtures.bytes(of: png).withUnsafeBytes {
                try ImageIntake.equalizedImage(pixels: $0, descriptor: descriptor, size: 256)
            }
            XCTAssertEqual(output.count, 256 * 256, file)
            XCTAssertEqual(output.max(), 255, file)
            XCTAssertEqual(output.min(), 0, file)
            let flat = IntakeFixtures.flatness(output)
            XCTAssertLessThanOrEqual(flat.distance, flat.largestLevel + 1.0 / 256, file)
        }
    }
}
