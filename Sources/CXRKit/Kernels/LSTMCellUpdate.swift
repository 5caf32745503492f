import CVectorKernels

/// The element-wise half of an LSTM cell (PyTorch's gate order i, f, g, o).
package enum LSTMCellUpdate {
    /// For each unit u of one row: c = σ(f_u) · c_u + σ(i_u) · tanh(g_u); h_u = σ(o_u) · tanh(c).
    ///
    /// - gates: the row's 4 · `units` pre-activations [i | f | g | o].
    /// - cell: the row's `units` cell values, replaced by the new ones.
    /// - hidden: receives the row's `units` new hidden values (must not overlap `gates` or `cell`).
    ///
    /// σ, tanh: branch-free approximations within about 1e-6 of libm (`cvk_lstm_update`).
    package static func apply(gates: UnsafePointer<Float>, cell: UnsafeMutablePointer<Float>,
                      hidden: UnsafeMutablePointer<Float>, units: Int, level: VectorLevel = .best) {
        cvk_lstm_update(level.cLevel, gates, cell, hidden, units)
    }
}
