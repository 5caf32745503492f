import ArgumentParser
import CXRSupport

/// `cxrcaption`: caption chest X-rays, inspect models, preprocess images, score captions.
@main
struct CXRCaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cxrcaption",
        abstract: "Chest X-ray impression generation (DenseNet-121 + attention LSTM).",
        version: CXRVersion.string,
        subcommands: [CaptionCommand.self, EvalCommand.self, PreprocessCommand.self, ScoreCommand.self, InspectCommand.self,
                      ReaderStudyCommand.self]
    )
}
