import CXRSupport
import CXRTensor

/// The scratch memory of one `DenseNetEncoder` caller: every activation buffer of a forward pass, sized
/// once from the model's configuration and reused by every `encode` call (a forward pass allocates
/// nothing). Use one workspace from one thread at a time; make one per concurrent caller.
///
/// Layout (private to the encoder): activations are channels-last, [pixels, channels] row-major. Each
/// dense block has one buffer of its full output width; every dense layer writes its new channels into
/// it in place, so concatenation costs nothing.
package final class DenseNetWorkspace {
    /// The shapes this workspace was sized for; `encode` refuses a workspace of another plan.
    package let plan: DenseNetPlan
    /// The input image, channels-last.
    package let image: FloatBuffer
    /// conv0's output, normalized and rectified in place before pool0.
    package let stem: FloatBuffer
    /// One buffer per dense block, [side², outputChannels].
    package let blocks: [FloatBuffer]
    /// A dense layer's BN-ReLU'd input, or a transition's BN-ReLU'd and pooled input.
    package let normalized: FloatBuffer
    /// A dense layer's 1x1 convolution output (then BN-ReLU'd in place).
    package let bottleneck: FloatBuffer
    /// im2col bands of conv0 and the 3x3 convolutions.
    package let columns: FloatBuffer
    /// `bottleneckChannels` zeros: the padding Winograd tiles read outside the image.
    package let zeros: FloatBuffer

    /// Throws `outOfMemory` when the buffers cannot be allocated or exceed
    /// `DenseNetPlan.maximumWorkspaceFloats`.
    package init(plan: DenseNetPlan) throws {
        guard plan.workspaceFloats <= DenseNetPlan.maximumWorkspaceFloats else {
            throw CXRError(.outOfMemory, "encoder workspace for input_size \(plan.inputSize) exceeds "
                           + "\(DenseNetPlan.maximumWorkspaceFloats) floats")
        }
        self.plan = plan
        image = try FloatBuffer(count: plan.imageFloats)
        stem = try FloatBuffer(count: plan.stemFloats)
        blocks = try plan.blockFloats.map { try FloatBuffer(count: $0) }
        normalized = try FloatBuffer(count: plan.normalizedFloats)
        bottleneck = try FloatBuffer(count: plan.bottleneckFloats)
        columns = try FloatBuffer(count: plan.columnFloats)
        zeros = try FloatBuffer(count: plan.bottleneckChannels)
    }

    /// The whole buffer of dense block `index` as a view.
    package func blockView(_ index: Int) -> FeatureMapView {
        let block = plan.blocks[index]
        return FeatureMapView(base: blocks[index].pointer, height: block.side, width: block.side,
                              channels: block.outputChannels)
    }
}
