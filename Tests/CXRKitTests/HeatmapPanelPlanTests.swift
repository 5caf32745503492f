import CXRImageIO
import XCTest

/// Which tokens get heat-map panels: none after the first loop, never more than the limit.
final class HeatmapPanelPlanTests: XCTestCase {
    typealias Loop = HeatmapPanelPlan.Loop

    func testLoops() {
        XCTAssertNil(HeatmapPanelPlan.firstLoop([]))
        XCTAssertNil(HeatmapPanelPlan.firstLoop([1, 2, 3, 4, 5]))
        XCTAssertNil(HeatmapPanelPlan.firstLoop([1, 2, 2, 3]), "a word twice is a stutter, not a loop")
        XCTAssertNil(HeatmapPanelPlan.firstLoop([4, 5, 6, 7, 4, 5, 8]), "a phrase said again later is not a loop")
        XCTAssertEqual(HeatmapPanelPlan.firstLoop([9, 1, 7, 7, 7, 7, 7]), Loop(start: 3, period: 1))
        XCTAssertEqual(HeatmapPanelPlan.firstLoop([9, 1, 2, 3, 1, 2, 3, 1]), Loop(start: 4, period: 3))
        // "1 . left right upper lobe airspace disease and right right upper lobe airspace disease and right ..."
        let demo = [30, 31, 10, 11, 12, 13, 14, 15, 16, 11, 11, 12, 13, 14, 15, 16, 11, 11, 12]
        XCTAssertEqual(HeatmapPanelPlan.firstLoop(demo), Loop(start: 10, period: 7))
    }

    func testPanelsStopAtTheLoopAndSaySo() {
        let tokens = [5, 6] + [Int](repeating: 7, count: 58)
        let plan = HeatmapPanelPlan(tokens: tokens, truncated: true, limit: 24)
        XCTAssertEqual(plan.drawn, 3)
        XCTAssertEqual(plan.notes, ["From token 4 the caption repeats token 3 (a loop): 57 more tokens not drawn.",
                                    "The caption was cut at --max-tokens (no <end>)."])
        let phrase = HeatmapPanelPlan(tokens: [1, 2, 3, 4, 2, 3, 4, 9], truncated: false, limit: 24)
        XCTAssertEqual(phrase.drawn, 4)
        XCTAssertEqual(phrase.notes, ["From token 5 the caption repeats tokens 2-4 (a loop): 4 more tokens not drawn."])
    }

    func testTheLimitCapsPanels() {
        let tokens = Array(0..<61)
        let plan = HeatmapPanelPlan(tokens: tokens, truncated: false, limit: 24)
        XCTAssertEqual(plan.drawn, 24)
        XCTAssertNil(plan.loop)
        XCTAssertEqual(plan.notes, ["Only the first 24 of 61 tokens drawn (--heatmap-panels 24)."])
        let short = HeatmapPanelPlan(tokens: [1, 2, 3], truncated: false, limit: 24)
        XCTAssertEqual(short.drawn, 3)
        XCTAssertEqual(short.notes, [])
        // A loop after the limit: the limit is what cut the panels.
        let late = HeatmapPanelPlan(tokens: Array(0..<30) + [29, 29], truncated: false, limit: 10)
        XCTAssertEqual(late.drawn, 10)
        XCTAssertEqual(late.notes, ["Only the first 10 of 32 tokens drawn (--heatmap-panels 10)."])
    }
}
