import XCTest
@testable import CXRDenseNet
@testable import CXRModel

final class ModelConfigTests: XCTestCase {
    func testDenseNet121FeatureChannels() {
        let config = DenseNetConfiguration.densenet121
        XCTAssertEqual(config.featureChannels, 1024)
        XCTAssertEqual(config.gridSize, 8)
        XCTAssertEqual(config.regionCount, 64)
    }
}
