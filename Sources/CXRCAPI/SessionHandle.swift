import CCXRCAPI
import CXRDecoding
import CXRKit
import CXRSupport
import Glibc

/// One result of `cxr_generate` in the form the C accessors hand out: text as a NUL-terminated C string, tokens
/// as int32, attention as floats, all owned here until the session's next generate or its free.
final class StoredResult {
    let text: UnsafeMutablePointer<CChar>
    let tokens: UnsafeMutableBufferPointer<Int32>
    let attention: UnsafeMutableBufferPointer<Float>
    let logProbability: Double
    let score: Double
    let truncated: Bool

    init(_ caption: Caption, regionCount: Int) throws {
        guard caption.attention.isEmpty || caption.attention.count == caption.tokens.count * regionCount else {
            throw CAPIFailure.internalError(
                "result has \(caption.attention.count) attention weights for \(caption.tokens.count) tokens "
                    + "x \(regionCount) regions")
        }
        guard let text = strdup(caption.text) else { throw CXRError(.outOfMemory, "out of memory copying a result") }
        let tokens = UnsafeMutableBufferPointer<Int32>.allocate(capacity: caption.tokens.count)
        for (index, token) in caption.tokens.enumerated() {
            tokens[index] = Int32(truncatingIfNeeded: token)
        }
        let attention = UnsafeMutableBufferPointer<Float>.allocate(capacity: caption.attention.count)
        _ = attention.initialize(from: caption.attention)
        self.text = text
        self.tokens = tokens
        self.attention = attention
        self.logProbability = caption.logProbability
        self.score = caption.score
        self.truncated = caption.truncated
    }

    deinit {
        free(text)
        tokens.deallocate()
        attention.deallocate()
    }
}

/// What a `cxr_session *` points to: the Swift session (which keeps the model alive) and the last results.
final class SessionHandle {
    let model: ModelHandle
    let session: CaptionSession
    private(set) var results: [StoredResult] = []
    /// `cxr_result_distinct`: the last results are max_results pairwise distinct normalized texts.
    private(set) var distinct = false

    init(model: ModelHandle) throws {
        self.model = model
        self.session = try CaptionSession(model: model.model)
    }

    func clearResults() {
        results = []
        distinct = false
    }

    /// Releases the previous results first, so that a failed call leaves none.
    func generate(_ image: CallerImage, _ parameters: CallerParameters) throws {
        clearResults()
        let effective = parameters.parameters(for: model.model)
        let captions = try session.generate(pixels: image.pixels, image: image.descriptor,
                                            parameters: effective, shouldAbort: parameters.shouldAbort)
        guard captions.count <= effective.maxResults else {
            throw CAPIFailure.internalError(
                "generate returned \(captions.count) results for max_results \(effective.maxResults)")
        }
        let regionCount = model.model.config.regionCount
        results = try captions.map { try StoredResult($0, regionCount: regionCount) }
        distinct = CaptionText.distinctComplete(captions, wanted: effective.maxResults,
                                                join: model.model.vocabulary.join)
    }

    /// The result at a caller's index, or `CXR_E_OUT_OF_RANGE` naming the index and the count.
    func result(_ index: Int32) throws -> StoredResult {
        guard index >= 0, Int(index) < results.count else {
            throw CAPIFailure.outOfRange("result index \(index) is outside 0..<\(results.count) (the result count)")
        }
        return results[Int(index)]
    }

    // MARK: Handles

    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

    static func from(_ pointer: OpaquePointer?) throws -> SessionHandle {
        let pointer = try required(pointer, "session")
        return Unmanaged<SessionHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    static func release(_ pointer: OpaquePointer?) {
        guard let pointer else { return }
        Unmanaged<SessionHandle>.fromOpaque(UnsafeRawPointer(pointer)).release()
    }
}
