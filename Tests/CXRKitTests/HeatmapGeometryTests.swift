import CXRImageIO
import XCTest

/// The heat map's geometry: the model's square input (and its attention grid) mapped back onto the original
/// image, whose aspect the panels keep (docs/INTAKE.md step 4 stretches each axis on its own).
final class HeatmapGeometryTests: XCTestCase {
    func testDisplayKeepsTheAspectWithTheLongestSideGiven() {
        for (width, height) in [(1841, 1955), (1036, 885), (2048, 2048), (16, 16384), (300, 320), (23, 17)] {
            let geometry = HeatmapGeometry(imageWidth: width, imageHeight: height, longestSide: 320)
            XCTAssertEqual(max(geometry.displayWidth, geometry.displayHeight), 320)
            XCTAssertGreaterThanOrEqual(min(geometry.displayWidth, geometry.displayHeight), 1)
            // Within half a display pixel of the exact short side.
            let exactWidth = Double(width) * 320 / Double(max(width, height))
            let exactHeight = Double(height) * 320 / Double(max(width, height))
            XCTAssertLessThanOrEqual(abs(Double(geometry.displayWidth) - max(exactWidth, 1)), 0.5, "\(width)x\(height)")
            XCTAssertLessThanOrEqual(abs(Double(geometry.displayHeight) - max(exactHeight, 1)), 0.5, "\(width)x\(height)")
        }
    }

    func testInputPointsMapBackPerAxis() {
        let geometry = HeatmapGeometry(imageWidth: 2000, imageHeight: 1000, longestSide: 320)
        let corner = geometry.originalPoint(inputX: 256, inputY: 256, inputSize: 256)
        XCTAssertEqual(corner.x, 2000)
        XCTAssertEqual(corner.y, 1000)
        let centre = geometry.originalPoint(inputX: 64, inputY: 192, inputSize: 256)
        XCTAssertEqual(centre.x, 500)
        XCTAssertEqual(centre.y, 750)
    }

    func testCellsTileTheDisplayExactly() {
        for (width, height, grid) in [(1841, 1955, 4), (1036, 885, 8), (23, 17, 2), (16, 16384, 7)] {
            let geometry = HeatmapGeometry(imageWidth: width, imageHeight: height, longestSide: 320)
            var owner = [Int](repeating: 0, count: geometry.displayWidth * geometry.displayHeight)
            for y in 0..<grid {
                for x in 0..<grid {
                    let (columns, rows) = geometry.cellPixels(x: x, y: y, gridSize: grid)
                    let centre = geometry.cellCentre(x: x, y: y, gridSize: grid)
                    if !columns.isEmpty { XCTAssertTrue(Double(columns.lowerBound) <= centre.x && centre.x <= Double(columns.upperBound)) }
                    if !rows.isEmpty { XCTAssertTrue(Double(rows.lowerBound) <= centre.y && centre.y <= Double(rows.upperBound)) }
                    for row in rows { for column in columns { owner[row * geometry.displayWidth + column] += 1 } }
                }
            }
            XCTAssertEqual(Set(owner), [1], "every display pixel lies in exactly one cell (\(width)x\(height), \(grid))")
        }
    }

    func testOneHotCellIsHottestAtItsCentreOnANonSquareImage() {
        // A 2:1 landscape image, 4 x 4 grid: cell (3, 1) must light up at (3.5/4 of the width, 1.5/4 of the height).
        let geometry = HeatmapGeometry(imageWidth: 2000, imageHeight: 1000, longestSide: 320)
        let (width, height) = (geometry.displayWidth, geometry.displayHeight)
        XCTAssertEqual(width, 320)
        XCTAssertEqual(height, 160)
        var grid = [Float](repeating: 0, count: 16)
        grid[1 * 4 + 3] = 1
        let heat = HeatmapOverlay.upsample(grid, gridSize: 4, width: width, height: height)
        let hottest = heat.indices.max { heat[$0] < heat[$1] }!
        let (y, x) = hottest.quotientAndRemainder(dividingBy: width)
        let centre = geometry.cellCentre(x: 3, y: 1, gridSize: 4)
        XCTAssertEqual(Double(x) + 0.5, centre.x, accuracy: 1)
        XCTAssertEqual(Double(y) + 0.5, centre.y, accuracy: 1)
        // Bilinear between cell centres: the cell's corner pixel is about half way in each axis (1/4), the far
        // corner of the image, outside the neighbours, gets nothing.
        let (columns, rows) = geometry.cellPixels(x: 3, y: 1, gridSize: 4)
        XCTAssertGreaterThan(heat[rows.lowerBound * width + columns.lowerBound], 0.24)
        XCTAssertEqual(heat[(height - 1) * width], 0)
    }

    func testResampleKeepsConstantsAndAnAxisOfEqualSize() {
        let constant = [UInt8](repeating: 77, count: 40 * 40)
        XCTAssertEqual(Set(HeatmapGeometry.resample(constant, width: 40, height: 40, toWidth: 13, toHeight: 57)), [77])
        // A left-to-right ramp: rows shrink (area average), columns are untouched.
        let ramp = (0..<(10 * 8)).map { UInt8(($0 % 10) * 20) }
        let shrunk = HeatmapGeometry.resample(ramp, width: 10, height: 8, toWidth: 10, toHeight: 3)
        XCTAssertEqual(Array(shrunk[0..<10]), (0..<10).map { UInt8($0 * 20) })
        // Halving a ramp averages neighbours.
        let half = HeatmapGeometry.resample(ramp, width: 10, height: 8, toWidth: 5, toHeight: 8)
        XCTAssertEqual(Array(half[0..<5]), [10, 50, 90, 130, 170])
    }
}
