import XCTest
@testable import CXRSupport

final class SupportErrorTests: XCTestCase {
    func testArgumentsAreRenamedAsWholeWordsOnly() {
        let error = CXRError(.invalidImage, "image rowBytes 100 is less than width 256 x 1 byte",
                             arguments: ["rowBytes"])
        let renamed = error.renamingArguments { ["rowBytes": "row_bytes"][$0] }
        XCTAssertEqual(renamed.message, "image row_bytes 100 is less than width 256 x 1 byte")
        XCTAssertEqual(renamed.kind, .invalidImage)
        XCTAssertEqual(renamed.arguments, ["row_bytes"])

        // Only the first whole-word occurrence; names inside longer identifiers are left alone.
        let two = CXRError(.invalidImage, "pixelrowBytes 1 rowBytesX 2 x rescaleSlope 3 + rescaleIntercept 4 rowBytes",
                           arguments: ["rowBytes", "rescaleSlope", "rescaleIntercept"])
        let names = ["rowBytes": "row_bytes", "rescaleSlope": "rescale_slope", "rescaleIntercept": "rescale_intercept"]
        XCTAssertEqual(two.renamingArguments { names[$0] }.message,
                       "pixelrowBytes 1 rowBytesX 2 x rescale_slope 3 + rescale_intercept 4 row_bytes")

        // Unknown names, and errors without arguments, keep their message.
        XCTAssertEqual(error.renamingArguments { _ in nil }.message, error.message)
        XCTAssertEqual(CXRError(.io, "no such file rowBytes").renamingArguments { names[$0] }.message,
                       "no such file rowBytes")
    }
}
