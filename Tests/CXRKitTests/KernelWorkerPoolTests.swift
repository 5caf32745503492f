import Dispatch
import XCTest
@testable import CXRKit

/// `ParallelFor` on the worker pool: every part runs exactly once, the call returns only when all have,
/// and concurrent callers (two sessions) each get all their parts.
final class KernelWorkerPoolTests: XCTestCase {
    /// Runs `rounds` jobs of `parts` parts; each part counts itself in its own slot.
    private func checkJobs(parts: Int, rounds: Int, file: StaticString = #filePath, line: UInt = #line) {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: parts)
        defer { counts.deallocate() }
        for round in 0..<rounds {
            counts.initialize(repeating: 0, count: parts)
            ParallelFor.run(parts: parts) { part in
                if part % 3 == round % 3 { for _ in 0..<(200 * (part + 1)) { _ = counts[part] } }  // uneven parts
                counts[part] += 1
            }
            for part in 0..<parts where counts[part] != 1 {
                XCTFail("round \(round): part \(part) of \(parts) ran \(counts[part]) times", file: file, line: line)
                return
            }
        }
    }

    func testEveryPartRunsExactlyOnce() {
        for parts in [2, 3, 4, 7, 16, 64] { checkJobs(parts: parts, rounds: 300) }
        // zero and one part run inline
        var ran = 0
        ParallelFor.run(parts: 0) { _ in ran += 1 }
        ParallelFor.run(parts: 1) { _ in ran += 1 }
        XCTAssertEqual(ran, 1)
    }

    func testConcurrentCallersEachGetAllTheirParts() {
        DispatchQueue.concurrentPerform(iterations: 3) { caller in
            checkJobs(parts: 2 + caller, rounds: 400)
        }
    }

    /// The encoder gives the same V with 1 and 2 threads (the pool splits pixel bands, not sums).
    func testEncoderResultsDoNotDependOnThreads() throws {
        let model = try CaptionModel(loaded: TinyModel(withFindings: true).load())
        let session = try CaptionSession(model: model)
        let side = model.config.inputSize
        let input = (0..<(side * side)).map { Float(($0 * 37) % 101) / 50 - 1 }
        let one = try session.encode(modelInput: input, threads: 1)
        for _ in 0..<20 { XCTAssertEqual(try session.encode(modelInput: input, threads: 2), one) }
        XCTAssertEqual(try session.encode(modelInput: input, threads: 4), one)
    }
}
