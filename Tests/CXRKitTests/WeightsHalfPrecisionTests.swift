import XCTest
@testable import CXRWeights

final class WeightsHalfPrecisionTests: XCTestCase {
    private func bits(_ value: Float) -> UInt32 { value.bitPattern }

    func testF16SpecialValues() {
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x0000).bitPattern, 0)
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x8000).bitPattern, 0x8000_0000)  // -0 keeps its sign
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x3C00), 1)
        XCTAssertEqual(HalfPrecision.float(fromF16: 0xC000), -2)
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x3555), 0.333251953125)
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x7BFF), 65504)  // largest finite
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x0400), 0x1p-14)  // smallest normal
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x0001), 0x1p-24)  // smallest subnormal
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x03FF), 1023 * 0x1p-24)  // largest subnormal
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x8001), -0x1p-24)
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x7C00), .infinity)
        XCTAssertEqual(HalfPrecision.float(fromF16: 0xFC00), -.infinity)
        XCTAssertTrue(HalfPrecision.float(fromF16: 0x7E00).isNaN)
        XCTAssertTrue(HalfPrecision.float(fromF16: 0x7C01).isNaN)  // signalling payload stays NaN
        XCTAssertEqual(HalfPrecision.float(fromF16: 0x7C01).bitPattern, 0x7F80_2000)
        XCTAssertEqual(HalfPrecision.float(fromF16: 0xFE00).bitPattern, 0xFFC0_0000)
    }

    /// Every one of the 65536 patterns against an independent formula (and the platform's Float16 where
    /// it exists).
    func testF16WideningIsExactForEveryPattern() {
        for pattern in 0...UInt16.max {
            let value = HalfPrecision.float(fromF16: pattern)
            let sign: Float = pattern & 0x8000 != 0 ? -1 : 1
            let exponent = Int(pattern >> 10) & 0x1F
            let mantissa = Float(pattern & 0x3FF)
            let expected: Float
            switch exponent {
            case 0: expected = sign * mantissa * 0x1p-24
            case 31: expected = mantissa == 0 ? sign * .infinity : .nan
            default: expected = sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
            }
            if expected.isNaN {
                XCTAssertTrue(value.isNaN, "pattern \(pattern)")
            } else {
                XCTAssertEqual(value.bitPattern, expected.bitPattern, "pattern \(pattern)")
            }
            #if arch(x86_64) || arch(arm64)
            let platform = Float(Float16(bitPattern: pattern))
            XCTAssertEqual(value.isNaN, platform.isNaN)
            if !platform.isNaN { XCTAssertEqual(value.bitPattern, platform.bitPattern, "pattern \(pattern)") }
            #endif
        }
    }

    func testBF16Widening() {
        XCTAssertEqual(HalfPrecision.float(fromBF16: 0x3F80), 1)
        XCTAssertEqual(HalfPrecision.float(fromBF16: 0xC0A0), -5)
        XCTAssertEqual(HalfPrecision.float(fromBF16: 0x8000).bitPattern, 0x8000_0000)
        XCTAssertEqual(HalfPrecision.float(fromBF16: 0x0001), 0x1p-133)  // subnormal
        XCTAssertEqual(HalfPrecision.float(fromBF16: 0x7F80), .infinity)
        XCTAssertEqual(HalfPrecision.float(fromBF16: 0xFF80), -.infinity)
        XCTAssertTrue(HalfPrecision.float(fromBF16: 0x7FC0).isNaN)
        XCTAssertEqual(HalfPrecision.float(fromBF16: 0x7F7F), Float(bitPattern: 0x7F7F_0000))
        for pattern in stride(from: 0, through: 0xFFFF, by: 1) {
            XCTAssertEqual(HalfPrecision.float(fromBF16: UInt16(pattern)).bitPattern, UInt32(pattern) << 16)
        }
    }

    func testF16NarrowingRoundsToNearestEven() {
        // Every finite half survives a round trip.
        for pattern in 0...UInt16.max where pattern & 0x7C00 != 0x7C00 {
            XCTAssertEqual(HalfPrecision.f16Bits(from: HalfPrecision.float(fromF16: pattern)), pattern)
        }
        XCTAssertEqual(HalfPrecision.f16Bits(from: 1 + 0x1p-11), 0x3C00)  // tie -> even (down)
        XCTAssertEqual(HalfPrecision.f16Bits(from: 1 + 3 * 0x1p-11), 0x3C02)  // tie -> even (up)
        XCTAssertEqual(HalfPrecision.f16Bits(from: 1 + 0x1p-11 + 0x1p-20), 0x3C01)  // above the tie
        XCTAssertEqual(HalfPrecision.f16Bits(from: 65519), 0x7BFF)
        XCTAssertEqual(HalfPrecision.f16Bits(from: 65520), 0x7C00)  // rounds up to infinity
        XCTAssertEqual(HalfPrecision.f16Bits(from: 1e10), 0x7C00)
        XCTAssertEqual(HalfPrecision.f16Bits(from: -1e10), 0xFC00)
        XCTAssertEqual(HalfPrecision.f16Bits(from: 0x1p-25), 0x0000)  // tie with zero -> even (zero)
        XCTAssertEqual(HalfPrecision.f16Bits(from: 0x1p-25 * 1.5), 0x0001)
        XCTAssertEqual(HalfPrecision.f16Bits(from: 0x1p-26), 0x0000)
        XCTAssertEqual(HalfPrecision.f16Bits(from: -0x1p-30), 0x8000)
        XCTAssertEqual(HalfPrecision.f16Bits(from: 0x1p-14 - 0x1p-26), 0x0400)  // subnormal rounds up to normal
        XCTAssertEqual(HalfPrecision.f16Bits(from: .nan) & 0x7C00, 0x7C00)
        XCTAssertNotEqual(HalfPrecision.f16Bits(from: .nan) & 0x03FF, 0)
        #if arch(x86_64) || arch(arm64)
        var state: UInt32 = 12345
        for _ in 0..<200_000 {
            state = state &* 1_664_525 &+ 1_013_904_223
            let value = Float(bitPattern: state)
            if value.isNaN { continue }
            XCTAssertEqual(HalfPrecision.f16Bits(from: value), Float16(value).bitPattern, "value \(value)")
        }
        #endif
    }

    func testBF16NarrowingRoundsToNearestEven() {
        XCTAssertEqual(HalfPrecision.bf16Bits(from: 1), 0x3F80)
        XCTAssertEqual(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F80_8000)), 0x3F80)  // tie -> even
        XCTAssertEqual(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F81_8000)), 0x3F82)  // tie -> even
        XCTAssertEqual(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertEqual(HalfPrecision.bf16Bits(from: .infinity), 0x7F80)
        XCTAssertEqual(HalfPrecision.bf16Bits(from: Float.greatestFiniteMagnitude), 0x7F80)  // overflows
        XCTAssertTrue(HalfPrecision.float(fromBF16: HalfPrecision.bf16Bits(from: .nan)).isNaN)
        XCTAssertTrue(HalfPrecision.float(fromBF16: HalfPrecision.bf16Bits(from: Float(bitPattern: 0x7F80_0001))).isNaN)
    }

    func testDecodingReadsLittleEndian() {
        let f32: [UInt8] = [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]
        XCTAssertEqual(f32.withUnsafeBytes { TensorDecoding.floats($0, dtype: .f32, count: 2) }, [1, -2])
        let f16: [UInt8] = [0x00, 0x3C, 0x01, 0x00, 0x00, 0x7C]
        XCTAssertEqual(f16.withUnsafeBytes { TensorDecoding.floats($0, dtype: .f16, count: 3) },
                       [1, 0x1p-24, .infinity])
        let bf16: [UInt8] = [0x80, 0x3F, 0xA0, 0xC0]
        XCTAssertEqual(bf16.withUnsafeBytes { TensorDecoding.floats($0, dtype: .bf16, count: 2) }, [1, -5])
        // Unaligned source: skip one byte.
        let unaligned: [UInt8] = [0xAA] + f32
        XCTAssertEqual(unaligned.withUnsafeBytes {
            TensorDecoding.floats(UnsafeRawBufferPointer(rebasing: $0[1...]), dtype: .f32, count: 2)
        }, [1, -2])
    }
}
