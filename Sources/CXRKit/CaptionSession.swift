/// Per-caller state: scratch memory for the encoder and decoder. Use one session from one thread at a time
/// (it may move between threads); create one per concurrent caller, all sharing one `CaptionModel`.
public final class CaptionSession {
    public let model: CaptionModel

    public init(model: CaptionModel) {
        self.model = model
    }

    /// Intake -> encoder -> beam search. Returns up to `parameters.maxResults` captions, best first.
    /// `shouldAbort` is polled between dense layers and between decoder steps; returning true makes the call
    /// throw `CXRError.Kind.aborted` and leaves the session usable.
    public func generate(pixels: UnsafeRawBufferPointer, image: ImageDescriptor,
                         parameters: GenerationParameters = GenerationParameters(),
                         shouldAbort: (() -> Bool)? = nil) throws -> [Caption] {
        throw CXRError(.invalidModel, "generation is not wired yet")
    }

    /// The input_size x input_size equalized 8-bit image the model sees ("what the model saw"), row-major.
    public func preprocess(pixels: UnsafeRawBufferPointer, image: ImageDescriptor) throws -> [UInt8] {
        throw CXRError(.invalidModel, "preprocessing is not wired yet")
    }

    /// Probabilities of the findings head's labels (in `model.labels` order).
    /// Throws `invalidArgument` when the model has no findings head.
    public func findings(pixels: UnsafeRawBufferPointer, image: ImageDescriptor,
                         threads: Int = 0, shouldAbort: (() -> Bool)? = nil) throws -> [Float] {
        throw CXRError(.invalidModel, "findings are not wired yet")
    }
}
