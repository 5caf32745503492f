import Foundation
import XCTest
@testable import CXRIntake
@testable import CXRKit
@testable import CXRDenseNet
@testable import CXRModel
@testable import CXRSupport

/// Hostile model files: FIFOs, huge sparse files, configs that need absurd memory, non-finite weights and
/// NUL characters in strings must all give a `CXRError`, never a hang, a trap or a silently broken model.
final class WeightsHostileFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "weights-hostile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
        directory = ""  // XCTest keeps the test case alive to the end of the run
    }

    /// Runs `body` on another thread and fails (instead of hanging) when it has not returned within 10 s;
    /// `release` is then called to unblock it.
    private func outcome(within seconds: Int = 10, release: () -> Void, _ body: @escaping @Sendable () -> String)
        -> String {
        let finished = DispatchSemaphore(value: 0)
        let result = LockedMessage()
        DispatchQueue.global().async {
            result.set(body())
            finished.signal()
        }
        if finished.wait(timeout: .now() + .seconds(seconds)) == .timedOut {
            XCTFail("blocked for more than \(seconds) s")
            release()
            finished.wait()
        }
        return result.get()
    }

    private static func describe(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            return "success"
        } catch let error as CXRError {
            return "\(error.kind): \(error.message)"
        } catch {
            return "other: \(error)"
        }
    }

    private func sparseFile(_ name: String, size: Int) throws -> String {
        let path = directory + "/" + name
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        guard ftruncate(descriptor, off_t(size)) == 0 else {
            throw XCTSkip("this file system cannot make a sparse file of \(size) bytes")
        }
        return path
    }

    // MARK: Files that are not regular, or too large

    func testFIFOIsRejectedWithoutBlocking() throws {
        let fifo = directory + "/model.safetensors"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let release = { close(open(fifo, O_WRONLY | O_NONBLOCK)) }  // a writer unblocks a blocked open
        let viaReader = outcome(release: { _ = release() }) { Self.describe { try FileReader.readAll(path: fifo) } }
        XCTAssertEqual(viaReader, "io: '\(fifo)' is not a regular file")
        let viaLoader = outcome(release: { _ = release() }) { Self.describe { try TestWeights.load(path: fifo) } }
        XCTAssertEqual(viaLoader, "io: '\(fifo)' is not a regular file")
    }

    func testModelFilesLargerThanFourGiBAreRejectedBeforeReading() throws {
        XCTAssertEqual(ModelFile.maximumFileSize, 4 << 30)
        let path = try sparseFile("huge.safetensors", size: (4 << 30) + 1)
        let message = outcome(release: {}) { Self.describe { try TestWeights.load(path: path) } }
        XCTAssertEqual(message, "io: '\(path)' is 4294967297 bytes, more than the limit of 4294967296 bytes")
    }

    func testHeaderLengthIsCheckedBeforeTheWholeFileIsRead() throws {
        // A sparse 3 GiB file of zeros: its header length (0) is rejected from the first 8 bytes.
        let path = try sparseFile("zeros.safetensors", size: 3 << 30)
        let message = outcome(release: {}) { Self.describe { try TestWeights.load(path: path) } }
        XCTAssertEqual(message, "invalidModel: safetensors header length 0 is less than 2")
    }

    func testHugeFilesAreRefusedBeforeAllocation() throws {
        // 8 TiB (sparse) with no size limit from the caller: refused before malloc, which could overcommit, fail,
        // or (under AddressSanitizer) abort the process.
        let path = try sparseFile("terabytes.bin", size: 8 << 40)
        assertCXRError(.outOfMemory, "cannot read '\(path)' into memory: its 8796093022208 bytes exceed the limit "
                       + "of 64 GiB") {
            try FileReader.readAll(path: path, maximumSize: Int.max)
        }
    }

    // MARK: Configs that need absurd session memory

    func testConfigsNeedingMoreThanOneGiBOfWorkspaceAreRejected() {
        var tiny = TinyModel()
        tiny.setConfig("input_size", "2048")
        assertCXRError(.invalidModel, "config input_size is 2048, expected 32...1024") { try tiny.load() }

        tiny = TinyModel()
        tiny.setConfig("input_size", "1024")
        tiny.setConfig("num_init_features", "4096")
        assertCXRError(.invalidModel, "config needs an encoder workspace of about ") { try tiny.load() }
        assertCXRError(.invalidModel, "per session (input_size 1024, num_init_features 4096") { try tiny.load() }
        assertCXRError(.invalidModel, "the limit is 1024 MiB") { try tiny.load() }
    }

    func testTheLoadTimeLimitIsThePlansOwnWorkspace() throws {
        // One memory model: the limit checks the sum of the buffers the plan lays out, for the largest band
        // grid any machine gets, which bounds the workspace a session on this machine really allocates.
        var densenet121 = DenseNetConfiguration.densenet121
        let planned = try DenseNetPlan(configuration: densenet121, bandParts: DenseNetPlan.maximumBandParts)
        XCTAssertEqual(densenet121.workspaceBytes, planned.workspaceBytes)
        XCTAssertEqual(planned.workspaceFloats, [planned.imageFloats, planned.stemFloats, planned.normalizedFloats,
                                                 planned.bottleneckFloats, planned.columnFloats].reduce(0, +)
                                                + planned.blockFloats.reduce(0, +))
        let here = try DenseNetPlan(configuration: densenet121)
        XCTAssertGreaterThanOrEqual(densenet121.workspaceBytes, here.workspaceBytes)
        XCTAssertLessThan(densenet121.workspaceBytes, 64 << 20)  // about 22 MiB

        densenet121.input.size = 1024
        XCTAssertLessThan(densenet121.workspaceBytes, 1 << 30)  // still loadable
        var overflowing = DenseNetConfiguration.densenet121
        overflowing.numInitFeatures = Int.max / 2
        XCTAssertThrowsError(try DenseNetPlan(configuration: overflowing))
        XCTAssertEqual(overflowing.workspaceBytes, .max)
    }

    // MARK: Non-finite weights

    func testNonFiniteWeightsAreRejectedByName() {
        for (name, index, value, text) in [
            ("encoder.features.conv0.weight", 17, Float.nan, "nan"),
            ("decoder.out_h.weight", 3, Float.infinity, "inf"),
            ("encoder.features.norm5.running_mean", 1, -Float.infinity, "-inf"),
        ] {
            var tiny = TinyModel()
            let position = tiny.tensors.firstIndex { $0.name == name }!
            tiny.tensors[position].values[index] = value
            assertCXRError(.invalidModel, "tensor \(name)[\(index)] is \(text); model parameters must be finite") {
                try tiny.load()
            }
        }
        var half = TinyModel()
        half.setDType(.f16)
        let position = half.tensors.firstIndex { $0.name == "decoder.embedding.weight" }!
        half.tensors[position].values[5] = 1e6  // finite in F32, infinite in F16
        assertCXRError(.invalidModel, "tensor decoder.embedding.weight[5] is inf") { try half.load() }
    }

    // MARK: Finite but implausible or overflowing weights

    func testImplausiblyLargeWeightsAreRefusedAtLoad() {
        for (name, value) in [("encoder.features.conv0.weight", Float(3e38)), ("decoder.out_h.weight", -3e38),
                              ("findings.weight", 2e9)] {
            var tiny = TinyModel(withFindings: true)
            let position = tiny.tensors.firstIndex { $0.name == name }!
            tiny.tensors[position].values[2] = value
            assertCXRError(.invalidModel, "tensor \(name)[2] is \(value); model parameters must be finite and at "
                           + "most 1e+09 in magnitude") { try tiny.load() }
            assertCXRError(.invalidModel, "at most 1e+09") { try tiny.captionModel() }
        }
        var atTheBound = TinyModel()
        atTheBound.tensors[0].values[0] = 1e9
        XCTAssertNoThrow(try atTheBound.load())
    }

    func testWeightsThatOverflowOnAnImageGiveAnErrorNotNaN() throws {
        // Every convolution at 1e8: within the bound, but the products reach infinity within a few layers.
        var tiny = TinyModel(withFindings: true)
        for index in tiny.tensors.indices where tiny.tensors[index].name.contains(".conv") {
            tiny.tensors[index].values = [Float](repeating: 1e8, count: tiny.tensors[index].values.count)
        }
        let session = try CaptionSession(model: try tiny.captionModel())
        let pixels = (0..<(64 * 64)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let image = ImageDescriptor(width: 64, height: 64, format: .gray8)
        for call in ["findings", "generate"] {
            assertCXRError(.invalidModel, "encoder output is not finite (first at denseblock2)") {
                try pixels.withUnsafeBytes { bytes in
                    if call == "findings" {
                        _ = try session.findings(pixels: bytes, image: image)
                    } else {
                        _ = try session.generate(pixels: bytes, image: image)
                    }
                }
            }
        }
    }

    // MARK: NUL characters

    func testNULInTokensOrLabelsIsRejected() {
        var tiny = TinyModel()
        tiny.setMetadata("vocab", #"["<pad>", "<start>", "<end>", "<nou>", "hea\u0000rt", "normal", "."]"#)
        assertCXRError(.invalidModel, "metadata vocab[4] contains a NUL character") { try tiny.load() }

        var labelled = TinyModel(withFindings: true)
        labelled.setMetadata("labels", #"["cardiomegaly", "effusion\u0000", "normal"]"#)
        assertCXRError(.invalidModel, "metadata labels[1] contains a NUL character") { try labelled.load() }
    }
}
