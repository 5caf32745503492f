import CXRImageIO
import Foundation
import XCTest

/// libpng decoding of the Pillow-made (and hand-made) files in Fixtures/intake (scripts/intake_fixtures.py).
/// Patterns: 8-bit (31 x + 17 y + 85 c) mod 256, 16-bit (2039 x + 977 y + 13001 c) mod 65536, 23 x 17 pixels.
final class PNGDecodingTests: XCTestCase {
    private let width = 23, height = 17

    private func pattern8(channels: Int) -> [UInt8] {
        var samples: [UInt8] = []
        for y in 0..<height { for x in 0..<width { for c in 0..<channels {
            samples.append(UInt8((31 * x + 17 * y + 85 * c) % 256))
        } } }
        return samples
    }

    private func pattern16(channels: Int) -> [UInt16] {
        var samples: [UInt16] = []
        for y in 0..<height { for x in 0..<width { for c in 0..<channels {
            samples.append(UInt16((2039 * x + 977 * y + 13001 * c) % 65536))
        } } }
        return samples
    }

    private func decode(_ name: String) throws -> PNGImage {
        try IntakeFixtures.png(name)
    }

    func testEightBitLayouts() throws {
        for (name, channels) in [("png_gray8.png", 1), ("png_gray_alpha8.png", 2), ("png_rgb8.png", 3),
                                 ("png_rgba8.png", 4)] {
            let image = try decode(name)
            XCTAssertEqual([image.width, image.height, image.channels, image.bitDepth], [width, height, channels, 8],
                           name)
            XCTAssertEqual(image.samples8, pattern8(channels: channels), name)
            XCTAssertTrue(image.samples16.isEmpty)
        }
    }

    func testSixteenBitSamplesAreExactEvenWithAGammaChunk() throws {
        for name in ["png_gray16.png", "png_gray16_gamma.png"] {
            let image = try decode(name)
            XCTAssertEqual([image.channels, image.bitDepth], [1, 16], name)
            XCTAssertEqual(image.samples16, pattern16(channels: 1), name)
        }
        let rgb = try decode("png_rgb16.png")
        XCTAssertEqual([rgb.channels, rgb.bitDepth], [3, 16])
        XCTAssertEqual(rgb.samples16, pattern16(channels: 3))
    }

    func testPaletteExpandsToRGBAndTransparencyToAlpha() throws {
        var rgb: [UInt8] = [], rgba: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                let i = (x + y) % 16
                let entry = [UInt8(16 * i), UInt8(255 - 16 * i), UInt8(8 * i)]
                rgb += entry
                rgba += entry + [UInt8(17 * i)]
            }
        }
        let plain = try decode("png_palette.png")
        XCTAssertEqual([plain.channels, plain.bitDepth], [3, 8])
        XCTAssertEqual(plain.samples8, rgb)
        let transparent = try decode("png_palette_trns.png")
        XCTAssertEqual([transparent.channels, transparent.bitDepth], [4, 8])
        XCTAssertEqual(transparent.samples8, rgba)
    }

    func testLowBitDepthGrayIsScaledToEightBits() throws {
        var one: [UInt8] = [], four: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                one.append((x + y) % 2 == 1 ? 255 : 0)
                four.append(UInt8(17 * ((x + 2 * y) % 16)))
            }
        }
        XCTAssertEqual(try decode("png_gray1.png").samples8, one)
        XCTAssertEqual(try decode("png_gray4.png").samples8, four)
    }

    func testCorruptFilesThrowWithAMessage() throws {
        for (name, fragment) in [("corrupt_truncated.png", "truncated"), ("corrupt_bad_crc.png", "IHDR: CRC error"),
                                 ("corrupt_idat_data.png", "IDAT"),
                                 ("corrupt_not_png.png", "not a PNG")] {
            XCTAssertThrowsError(try decode(name), name) { error in
                let message = (error as? PNGError)?.message ?? ""
                XCTAssertTrue(message.contains(fragment), "\(name): \(message)")
            }
        }
        XCTAssertThrowsError(try PNGImage(decoding: [])) { error in
            XCTAssertTrue("\(error)".contains("not a PNG"))
        }
        XCTAssertThrowsError(try PNGImage(contentsOf: "/nonexistent/file.png")) { error in
            XCTAssertTrue("\(error)".contains("cannot open /nonexistent/file.png"))
        }
    }

    func testImagesWiderOrTallerThanTheIntakeLimitAreRefusedAfterTheHeader() throws {
        for (width, height) in [(PNGImage.maxSide + 1, 1), (1, PNGImage.maxSide + 1)] {
            let bytes = try PNGImage(width: width, height: height, channels: 1,
                                     samples8: [UInt8](repeating: 7, count: width * height)).encoded()
            XCTAssertThrowsError(try PNGImage(decoding: bytes)) { error in
                let message = (error as? PNGError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains("PNG is \(width)x\(height); width and height must be at most 16384"),
                              message)
            }
        }
        let edge = try PNGImage(width: PNGImage.maxSide, height: 1, channels: 1,
                                samples8: [UInt8](repeating: 7, count: PNGImage.maxSide)).encoded()
        XCTAssertEqual(try PNGImage(decoding: edge).width, PNGImage.maxSide)
    }

    func testBinaryFileRefusesAFIFOWithoutBlocking() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-fifo-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fifo = directory + "/pipe.png"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let finished = DispatchSemaphore(value: 0)
        let outcome = LockedMessage()
        DispatchQueue.global().async {
            do { _ = try BinaryFile.read(fifo); outcome.set("read") } catch { outcome.set("\(error)") }
            finished.signal()
        }
        if finished.wait(timeout: .now() + 10) == .timedOut {
            XCTFail("BinaryFile.read blocked on a FIFO")
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)  // releases the blocked open
            finished.wait()
            close(writer)
        }
        XCTAssertTrue(outcome.get().contains("is not a regular file"), outcome.get())
    }

    func testEveryTruncationOfAValidFileThrows() throws {
        let bytes = [UInt8](try Data(contentsOf: IntakeFixtures.directory.appendingPathComponent("png_rgb16.png")))
        for length in stride(from: 0, to: bytes.count, by: 7) {
            XCTAssertThrowsError(try PNGImage(decoding: Array(bytes[0..<length])), "length \(length)")
        }
        // Random byte flips inside the data: an error or a decoded image, never a crash.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var damaged = bytes
            damaged[Int.random(in: 8..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
            _ = try? PNGImage(decoding: damaged)
        }
    }
}

/// A string shared between a test and a background queue.
final class LockedMessage: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    func set(_ text: String) { lock.lock(); value = text; lock.unlock() }
    func get() -> String { lock.lock(); defer { lock.unlock() }; return value }
}
