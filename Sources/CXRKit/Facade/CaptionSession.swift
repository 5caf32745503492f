import CXRDecoding
import CXRIntake
import CXRKernels
import CXRModel
import CXRSupport

/// Per-caller state: the encoder's and decoder's scratch memory. Use one session from one thread at a time
/// (it may move between threads); create one per concurrent caller, all sharing one `CaptionModel`.
public final class CaptionSession {
    public let model: CaptionModel

    private let encoder: EncoderRunner
    private let decoderWorkspace: DecoderWorkspace
    /// V of the last encoded image, region-major [R, F].
    private var features: [Float]

    /// Allocates the session's scratch memory; throws `CXRError.Kind.outOfMemory` when it cannot be had.
    public init(model: CaptionModel) throws {
        self.model = model
        encoder = try model.encoder.makeRunner()
        decoderWorkspace = DecoderWorkspace(decoder: model.decoder, capacity: AttentionDecoder.maximumRows)
        features = [Float](repeating: 0, count: encoder.outputCount)
    }

    /// Intake -> encoder -> beam search. Returns up to `parameters.maxResults` captions, best first.
    ///
    /// `shouldAbort` is polled every few rows of intake, between dense layers and between decoder steps;
    /// returning true makes the call throw `CXRError.Kind.aborted` and leaves the session usable.
    public func generate(pixels: UnsafeRawBufferPointer, image: ImageDescriptor,
                         parameters: GenerationParameters = GenerationParameters(),
                         shouldAbort: (() -> Bool)? = nil) throws -> [Caption] {
        try parameters.validate()
        try encode(pixels: pixels, image: image, threads: parameters.threads, shouldAbort: shouldAbort)
        let context = try model.decoder.prepare(features: features, parts: BLASThreads.resolve(parameters.threads))
        return try BeamSearch.run(decoder: model.decoder, context: context, vocabulary: model.vocabulary,
                                  parameters: parameters, workspace: decoderWorkspace, shouldAbort: shouldAbort)
    }

    /// `generate` and, when the model has a findings head, its label probabilities (in `model.labels`
    /// order; nil without a head), from one pass of intake and encoder. Errors as for `generate`.
    public func generateWithFindings(pixels: UnsafeRawBufferPointer, image: ImageDescriptor,
                                     parameters: GenerationParameters = GenerationParameters(),
                                     shouldAbort: (() -> Bool)? = nil) throws -> (captions: [Caption], findings: [Float]?) {
        let captions = try generate(pixels: pixels, image: image, parameters: parameters, shouldAbort: shouldAbort)
        let findings = try model.findingsHead?.probabilities(features: features, regionCount: model.config.regionCount)
        return (captions, findings)
    }

    /// The input_size x input_size equalized 8-bit image the model sees ("what the model saw"), row-major.
    public func preprocess(pixels: UnsafeRawBufferPointer, image: ImageDescriptor) throws -> [UInt8] {
        try ImageIntake.equalizedImage(pixels: pixels, descriptor: image, size: model.config.inputSize)
    }

    /// Probabilities of the findings head's labels (in `model.labels` order).
    /// Throws `invalidArgument` when the model has no findings head or `threads` is negative.
    public func findings(pixels: UnsafeRawBufferPointer, image: ImageDescriptor,
                         threads: Int = 0, shouldAbort: (() -> Bool)? = nil) throws -> [Float] {
        try GenerationParameters.validate(threads: threads)
        guard let head = model.findingsHead else {
            throw CXRError.invalidArgument("model has no findings head (its weights file has no labels)")
        }
        // The encoder alone: the head needs V_gav, not the decoder's per-image context.
        try encode(pixels: pixels, image: image, threads: threads, shouldAbort: shouldAbort)
        return try head.probabilities(features: features, regionCount: model.config.regionCount)
    }

    // MARK: Parity (test support: the PyTorch reference compares these with its own)

    /// V for a normalized model input [inChannels, S, S]: region-major [R, F] (r = y * G + x).
    package func encode(modelInput: [Float], threads: Int = 0) throws -> [Float] {
        guard modelInput.count == encoder.input.count else {
            throw CXRError.invalidArgument("encoder input has \(modelInput.count) floats, expected "
                + "\(encoder.input.count) (\(encoder.input.channels) x \(encoder.input.size) x \(encoder.input.size))")
        }
        try GenerationParameters.validate(threads: threads)
        var output = [Float](repeating: 0, count: encoder.outputCount)
        try modelInput.withUnsafeBufferPointer { input in
            try output.withUnsafeMutableBufferPointer { output in
                try encoder.encode(input: input.baseAddress!, output: output.baseAddress!, threads: threads,
                                   shouldAbort: nil)
            }
        }
        return output
    }

    /// Beam search from a normalized model input (skipping intake).
    package func generate(modelInput: [Float], parameters: GenerationParameters = GenerationParameters())
        throws -> [Caption] {
        try parameters.validate()
        features = try encode(modelInput: modelInput, threads: parameters.threads)
        let context = try model.decoder.prepare(features: features)
        return try BeamSearch.run(decoder: model.decoder, context: context, vocabulary: model.vocabulary,
                                  parameters: parameters, workspace: decoderWorkspace, shouldAbort: nil)
    }

    /// Teacher-forced logits from a normalized model input: row s (s = 0..<tokens.count) is the
    /// distribution after feeding `<start>` then `tokens[0..<s]`. Returns [tokens.count, vocabulary size].
    /// Throws `invalidArgument` when `tokens` is empty (there would be no row).
    package func teacherForcedLogits(modelInput: [Float], tokens: [Int]) throws -> [Float] {
        guard !tokens.isEmpty else {
            throw CXRError.invalidArgument("teacher forcing needs at least one token")
        }
        features = try encode(modelInput: modelInput)
        let context = try model.decoder.prepare(features: features)
        let previous = [model.vocabulary.startID] + tokens.dropLast()
        return try model.decoder.teacherForcedOutputs(previousTokens: previous, context: context,
                                                      workspace: decoderWorkspace).logits
    }

    /// Intake and encoder, into `features`.
    private func encode(pixels: UnsafeRawBufferPointer, image: ImageDescriptor, threads: Int,
                        shouldAbort: (() -> Bool)?) throws {
        let config = model.config
        let equalized = try ImageIntake.equalizedImage(pixels: pixels, descriptor: image, size: config.inputSize,
                                                       shouldAbort: shouldAbort)
        let input = ImageIntake.modelInput(equalized: equalized, size: config.inputSize,
                                           channels: config.inChannels, mean: config.mean, std: config.std)
        try input.withUnsafeBufferPointer { input in
            try features.withUnsafeMutableBufferPointer { output in
                try encoder.encode(input: input.baseAddress!, output: output.baseAddress!, threads: threads,
                                   shouldAbort: shouldAbort)
            }
        }
    }
}
