import CCXRCAPI
import XCTest
@testable import CXRDecoding
@testable import CXRIntake
@testable import CXRModel

/// The header's limit macros are the C face of limits the core defines once; they must say the same.
/// (python/tests/test_abi.py holds the Python constants and ctypes structs to the header and the library.)
final class HeaderLimitsTests: XCTestCase {
    func testTheHeaderStatesTheCoresLimits() {
        XCTAssertEqual(Int(CXR_MAX_BEAM_WIDTH), GenerationParameters.beamWidthRange.upperBound)
        XCTAssertEqual(GenerationParameters.beamWidthRange.lowerBound, 1)
        XCTAssertEqual(Int(CXR_MAX_BEAM_WIDTH), AttentionDecoder.maximumRows)
        XCTAssertEqual(Int(CXR_MAX_TOKENS), GenerationParameters.maxTokensRange.upperBound)
        XCTAssertEqual(CXR_MAX_LENGTH_PENALTY, GenerationParameters.lengthPenaltyRange.upperBound)
        XCTAssertEqual(Int(CXR_MIN_IMAGE_SIDE), IntakeValidation.sideLimits.lowerBound)
        XCTAssertEqual(Int(CXR_MAX_IMAGE_SIDE), IntakeValidation.sideLimits.upperBound)
        // no_repeat_ngram_size 0 ..= CXR_MAX_TOKENS, distinct_extra_beam 0 ..= CXR_MAX_BEAM_WIDTH
        XCTAssertEqual(GenerationParameters.noRepeatNgramSizeRange, 0...Int(CXR_MAX_TOKENS))
        XCTAssertEqual(GenerationParameters.distinctExtraBeamRange, 0...Int(CXR_MAX_BEAM_WIDTH))
    }

    func testTheHeadersDefaultsAreTheCoresDefaults() {
        // cxr_generate_params_init writes GenerationParameters(); the header documents these values.
        let defaults = GenerationParameters()
        XCTAssertEqual([defaults.beamWidth, defaults.maxResults, defaults.maxTokens, defaults.threads], [3, 3, 60, 0])
        XCTAssertEqual(defaults.lengthPenalty, 0)
        XCTAssertFalse(defaults.suppressUnknown)
        XCTAssertTrue(defaults.returnAttention)
        XCTAssertEqual([defaults.noRepeatNgramSize, defaults.distinctExtraBeam], [0, 9])
        XCTAssertFalse(defaults.distinctResults)
    }
}
