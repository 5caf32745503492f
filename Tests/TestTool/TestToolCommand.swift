import ArgumentParser

/// `cxrcaption-test-tool`: the dumps the parity scripts compare (training/, scripts/test_capi.sh). Test
/// support, built from the test tree and never installed: the shipped CLI carries no hidden commands.
@main
struct TestToolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cxrcaption-test-tool",
        abstract: "Dumps of the Swift API for the parity tests (not a user command).",
        subcommands: [ParityCommand.self, CAPIParityCommand.self]
    )
}
