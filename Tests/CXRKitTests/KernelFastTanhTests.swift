import Foundation
import XCTest
@testable import CXRKit

final class KernelFastTanhTests: XCTestCase {
    /// The decoder's rational tanh stays within 1e-6 (absolute) of the exact tanh from -12 to 12, keeps
    /// tanh's symmetry, saturates at ±1 and propagates NaN.
    func testRationalTanhMatchesExactTanh() {
        var worst = 0.0
        var x = -12.0
        while x <= 12.0 {
            let value = Float(x)
            let got = Double(DecoderMath.tanh(value))
            worst = max(worst, abs(got - Foundation.tanh(Double(value))))
            XCTAssertEqual(DecoderMath.tanh(-value), -DecoderMath.tanh(value))
            x += 0.000_37
        }
        XCTAssertLessThanOrEqual(worst, 1e-6, "max |tanh error| \(worst)")
        XCTAssertEqual(DecoderMath.tanh(100), 1, accuracy: 1e-6)
        XCTAssertEqual(DecoderMath.tanh(-.infinity), -1, accuracy: 1e-6)
        XCTAssertTrue(DecoderMath.tanh(.nan).isNaN)
        XCTAssertEqual(DecoderMath.tanh(1e-8), 1e-8, accuracy: 1e-12)
    }

    /// tanhOfSum applies tanh to the elementwise sum, for lengths that do and do not fill a vector.
    func testTanhOfSum() {
        for count in [1, 7, 16, 33, 512] {
            let x = (0..<count).map { Float($0) * 0.37 - 3 }
            let y = (0..<count).map { Float($0 % 5) * -0.21 }
            var out = [Float](repeating: .nan, count: count)
            x.withUnsafeBufferPointer { x in
                y.withUnsafeBufferPointer { y in
                    out.withUnsafeMutableBufferPointer { out in
                        DecoderMath.tanhOfSum(x.baseAddress!, y.baseAddress!, into: out.baseAddress!, count: count)
                    }
                }
            }
            for i in 0..<count {
                XCTAssertEqual(Double(out[i]), Foundation.tanh(Double(x[i] + y[i])), accuracy: 1e-6)
            }
        }
    }
}
