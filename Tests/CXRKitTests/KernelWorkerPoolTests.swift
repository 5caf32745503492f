import Dispatch
import Foundation
import Synchronization
import XCTest
@testable import CXRDecoding
@testable import CXRDenseNet
@testable import CXRIntake
@testable import CXRKernels
@testable import CXRKit
@testable import CXRModel

/// `ParallelFor` on the worker pool: every part runs exactly once, the call returns only when all have,
/// and concurrent callers (two sessions) each get all their parts.
final class KernelWorkerPoolTests: XCTestCase {
    /// Runs `rounds` jobs of `parts` parts; each part counts itself in its own slot.
    private static func checkJobs(parts: Int, rounds: Int, file: StaticString = #filePath, line: UInt = #line) {
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
        for parts in [2, 3, 4, 7, 16, 64] { Self.checkJobs(parts: parts, rounds: 300) }
        // zero and one part run inline
        var ran = 0
        ParallelFor.run(parts: 0) { _ in ran += 1 }
        ParallelFor.run(parts: 1) { _ in ran += 1 }
        XCTAssertEqual(ran, 1)
    }

    func testConcurrentCallersEachGetAllTheirParts() {
        DispatchQueue.concurrentPerform(iterations: 3) { caller in
            Self.checkJobs(parts: 2 + caller, rounds: 400)
        }
    }

    /// More callers at once than the pool has slots: the ones without a slot run their parts themselves.
    func testMoreCallersThanSlotsEachGetAllTheirParts() {
        DispatchQueue.concurrentPerform(iterations: WorkerPool.slotCount + 8) { caller in
            Self.checkJobs(parts: 2 + caller % 5, rounds: 60)
        }
    }

    /// Two callers' jobs run at the same time on the workers: each job's two parts, and the other job's, must
    /// all be running at once to pass a four-party barrier. A pool that ran one job at a time (the second
    /// caller doing its parts alone, one after the other) could never pass it; the barrier gives up after
    /// 20 s, so such a pool fails the test instead of hanging it.
    func testSeveralCallersJobsRunAtOnce() {
        let arrived = Atomic<Int>(0)
        let passed = Atomic<Int>(0)
        let deadline = DispatchTime.now().uptimeNanoseconds + 20_000_000_000
        // Two threads of their own, so that both callers surely run at once whatever libdispatch does.
        let done = DispatchGroup()
        for _ in 0..<2 {
            done.enter()
            Thread {
                ParallelFor.run(parts: 2) { _ in
                    arrived.add(1, ordering: .acquiringAndReleasing)
                    while arrived.load(ordering: .acquiring) < 4 && DispatchTime.now().uptimeNanoseconds < deadline {}
                    if arrived.load(ordering: .acquiring) >= 4 { passed.add(1, ordering: .relaxed) }
                }
                done.leave()
            }.start()
        }
        done.wait()
        XCTAssertEqual(passed.load(ordering: .relaxed), 4, "not every part of the two jobs ran at the same time")
    }

    /// The encoder gives the same V with 1 and 2 threads (the pool splits pixel bands, not sums).
    func testEncoderResultsDoNotDependOnThreads() throws {
        let model = try TinyModel(withFindings: true).captionModel()
        let session = try CaptionSession(model: model)
        let side = model.config.inputSize
        let input = (0..<(side * side)).map { Float(($0 * 37) % 101) / 50 - 1 }
        let one = try session.encode(modelInput: input, threads: 1)
        for _ in 0..<20 { XCTAssertEqual(try session.encode(modelInput: input, threads: 2), one) }
        XCTAssertEqual(try session.encode(modelInput: input, threads: 4), one)
    }

    /// The same at DenseNet-121's widths (growth 32, bottleneck 128, 64 stem channels), where OpenBLAS's
    /// result for a pixel can depend on the size of the GEMM it is in: the encoder's bands are fixed by
    /// each layer's shape and the plan's `bandParts`, whatever the thread count, Winograd and im2col
    /// alike, for grids cut for 1, 2 and 8 threads (this machine's cores decide which threads really run).
    func testEncoderResultsDoNotDependOnThreadsAtDenseNetWidths() throws {
        let config = DenseNetTestModel.config(blocks: [2, 2, 2, 2], growth: 32, bnSize: 4, initFeatures: 64,
                                              inChannels: 1, inputSize: 128)
        for (winograd, bandParts) in [(true, 2), (false, 2), (true, 8), (true, 1), (false, 8)] {
            let encoder = try DenseNetEncoder(weights: DenseNetTestModel.randomWeights(config, seed: 31),
                                              configuration: config, winograd: winograd, bandParts: bandParts)
            let workspace = try encoder.makeWorkspace()
            let input: [Float] = (0..<(128 * 128)).map { index in Float((index * 7919) % 257) / 128 - 1 }
            let one = try encoder.encode(input: input, workspace: workspace, threads: 1)
            for threads in [2, 3, 4] {
                XCTAssertEqual(try encoder.encode(input: input, workspace: workspace, threads: threads), one,
                               "\(threads) threads, winograd \(winograd), grid for \(bandParts)")
            }
        }
    }
}

