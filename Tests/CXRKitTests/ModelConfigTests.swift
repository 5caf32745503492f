import XCTest
@testable import CXRKit

final class ModelConfigTests: XCTestCase {
    func testDenseNet121FeatureChannels() {
        let config = ModelConfig()
        XCTAssertEqual(config.featureChannels, 1024)
        XCTAssertEqual(config.regionCount, 64)
    }
}
