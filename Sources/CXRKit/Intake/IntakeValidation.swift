import CXRSupport

/// Checks a pixel buffer and its descriptor before anything reads it (docs/INTAKE.md "Limits"). Every rule
/// about a caller's image is here, for Swift and C callers alike (the C layer only converts its struct).
/// Messages name the fields as `ImageDescriptor` spells them, listed in the error's `arguments`.
package enum IntakeValidation {
    /// Width and height a caller may pass.
    package static let sideLimits = 16...16384
    /// Output sizes `equalizedImage` accepts.
    package static let sizeLimits = 1...4096

    /// Bytes a buffer laid out as `d` spans: (height - 1) rows of `rowBytes` plus one row of pixels.
    /// Throws `invalidImage` for sides outside `sideLimits`, rows shorter than their pixels, or a span that
    /// overflows.
    package static func byteCount(of d: ImageDescriptor) throws -> Int {
        guard sideLimits.contains(d.width) else {
            throw CXRError.invalidImage("image width \(d.width) is outside \(sideLimits.lowerBound)...\(sideLimits.upperBound)",
                                        arguments: "width")
        }
        guard sideLimits.contains(d.height) else {
            throw CXRError.invalidImage("image height \(d.height) is outside \(sideLimits.lowerBound)...\(sideLimits.upperBound)",
                                        arguments: "height")
        }
        let bytesPerPixel = d.format.bytesPerPixel
        let rowPayload = d.width * bytesPerPixel  // at most 16384 x 4: cannot overflow
        guard d.rowBytes >= rowPayload else {
            let unit = bytesPerPixel == 1 ? "byte" : "bytes"
            throw CXRError.invalidImage(
                "image rowBytes \(d.rowBytes) is less than width \(d.width) x \(bytesPerPixel) \(unit)",
                arguments: "rowBytes")
        }
        let (skipped, overflow) = (d.height - 1).multipliedReportingOverflow(by: d.rowBytes)
        let (needed, overflow2) = skipped.addingReportingOverflow(rowPayload)
        guard !overflow, !overflow2 else {
            throw CXRError.invalidImage("image rowBytes \(d.rowBytes) x height \(d.height) overflows the address space",
                                        arguments: "rowBytes")
        }
        return needed
    }

    /// The buffer a caller who passes only a start address describes (the C API): exactly `byteCount(of:)`
    /// bytes from `start`. Throws `invalidImage` as `byteCount(of:)` does, and when the span would run past
    /// the end of the address space.
    package static func buffer(start: UnsafeRawPointer, descriptor d: ImageDescriptor) throws -> UnsafeRawBufferPointer {
        let count = try byteCount(of: d)
        guard !UInt(bitPattern: start).addingReportingOverflow(UInt(count)).overflow else {
            throw CXRError.invalidImage(
                "image rowBytes \(d.rowBytes) x height \(d.height) does not fit in the address space",
                arguments: "rowBytes")
        }
        return UnsafeRawBufferPointer(start: start, count: count)
    }

    /// Every rule of docs/INTAKE.md "Limits" that can be checked without reading the pixels (GRAYF32 samples
    /// are checked as intake reads them). Samples need no alignment: intake reads them unaligned.
    package static func check(pixels: UnsafeRawBufferPointer, descriptor d: ImageDescriptor, size: Int) throws {
        guard sizeLimits.contains(size) else {
            throw CXRError.invalidArgument("input size \(size) is outside \(sizeLimits.lowerBound)...\(sizeLimits.upperBound)")
        }
        let needed = try byteCount(of: d)
        guard pixels.count >= needed, needed == 0 || pixels.baseAddress != nil else {
            throw CXRError.invalidImage(
                "image buffer holds \(pixels.count) bytes but width \(d.width), height \(d.height), "
                    + "rowBytes \(d.rowBytes) need \(needed)", arguments: "rowBytes")
        }
        if d.format == .gray16, !(1...16).contains(d.bitsStored) {
            throw CXRError.invalidImage("image bitsStored \(d.bitsStored) is outside 1...16", arguments: "bitsStored")
        }
        guard d.rescaleSlope.isFinite else {
            throw CXRError.invalidImage("image rescaleSlope \(d.rescaleSlope) is not finite", arguments: "rescaleSlope")
        }
        guard d.rescaleSlope != 0 else {
            throw CXRError.invalidImage(
                "image rescaleSlope is 0, which maps every pixel to the intercept (DICOM's RescaleSlope is 1 "
                    + "when absent; DCMTK reports 0 for a missing one)", arguments: "rescaleSlope")
        }
        guard d.rescaleIntercept.isFinite else {
            throw CXRError.invalidImage("image rescaleIntercept \(d.rescaleIntercept) is not finite",
                                        arguments: "rescaleIntercept")
        }
        if let window = d.window {
            guard window.center.isFinite else {
                throw CXRError.invalidImage("image window.center \(window.center) is not finite",
                                            arguments: "window.center")
            }
            guard window.width.isFinite, window.width > 1 else {
                throw CXRError.invalidImage(
                    "image window.width \(window.width) must be a finite number greater than 1 (without a window, "
                        + "the image's own range is used)", arguments: "window.width")
            }
        }
    }
}