/// The decoder shares a step's products and attention among threads without changing any result.
final class DecoderThreadsTests: XCTestCase {
    func testFewRowProductIsTheSameWithMoreParts() {
        let m = 3, n = 2048, k = 512
        let a = (0..<(m * k)).map { Float(($0 * 7919) % 1000) / 500 - 1 }
        let b = (0..<(n * k)).map { Float(($0 * 104_729) % 997) / 498 - 1 }
        func product(parts: Int, level: VectorLevel) -> [Float] {
            var c = [Float](repeating: 0.25, count: m * n)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        FewRowProduct.multiply(rows: m, columns: n, depth: k, a: a.baseAddress!, lda: k,
                                               b: b.baseAddress!, ldb: k, c: c.baseAddress!, ldc: n, beta: 1,
                                               parts: parts, level: level)
                    }
                }
            }
            return c
        }
        XCTAssertGreaterThan(n, FewRowProduct.bandRows(rows: m, depth: k), "the product must have several bands")
        for level in VectorLevel.supported {  // generic: OpenBLAS's bands; then the vector kernel
            let one = product(parts: 1, level: level)
            XCTAssertEqual(product(parts: 2, level: level), one, "\(level)")
            XCTAssertEqual(product(parts: 5, level: level), one, "\(level)")
        }
    }

    /// The per-image products: one sgemm of many rows (W_v V, P) and the V_gav GEMV, split by columns / rows.
    func testPrepareProductsAreTheSameWithMoreParts() {
        // Split by B's rows (m < n) and by A's rows (W_v Vᵀ, P = W_ec Vᵀ: m >= n), at 64 and 16 regions.
        // (OpenBLAS picks its kernels by CPU; run this also with OPENBLAS_CORETYPE=Haswell, whose kernels
        // gave different bits for differently shaped calls.)
        for (m, n, k) in [(64, 300, 1024), (512, 64, 1024), (300, 64, 1024), (300, 16, 1024), (512, 16, 512)] {
            let a = (0..<(m * k)).map { Float(($0 * 7919) % 1000) / 500 - 1 }
            let b = (0..<(n * k)).map { Float(($0 * 104_729) % 997) / 498 - 1 }
            let one = DecoderMath.productTransposed(rows: m, columns: n, depth: k, a, lda: k, b, ldb: k)
            for parts in [2, 3, 5, 7, 9, 16] {
                XCTAssertEqual(DecoderMath.productTransposed(rows: m, columns: n, depth: k, a, lda: k, b, ldb: k,
                                                             parts: parts), one, "\(m) x \(n) x \(k), \(parts) parts")
            }
        }

        let rows = 2048, columns = 1024
        let matrix = (0..<(rows * (columns + 256))).map { Float(($0 * 31) % 613) / 306 - 1 }
        let x = (0..<columns).map { Float($0 % 17) / 8 - 1 }
        func gemv(parts: Int) -> [Float] {
            var y = (0..<rows).map { Float($0 % 5) }
            DecoderMath.accumulateMatrixVector(rows: rows, columns: columns, matrix, aOffset: 256, lda: columns + 256,
                                               x, into: &y, parts: parts)
            return y
        }
        let single = gemv(parts: 1)
        XCTAssertEqual(gemv(parts: 2), single)
        XCTAssertEqual(gemv(parts: 3), single)
    }

    func testCaptionsAreTheSameWithMoreThreads() throws {
        let model = try TinyModel(withFindings: true).captionModel()
        let session = try CaptionSession(model: model)
        let side = 57
        let bytes = (0..<(side * side)).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761) >> 11) }
        let descriptor = ImageDescriptor(width: side, height: side, format: .gray8)
        func captions(threads: Int) throws -> [Caption] {
            var parameters = GenerationParameters()
            parameters.threads = threads
            parameters.beamWidth = 4
            parameters.maxResults = 4
            return try bytes.withUnsafeBytes { try session.generate(pixels: $0, image: descriptor, parameters: parameters) }
        }
        let one = try captions(threads: 1)
        for threads in [2, 3, 4] {
            let more = try captions(threads: threads)
            XCTAssertEqual(more.map(\.tokens), one.map(\.tokens), "threads \(threads)")
            XCTAssertEqual(more.map(\.logProbability), one.map(\.logProbability), "threads \(threads)")
            XCTAssertEqual(more.map(\.attention), one.map(\.attention), "threads \(threads)")
        }
    }
}
