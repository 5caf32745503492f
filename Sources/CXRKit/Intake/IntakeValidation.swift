/// Checks a pixel buffer and its descriptor before anything reads it (docs/INTAKE.md "Limits").
enum IntakeValidation {
    /// Width and height a caller may pass.
    static let sideLimits = 16...16384
    /// Output sizes `equalizedImage` accepts.
    static let sizeLimits = 1...4096

    static func check(pixels: UnsafeRawBufferPointer, descriptor d: ImageDescriptor, size: Int) throws {
        guard sizeLimits.contains(size) else {
            throw CXRError.invalidArgument("input size \(size) is outside \(sizeLimits.lowerBound)...\(sizeLimits.upperBound)")
        }
        guard sideLimits.contains(d.width) else {
            throw CXRError.invalidImage("image width \(d.width) is outside \(sideLimits.lowerBound)...\(sideLimits.upperBound)")
        }
        guard sideLimits.contains(d.height) else {
            throw CXRError.invalidImage("image height \(d.height) is outside \(sideLimits.lowerBound)...\(sideLimits.upperBound)")
        }
        let bytesPerPixel = d.format.bytesPerPixel
        let rowPayload = d.width * bytesPerPixel  // at most 16384 x 4: cannot overflow
        guard d.rowBytes >= rowPayload else {
            let unit = bytesPerPixel == 1 ? "byte" : "bytes"
            throw CXRError.invalidImage(
                "image row_bytes \(d.rowBytes) is less than width \(d.width) x \(bytesPerPixel) \(unit)")
        }
        let (skipped, overflow) = (d.height - 1).multipliedReportingOverflow(by: d.rowBytes)
        let (needed, overflow2) = skipped.addingReportingOverflow(rowPayload)
        guard !overflow, !overflow2 else {
            throw CXRError.invalidImage(
                "image row_bytes \(d.rowBytes) x height \(d.height) overflows the address space")
        }
        guard pixels.count >= needed, needed == 0 || pixels.baseAddress != nil else {
            throw CXRError.invalidImage(
                "image buffer holds \(pixels.count) bytes but width \(d.width), height \(d.height), "
                    + "row_bytes \(d.rowBytes) need \(needed)")
        }
        if d.format == .gray16, !(1...16).contains(d.bitsStored) {
            throw CXRError.invalidImage("image bits_stored \(d.bitsStored) is outside 1...16")
        }
        guard d.rescaleSlope.isFinite else {
            throw CXRError.invalidImage("image rescale_slope \(d.rescaleSlope) is not finite")
        }
        guard d.rescaleIntercept.isFinite else {
            throw CXRError.invalidImage("image rescale_intercept \(d.rescaleIntercept) is not finite")
        }
        if let window = d.window {
            guard window.center.isFinite else {
                throw CXRError.invalidImage("image window center \(window.center) is not finite")
            }
            guard window.width.isFinite, window.width > 1 else {
                throw CXRError.invalidImage(
                    "image window width \(window.width) must be a finite number greater than 1 (pass no window "
                        + "to use the image's own range)")
            }
        }
    }
}
