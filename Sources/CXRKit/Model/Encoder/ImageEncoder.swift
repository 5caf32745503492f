import CXRSupport

/// What an encoder takes: the normalized model input, [channels, size, size].
package struct EncoderInput: Equatable, Sendable {
    /// Image channels (1, or 3 for ImageNet-style weights).
    package var channels: Int
    /// Side of the square input in pixels.
    package var size: Int

    package init(channels: Int, size: Int) {
        self.channels = channels
        self.size = size
    }

    /// Floats of one input.
    package var count: Int { channels * size * size }
}

/// An image encoder: turns the normalized model input [C, S, S] into V, the features of a G x G grid of
/// regions, region-major [R, F] (R = G², region r = y·G + x), after its final activation. The decoder
/// attends over V's regions and the findings head reads their mean.
///
/// An encoder is immutable and shared by every session of a model; the memory of one forward pass is its
/// `Workspace`, one per session (`makeRunner`).
package protocol ImageEncoder: Sendable {
    /// The per-call memory of a forward pass; used by one thread at a time.
    associatedtype Workspace

    /// What `encode` reads.
    var input: EncoderInput { get }
    /// Channels F of V.
    var featureChannels: Int { get }
    /// Side G of V's grid.
    var gridSize: Int { get }

    /// A fresh workspace; throws `outOfMemory` when it cannot be had.
    func makeWorkspace() throws -> Workspace

    /// Runs the encoder on one image: `input` holds `input.count` floats, `output` receives `outputCount`.
    /// `threads` bounds the threads the call uses (0 = all cores); the result must not depend on it.
    /// `shouldAbort` is polled between stages; returning true throws `CXRError.aborted`.
    func encode(input: UnsafePointer<Float>, workspace: Workspace, output: UnsafeMutablePointer<Float>,
                threads: Int, shouldAbort: (() -> Bool)?) throws

    /// After an `encode` whose output was not finite: the stage where `workspace` first holds a non-finite
    /// value ("denseblock3"), or nil when the encoder cannot tell. Only called on that failure.
    func firstNonFiniteStage(workspace: Workspace) -> String?
}

extension ImageEncoder {
    package func firstNonFiniteStage(workspace: Workspace) -> String? { nil }

    /// Regions R of V.
    package var regionCount: Int { gridSize * gridSize }
    /// Floats of V: R x F.
    package var outputCount: Int { regionCount * featureChannels }

    /// This encoder with a workspace of its own: what a session runs.
    package func makeRunner() throws -> EncoderRunner { try EncoderRunner(self) }
}

/// An encoder bound to a workspace of its own, whatever the encoder's type: one per session, used by one
/// thread at a time. Its output is finite or the call throws: weights that overflow Float32 on an image
/// (finite, but large enough for a sum of products to reach infinity) must not become NaN captions.
package final class EncoderRunner {
    package let input: EncoderInput
    package let featureChannels: Int
    package let regionCount: Int
    private let run: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, (() -> Bool)?) throws -> Void
    private let locate: () -> String?

    init<Encoder: ImageEncoder>(_ encoder: Encoder) throws {
        let workspace = try encoder.makeWorkspace()
        input = encoder.input
        featureChannels = encoder.featureChannels
        regionCount = encoder.regionCount
        run = { input, output, threads, shouldAbort in
            try encoder.encode(input: input, workspace: workspace, output: output, threads: threads,
                               shouldAbort: shouldAbort)
        }
        locate = { encoder.firstNonFiniteStage(workspace: workspace) }
    }

    /// Floats of V.
    package var outputCount: Int { regionCount * featureChannels }

    /// `ImageEncoder.encode` with this runner's workspace; throws `invalidModel`, naming the stage when the
    /// encoder can, when V is not finite (one scan of V: R x F floats, 64 K for DenseNet-121 at 256).
    package func encode(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int,
                        shouldAbort: (() -> Bool)?) throws {
        try run(input, output, threads, shouldAbort)
        if FloatScan.firstNonFinite(UnsafeBufferPointer(start: output, count: outputCount)) != nil {
            throw CXRError.invalidModel("encoder output is not finite" + (locate().map { " (first at \($0))" } ?? "")
                + ": the model's weights overflow Float32 on this image")
        }
    }
}
