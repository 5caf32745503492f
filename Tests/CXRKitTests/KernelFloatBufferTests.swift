import XCTest
@testable import CXRSupport
@testable import CXRTensor

final class KernelFloatBufferTests: XCTestCase {
    func testAllocatesZeroedAlignedMemory() throws {
        let buffer = try FloatBuffer(count: 1000)
        XCTAssertEqual(buffer.count, 1000)
        XCTAssertEqual(UInt(bitPattern: buffer.pointer) % 64, 0)
        XCTAssertTrue((0..<1000).allSatisfy { buffer.pointer[$0] == 0 })
    }

    func testImpossibleSizesThrowOutOfMemoryInsteadOfTrapping() {
        // 2^48 floats are 1 PiB: more than the x86-64 address space, whatever the overcommit policy. Refused
        // before the allocator sees it (which under AddressSanitizer would abort the process).
        for count in [1 << 48, Int.max / 2, FloatBuffer.maximumBytes / 4 + 1] {
            XCTAssertThrowsError(try FloatBuffer(count: count)) { error in
                XCTAssertEqual((error as? CXRError)?.kind, .outOfMemory, "count \(count)")
                XCTAssertTrue("\(error)".contains("exceeds the limit of 64 GiB"), "\(error)")
            }
        }
        XCTAssertThrowsError(try FloatBuffer(count: -1))
    }
}
