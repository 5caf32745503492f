import ArgumentParser
import CXRImageIO

/// How image files are read, shared by `caption`, `preprocess` and `eval`.
struct ImageReadingOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The most pixels an image file may decode to, checked from its header before any pixel is decoded.",
        discussion: "Default \(ImageSizeLimit.defaultMaxPixels), Pillow's MAX_IMAGE_PIXELS: a 2 MB PNG can "
            + "claim 16384 x 16384 RGBA16 pixels (2 GiB). A compressed DICOM counts every frame (DCMTK decodes "
            + "them all). Sides stay within 16...16384 whatever this says."))
    var maxPixels: Int = ImageSizeLimit.defaultMaxPixels

    func validate() throws {
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be at least 1, got \(maxPixels)") }
    }
}
