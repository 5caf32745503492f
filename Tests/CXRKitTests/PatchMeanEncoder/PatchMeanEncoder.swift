import CXRModel
import CXRSupport
import CXRWeights

// A second image encoder, for tests only: it proves the encoder seam. Everything about it is in this folder;
// a model that names it loads once its kind is registered (`PatchMeanEncoderTests`).
//
// V for region (gy, gx) is relu(W · m + b), m[c] the mean of channel c over the region's patch x patch
// pixels: W is [F, C], b is [F] (tensors `encoder.patch.weight`, `encoder.patch.bias`).

/// The `"patch-mean"` encoder kind: config keys `patch_size` and `features`.
struct PatchMeanKind: EncoderKind {
    var name: String { "patch-mean" }
    var configKeys: [String] { ["patch_size", "features"] }

    func configuration(_ config: ConfigObject, input: EncoderInput) throws -> any EncoderConfiguration {
        let patch = try config.integer("patch_size", in: 1...input.size)
        guard input.size % patch == 0 else {
            throw CXRError.invalidModel("config input_size \(input.size) is not a multiple of patch_size \(patch)")
        }
        return PatchMeanConfiguration(input: input, patchSize: patch,
                                      featureChannels: try config.integer("features", in: 1...4096))
    }
}

struct PatchMeanConfiguration: EncoderConfiguration, Equatable {
    var input: EncoderInput
    var patchSize: Int
    var featureChannels: Int

    var kind: String { "patch-mean" }
    var gridSize: Int { input.size / patchSize }
    var workspaceBytes: Int { input.channels * MemoryLayout<Float>.size }
    var summary: String { "patch means, patch \(patchSize), \(featureChannels) features" }
    var values: [(key: String, value: JSONValue)] {
        [("patch_size", .integer(patchSize)), ("features", .integer(featureChannels))]
    }
    var expectedTensors: [(name: String, shape: [Int])] {
        [("encoder.patch.weight", [featureChannels, input.channels]), ("encoder.patch.bias", [featureChannels])]
    }

    func makeEncoder(reading tensors: SafeTensorsReader) throws -> any ImageEncoder {
        PatchMeanEncoder(configuration: self, weight: try tensors.floats("encoder.patch.weight"),
                         bias: try tensors.floats("encoder.patch.bias"))
    }
}

final class PatchMeanEncoder: ImageEncoder {
    let configuration: PatchMeanConfiguration
    let weight: [Float]
    let bias: [Float]

    init(configuration: PatchMeanConfiguration, weight: [Float], bias: [Float]) {
        self.configuration = configuration
        self.weight = weight
        self.bias = bias
    }

    var input: EncoderInput { configuration.input }
    var featureChannels: Int { configuration.featureChannels }
    var gridSize: Int { configuration.gridSize }

    /// The channel means of one patch.
    final class Workspace {
        var means: [Double]
        init(channels: Int) { means = [Double](repeating: 0, count: channels) }
    }

    func makeWorkspace() throws -> Workspace { Workspace(channels: input.channels) }

    func encode(input pixels: UnsafePointer<Float>, workspace: Workspace, output: UnsafeMutablePointer<Float>,
                threads: Int, shouldAbort: (() -> Bool)?) throws {
        let side = input.size, patch = configuration.patchSize, grid = gridSize
        for gy in 0..<grid {
            if let shouldAbort, shouldAbort() { throw CXRError.aborted }
            for gx in 0..<grid {
                for channel in 0..<input.channels {
                    var sum = 0.0
                    for y in (gy * patch)..<((gy + 1) * patch) {
                        for x in (gx * patch)..<((gx + 1) * patch) { sum += Double(pixels[(channel * side + y) * side + x]) }
                    }
                    workspace.means[channel] = sum / Double(patch * patch)
                }
                let region = output + (gy * grid + gx) * featureChannels
                for feature in 0..<featureChannels {
                    var value = Double(bias[feature])
                    for channel in 0..<input.channels {
                        value += Double(weight[feature * input.channels + channel]) * workspace.means[channel]
                    }
                    region[feature] = Float(max(value, 0))
                }
            }
        }
    }
}
