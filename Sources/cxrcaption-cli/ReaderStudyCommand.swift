import ArgumentParser

/// `cxrcaption reader-study make|analyze`: the blinded reader study of docs/READER_STUDY.md, in the CLI so
/// that a radiology group can make, score and analyse one without Python.
struct ReaderStudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reader-study",
        abstract: "Make a blinded reader-study packet (model vs human impressions) and analyse its scores.",
        discussion: "See docs/READER_STUDY.md for the protocol, the blinding and the analysis.",
        subcommands: [ReaderStudyMakeCommand.self, ReaderStudyAnalyzeCommand.self]
    )
}
