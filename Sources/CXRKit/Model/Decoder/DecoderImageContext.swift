/// Everything the decoder computes once per image, before the first step (see
/// `AttentionDecoder.prepare(features:)`). Immutable, so it may be shared while several searches run.
package struct DecoderImageContext: Sendable {
    /// Regions R of the encoder grid.
    package let regionCount: Int
    /// Feature channels F.
    package let featureChannels: Int
    /// V, region-major [R, F]: row r holds the F channels of region r (r = y * grid + x).
    package let features: [Float]
    /// V_gav: the mean of V over the regions, [F].
    package let meanFeatures: [Float]
    /// W_v V_r + b_v for every region, channel-major [a, R]: row d holds channel d of every region (the
    /// attention kernel's lanes run over regions; and W_v Vᵀ is the faster GEMM shape).
    package let projectedFeatures: [Float]
    /// The part of the LSTM's gate pre-activations that does not change between steps,
    /// W_ih[:, e:] · V_gav + bias_ih + bias_hh, [4h].
    package let constantGates: [Float]
    /// P = W_ec Vᵀ, [V, R]: column r holds the output layer's context term for region r alone, so that
    /// W_ec C_t = P alpha_t. nil when the decoder does not use it (`AttentionDecoder.usesContextTable`).
    package let contextLogits: [Float]?
}
