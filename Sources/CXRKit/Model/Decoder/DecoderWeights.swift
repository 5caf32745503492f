import CXRWeights

/// The attention LSTM decoder's parameters after loading (Float32, row-major, PyTorch's layout).
/// F = feature channels, h = hidden, e = embed, a = attention dim, V = vocabulary size.
package struct DecoderWeights: Sendable {
    /// [V, e]
    package var embedding: [Float]
    /// [4h, e + F], gates in PyTorch's order (input, forget, cell, output); input is [E y ; V_gav].
    package var lstmInputWeight: [Float]
    /// [4h, h]
    package var lstmHiddenWeight: [Float]
    /// [4h]: bias_ih + bias_hh.
    package var lstmBias: [Float]
    /// W_h: [a, h] (no bias).
    package var attentionHidden: [Float]
    /// W_v: [a, F]
    package var attentionFeature: [Float]
    /// [a]
    package var attentionFeatureBias: [Float]
    /// w: [a]
    package var attentionScore: [Float]
    /// W_eh: [V, h]
    package var outputHidden: [Float]
    /// [V]
    package var outputBias: [Float]
    /// W_ec: [V, F] (no bias).
    package var outputContext: [Float]

    package init(embedding: [Float], lstmInputWeight: [Float], lstmHiddenWeight: [Float], lstmBias: [Float],
                 attentionHidden: [Float], attentionFeature: [Float], attentionFeatureBias: [Float],
                 attentionScore: [Float], outputHidden: [Float], outputBias: [Float], outputContext: [Float]) {
        self.embedding = embedding
        self.lstmInputWeight = lstmInputWeight
        self.lstmHiddenWeight = lstmHiddenWeight
        self.lstmBias = lstmBias
        self.attentionHidden = attentionHidden
        self.attentionFeature = attentionFeature
        self.attentionFeatureBias = attentionFeatureBias
        self.attentionScore = attentionScore
        self.outputHidden = outputHidden
        self.outputBias = outputBias
        self.outputContext = outputContext
    }
}

extension DecoderWeights {
    /// The decoder's tensors in a cxrcaption/1 file, with their shapes, in `state_dict()` order
    /// (docs/WEIGHTS.md).
    package static func expectedTensors(_ d: DecoderDimensions, vocabularySize v: Int) -> [(name: String, shape: [Int])] {
        let h = d.hidden, f = d.featureChannels
        return [
            ("decoder.embedding.weight", [v, d.embed]),
            ("decoder.lstm.weight_ih", [4 * h, d.embed + f]),
            ("decoder.lstm.weight_hh", [4 * h, h]),
            ("decoder.lstm.bias_ih", [4 * h]),
            ("decoder.lstm.bias_hh", [4 * h]),
            ("decoder.att_h.weight", [d.attention, h]),
            ("decoder.att_v.weight", [d.attention, f]),
            ("decoder.att_v.bias", [d.attention]),
            ("decoder.att_w.weight", [1, d.attention]),
            ("decoder.out_h.weight", [v, h]),
            ("decoder.out_h.bias", [v]),
            ("decoder.out_c.weight", [v, f]),
        ]
    }

    /// Tensors whose first dimension is the vocabulary size.
    package static let vocabularyRowTensors: Set<String> = [
        "decoder.embedding.weight", "decoder.out_h.weight", "decoder.out_h.bias", "decoder.out_c.weight",
    ]

    /// Reads the decoder's validated tensors; the two LSTM biases are summed in Double.
    package init(reading tensors: SafeTensorsReader) throws {
        let biasIH = try tensors.floats("decoder.lstm.bias_ih")
        let biasHH = try tensors.floats("decoder.lstm.bias_hh")
        self.init(
            embedding: try tensors.floats("decoder.embedding.weight"),
            lstmInputWeight: try tensors.floats("decoder.lstm.weight_ih"),
            lstmHiddenWeight: try tensors.floats("decoder.lstm.weight_hh"),
            lstmBias: zip(biasIH, biasHH).map { Float(Double($0) + Double($1)) },
            attentionHidden: try tensors.floats("decoder.att_h.weight"),
            attentionFeature: try tensors.floats("decoder.att_v.weight"),
            attentionFeatureBias: try tensors.floats("decoder.att_v.bias"),
            attentionScore: try tensors.floats("decoder.att_w.weight"),
            outputHidden: try tensors.floats("decoder.out_h.weight"),
            outputBias: try tensors.floats("decoder.out_h.bias"),
            outputContext: try tensors.floats("decoder.out_c.weight"))
    }
}
