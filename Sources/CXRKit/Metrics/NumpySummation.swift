/// Sums doubles in the order numpy's `np.sum` / `np.mean` add a contiguous float64 array (pairwise summation
/// with 8 accumulators in blocks of at most 128), so corpus means equal pycocoevalcap's to the last bit.
func numpySum(_ values: ArraySlice<Double>) -> Double {
    let count = values.count
    let base = values.startIndex
    if count < 8 {
        var sum = 0.0
        for value in values { sum += value }
        return sum
    }
    if count <= 128 {
        var r = Array(values[base ..< base + 8])
        var i = 8
        while i < count - count % 8 {
            for j in 0..<8 { r[j] += values[base + i + j] }
            i += 8
        }
        var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < count {
            sum += values[base + i]
            i += 1
        }
        return sum
    }
    var half = count / 2
    half -= half % 8
    return numpySum(values[base ..< base + half]) + numpySum(values[(base + half)...])
}

/// `np.mean` of a non-empty array; 0 for an empty one.
func numpyMean(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    return numpySum(values[...]) / Double(values.count)
}
