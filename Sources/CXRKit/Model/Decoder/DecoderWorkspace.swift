/// Scratch memory and recurrent state for decoding one image at a time with one `AttentionDecoder`.
///
/// Holds up to `capacity` rows (hypotheses): their LSTM hidden and cell states, and the last step's logits
/// and attention weights. Buffers grow on demand and are reused across steps and calls, so a step does not
/// allocate. Not thread-safe: use one workspace from one thread at a time (a session owns one).
package final class DecoderWorkspace {
    package let hiddenSize: Int
    package let embedSize: Int
    package let featureChannels: Int
    package let attentionSize: Int
    package let vocabularySize: Int
    package let regionCount: Int

    /// Rows the buffers can hold.
    private(set) var capacity: Int = 0
    /// Rows of the current state (live hypotheses).
    private(set) var rows: Int = 0

    /// h and c, [capacity, h].
    package var hidden: [Float] = []
    package var cell: [Float] = []
    /// Second copies of h and c, used to reorder rows without allocating.
    private var spareHidden: [Float] = []
    private var spareCell: [Float] = []
    /// E[y] for each row, [capacity, e].
    package var embedded: [Float] = []
    /// LSTM gate pre-activations, [capacity, 4h].
    package var gates: [Float] = []
    /// W_h h, [capacity, a].
    package var attentionHidden: [Float] = []
    /// Threads a step's products and attention are shared among (`ParallelFor` parts; set per call by
    /// `BeamSearch` from the call's `threads`). Results do not depend on it.
    package var parts = 1 {
        didSet { parts = max(1, min(parts, 64)) }
    }
    /// alpha of the last step, [capacity, R].
    package var attention: [Float] = []
    /// C of the last step, [capacity, F] (only computed when the image context has no P table).
    package var context: [Float] = []
    /// Logits of the last step, [capacity, V].
    package var logits: [Float] = []
    /// Beam search's log-probabilities of the last step, [capacity, V].
    package var logProbabilities: [Float] = []

    /// Creates a workspace for `decoder`, with room for `capacity` rows (it grows when needed).
    package init(decoder: AttentionDecoder, capacity: Int = 1) {
        hiddenSize = decoder.hiddenSize
        embedSize = decoder.embedSize
        featureChannels = decoder.featureChannels
        attentionSize = decoder.attentionSize
        vocabularySize = decoder.vocabularySize
        regionCount = decoder.regionCount
        reserve(rows: max(1, min(capacity, AttentionDecoder.maximumRows)))
    }

    package func matches(_ decoder: AttentionDecoder) -> Bool {
        hiddenSize == decoder.hiddenSize && embedSize == decoder.embedSize
            && featureChannels == decoder.featureChannels && attentionSize == decoder.attentionSize
            && vocabularySize == decoder.vocabularySize && regionCount == decoder.regionCount
    }

    /// Makes room for `count` rows (at most `AttentionDecoder.maximumRows`, checked by the caller).
    /// Keeps the current state.
    package func reserve(rows count: Int) {
        guard count > capacity else { return }
        func grow(_ buffer: inout [Float], width: Int) {
            buffer.append(contentsOf: repeatElement(0, count: (count - capacity) * width))
        }
        grow(&hidden, width: hiddenSize)
        grow(&cell, width: hiddenSize)
        grow(&spareHidden, width: hiddenSize)
        grow(&spareCell, width: hiddenSize)
        grow(&embedded, width: embedSize)
        grow(&gates, width: 4 * hiddenSize)
        grow(&attentionHidden, width: attentionSize)
        grow(&attention, width: regionCount)
        grow(&context, width: featureChannels)
        grow(&logits, width: vocabularySize)
        grow(&logProbabilities, width: vocabularySize)
        capacity = count
    }

    /// Starts `count` fresh rows with h = c = 0.
    package func resetState(rows count: Int) {
        reserve(rows: count)
        for index in 0..<(count * hiddenSize) {
            hidden[index] = 0
            cell[index] = 0
        }
        rows = count
    }

    /// Replaces the state by the rows `parents` (new row j = old row parents[j]), e.g. the parents of the
    /// hypotheses a beam search keeps. Each parent must be in 0..<rows.
    package func reorderState(parents: [Int]) {
        precondition(parents.count <= capacity && parents.allSatisfy { $0 >= 0 && $0 < rows },
                     "decoder state reordered with parents \(parents) of \(rows) rows")
        let width = hiddenSize
        for (row, parent) in parents.enumerated() {
            spareHidden[(row * width)..<((row + 1) * width)] = hidden[(parent * width)..<((parent + 1) * width)]
            spareCell[(row * width)..<((row + 1) * width)] = cell[(parent * width)..<((parent + 1) * width)]
        }
        swap(&hidden, &spareHidden)
        swap(&cell, &spareCell)
        rows = parents.count
    }
}
