
/// Step 5b of intake version 1: OpenCV's `equalizeHist` definition, computed in integers
/// (docs/INTAKE.md "Equalize").
///
/// With `cdf` the cumulative histogram, `cdfMin` the count of the darkest level present and `N` the pixel count,
/// `lut[v] = floor(((cdf[v] - cdfMin) * 255 * 2 + (N - cdfMin)) / (2 * (N - cdfMin)))`, i.e. the exact ratio
/// rounded half up. A constant image (`N == cdfMin`) is returned unchanged.
enum HistogramEqualization {
    static func lookupTable(_ image: [UInt8]) -> [UInt8] {
        var histogram = [Int](repeating: 0, count: 256)
        for value in image { histogram[Int(value)] += 1 }
        let total = image.count
        guard let darkest = histogram.firstIndex(where: { $0 != 0 }) else { return (0..<256).map { UInt8($0) } }
        let cdfMin = histogram[darkest]
        let span = total - cdfMin
        if span == 0 { return (0..<256).map { UInt8($0) } }
        var table = [UInt8](repeating: 0, count: 256)
        var cdf = 0
        for value in 0..<256 {
            cdf += histogram[value]
            let above = max(cdf - cdfMin, 0)
            table[value] = UInt8((above * 510 + span) / (2 * span))
        }
        return table
    }

    static func equalize(_ image: inout [UInt8]) {
        let table = lookupTable(image)
        for index in image.indices { image[index] = table[Int(image[index])] }
    }
}
