import XCTest
@testable import CXRSupport

/// Corrupted model files must produce a `CXRError`, never a trap or a crash.
final class WeightsCorruptionTests: XCTestCase {
    private func outcome(_ bytes: [UInt8]) -> String {
        do {
            _ = try bytes.withUnsafeBytes { try TestWeights.load(bytes: $0) }
            return "loaded"
        } catch let error as CXRError {
            XCTAssertFalse(error.message.isEmpty)
            return "error"
        } catch {
            XCTFail("non-CXRError \(error)")
            return "other"
        }
    }

    func testEveryTruncationIsRejected() throws {
        let bytes = try TinyModel(withFindings: true).bytes()
        XCTAssertEqual(outcome(bytes), "loaded")
        let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8 + Int(bytes[2]) << 16
        // Every cut inside the length and header, and a sample of cuts inside the data.
        for length in Array(0..<headerEnd + 16) + Array(stride(from: headerEnd + 16, to: bytes.count, by: 97)) {
            XCTAssertEqual(outcome(Array(bytes[..<length])), "error", "truncated to \(length) bytes")
        }
    }

    func testRandomByteCorruptionNeverTraps() throws {
        let bytes = try TinyModel(withFindings: true).bytes()
        let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8 + Int(bytes[2]) << 16
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        let interesting: [UInt8] = [0x00, 0x22, 0x2C, 0x30, 0x39, 0x5B, 0x5C, 0x5D, 0x7B, 0x7D, 0xFF, 0x2D, 0x65]
        var outcomes: [String: Int] = [:]
        for _ in 0..<1000 {
            var corrupted = bytes
            for _ in 0..<(1 + next() % 3) {
                let position = next() % headerEnd  // the header is where parsing decisions are made
                corrupted[position] = next() % 2 == 0 ? interesting[next() % interesting.count] : UInt8(next() % 256)
            }
            outcomes[outcome(corrupted), default: 0] += 1
        }
        XCTAssertEqual(outcomes["other"], nil)
        XCTAssertGreaterThan(outcomes["error"] ?? 0, 300, "\(outcomes)")
    }

    func testHostileHeadersAreRejectedCleanly() {
        func file(_ header: String) -> [UInt8] {
            let bytes = Array(header.utf8)
            return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bytes.count) >> (8 * $0)) } + bytes
        }
        XCTAssertEqual(outcome(file(String(repeating: "[", count: 5_000_000))), "error")
        XCTAssertEqual(outcome(file("{\"a\":" + String(repeating: "9", count: 1_000_000) + "}")), "error")
        XCTAssertEqual(outcome(file("{\"a\": {\"dtype\": \"F32\", \"shape\": [" + Array(repeating: "0", count: 100_000)
            .joined(separator: ",") + "], \"data_offsets\": [0, 0]}}")), "error")  // valid layout, not a model
    }
}
