import XCTest
@testable import CXRKit
@testable import CXRDecoding
@testable import CXRDenseNet
@testable import CXRModel
@testable import CXRWeights

final class WeightsModelFileTests: XCTestCase {
    // MARK: Happy path

    func testLoadsTinyModelIntoTheRightStructs() throws {
        let tiny = TinyModel(withFindings: true)
        let model = try tiny.load()

        XCTAssertEqual(model.formatVersion, "cxrcaption/1")
        XCTAssertEqual(model.config.encoderKind, "densenet")
        XCTAssertEqual(model.denseNet.blockConfig, [1, 1, 1, 1])
        XCTAssertEqual(model.denseNet.growthRate, 4)
        XCTAssertEqual(model.denseNet.bnSize, 2)
        XCTAssertEqual(model.denseNet.numInitFeatures, 8)
        XCTAssertEqual(model.config.inputSize, 64)
        XCTAssertEqual(model.config.hidden, 6)
        XCTAssertEqual(model.config.embed, 5)
        XCTAssertEqual(model.config.attentionDim, 7)
        XCTAssertEqual(model.denseNet.bnEps, 1e-5)
        XCTAssertEqual(model.config.mean, [0.5])
        XCTAssertEqual(model.config.std, [0.25])
        XCTAssertEqual(model.config.featureChannels, 8)
        XCTAssertEqual(model.vocabulary.tokens, ["<pad>", "<start>", "<end>", "<nou>", "heart", "normal", "."])
        XCTAssertEqual([model.vocabulary.padID, model.vocabulary.startID, model.vocabulary.endID,
                        model.vocabulary.unknownID], [0, 1, 2, 3])
        XCTAssertEqual(model.vocabulary.join, .spaceSeparated)
        XCTAssertEqual(model.labels, TinyModel.labels)
        XCTAssertEqual(model.problems, [])
        XCTAssertEqual(model.metadata.first?.key, "format")
        XCTAssertEqual(model.tensorSummary.parameterCount, tiny.tensors.reduce(0) { $0 + $1.values.count })
        XCTAssertEqual(model.tensorSummary.dtypes, [.f32])
        XCTAssertEqual(model.tensorSummary.tensors.count, tiny.tensors.count)

        let encoder = model.weights.encoder
        XCTAssertEqual([encoder.conv0.outChannels, encoder.conv0.inChannels, encoder.conv0.kernel,
                        encoder.conv0.stride, encoder.conv0.padding], [8, 1, 7, 2, 3])
        XCTAssertEqual(encoder.conv0.weight, tiny.values("encoder.features.conv0.weight"))
        XCTAssertEqual(encoder.blocks.map(\.count), [1, 1, 1, 1])
        XCTAssertEqual(encoder.blocks.map { $0[0].norm1.channels }, [8, 6, 5, 4])
        let layer = encoder.blocks[2][0]
        XCTAssertEqual([layer.conv1.outChannels, layer.conv1.inChannels, layer.conv1.kernel, layer.conv1.padding],
                       [8, 5, 1, 0])
        let conv2 = try XCTUnwrap(layer.conv2.oihw, "the OIHW form keeps the raw weights")
        XCTAssertEqual([conv2.outChannels, conv2.inChannels, conv2.kernel, conv2.stride, conv2.padding],
                       [4, 8, 3, 1, 1])
        XCTAssertEqual(conv2.weight, tiny.values("encoder.features.denseblock3.denselayer1.conv2.weight"))
        XCTAssertEqual(encoder.transitions.count, 3)
        XCTAssertEqual(encoder.transitions.map { $0.conv.outChannels }, [6, 5, 4])
        XCTAssertEqual(encoder.transitions.map { $0.conv.inChannels }, [12, 10, 9])
        XCTAssertEqual(encoder.transitions[1].conv.weight, tiny.values("encoder.features.transition2.conv.weight"))
        XCTAssertEqual(encoder.norm5.channels, 8)

        let decoder = model.weights.decoder
        XCTAssertEqual(decoder.embedding, tiny.values("decoder.embedding.weight"))
        XCTAssertEqual(decoder.lstmInputWeight, tiny.values("decoder.lstm.weight_ih"))
        XCTAssertEqual(decoder.lstmHiddenWeight, tiny.values("decoder.lstm.weight_hh"))
        let biasSum = zip(tiny.values("decoder.lstm.bias_ih"), tiny.values("decoder.lstm.bias_hh")).map { $0 + $1 }
        XCTAssertEqual(decoder.lstmBias, biasSum)
        XCTAssertEqual(decoder.attentionHidden, tiny.values("decoder.att_h.weight"))
        XCTAssertEqual(decoder.attentionFeature, tiny.values("decoder.att_v.weight"))
        XCTAssertEqual(decoder.attentionFeatureBias, tiny.values("decoder.att_v.bias"))
        XCTAssertEqual(decoder.attentionScore, tiny.values("decoder.att_w.weight"))
        XCTAssertEqual(decoder.outputHidden, tiny.values("decoder.out_h.weight"))
        XCTAssertEqual(decoder.outputBias, tiny.values("decoder.out_h.bias"))
        XCTAssertEqual(decoder.outputContext, tiny.values("decoder.out_c.weight"))
        XCTAssertEqual(model.weights.findings?.weight, tiny.values("findings.weight"))
        XCTAssertEqual(model.weights.findings?.bias, tiny.values("findings.bias"))
    }

    func testBatchNormIsFoldedExactly() throws {
        let tiny = TinyModel()
        let model = try tiny.load()
        func check(_ folded: FoldedBatchNorm, _ prefix: String, line: UInt = #line) {
            let weight = tiny.values("\(prefix).weight"), bias = tiny.values("\(prefix).bias")
            let mean = tiny.values("\(prefix).running_mean"), variance = tiny.values("\(prefix).running_var")
            XCTAssertEqual(folded.channels, weight.count, line: line)
            for channel in 0..<weight.count {
                let scale = Double(weight[channel]) / (Double(variance[channel]) + Double(Float(1e-5))).squareRoot()
                let shift = Double(bias[channel]) - Double(mean[channel]) * scale
                XCTAssertEqual(folded.scale[channel], Float(scale), line: line)
                XCTAssertEqual(folded.shift[channel], Float(shift), line: line)
                // And it is the BatchNorm it replaces, for an arbitrary input.
                let x: Float = 0.75
                let batchNorm = (Double(x) - Double(mean[channel])) / (Double(variance[channel]) + 1e-5).squareRoot()
                    * Double(weight[channel]) + Double(bias[channel])
                XCTAssertEqual(Double(x * folded.scale[channel] + folded.shift[channel]), batchNorm, accuracy: 1e-5,
                               line: line)
            }
        }
        let encoder = model.weights.encoder
        check(encoder.norm0, "encoder.features.norm0")
        check(encoder.blocks[0][0].norm1, "encoder.features.denseblock1.denselayer1.norm1")
        check(encoder.blocks[3][0].norm2, "encoder.features.denseblock4.denselayer1.norm2")
        check(encoder.transitions[2].norm, "encoder.features.transition3.norm")
        check(encoder.norm5, "encoder.features.norm5")
        XCTAssertNil(model.weights.findings)
        XCTAssertEqual(model.labels, [])
    }

    func testFoldingUsesTheConfiguredEpsilon() throws {
        var tiny = TinyModel()
        tiny.setConfig("bn_eps", "0.001")
        let model = try tiny.load()
        let weight = tiny.values("encoder.features.norm0.weight")[0]
        let variance = tiny.values("encoder.features.norm0.running_var")[0]
        XCTAssertEqual(model.weights.encoder.norm0.scale[0],
                       Float(Double(weight) / (Double(variance) + Double(Float(0.001))).squareRoot()))
    }

    func testHalfPrecisionModelsLoadWidened() throws {
        for dtype in [SafeTensorsDType.f16, .bf16] {
            var tiny = TinyModel()
            tiny.setDType(dtype)
            let model = try tiny.load()
            XCTAssertEqual(model.tensorSummary.dtypes, [dtype])
            let original = tiny.values("decoder.out_c.weight")
            let rounded = original.map { value -> Float in
                dtype == .f16 ? HalfPrecision.float(fromF16: HalfPrecision.f16Bits(from: value))
                    : HalfPrecision.float(fromBF16: HalfPrecision.bf16Bits(from: value))
            }
            XCTAssertEqual(model.weights.decoder.outputContext, rounded)
            XCTAssertNotEqual(rounded, original)  // the rounding really happened
        }
    }

    func testMixedDTypesAndIgnoredCounters() throws {
        var tiny = TinyModel()
        tiny.tensors[0].dtype = .bf16
        tiny.tensors[1].dtype = .f16
        var writer = try tiny.writer()
        writer.addRaw("encoder.features.norm0.num_batches_tracked", dtype: .i64, shape: [],
                      data: [7, 0, 0, 0, 0, 0, 0, 0])
        writer.addRaw("encoder.features.norm5.num_batches_tracked", dtype: .i32, shape: [], data: [1, 0, 0, 0])
        let model = try writer.serialized().withUnsafeBytes { try TestWeights.load(bytes: $0) }
        XCTAssertEqual(model.tensorSummary.dtypes, [.bf16, .f16, .f32])
        XCTAssertEqual(model.tensorSummary.ignored, ["encoder.features.norm0.num_batches_tracked",
                                                     "encoder.features.norm5.num_batches_tracked"])
        XCTAssertEqual(model.tensorSummary.parameterCount, tiny.tensors.reduce(0) { $0 + $1.values.count })
    }

    func testChineseJoinAndThreeChannelConfig() throws {
        var tiny = TinyModel()
        tiny.setMetadata("join", "")
        tiny.setMetadata("tokenizer", "zh")
        tiny.setConfig("in_channels", "3")
        tiny.setConfig("mean", "[0.485, 0.456, 0.406]")
        tiny.setConfig("std", "[0.229, 0.224, 0.225]")
        tiny.reshapeTensor("encoder.features.conv0.weight", [8, 3, 7, 7])
        let model = try tiny.load()
        XCTAssertEqual(model.vocabulary.join, .concatenate)
        XCTAssertEqual(model.config.inChannels, 3)
        XCTAssertEqual(model.config.std, [0.229, 0.224, 0.225])
        XCTAssertEqual(model.weights.encoder.conv0.inChannels, 3)
    }

    func testNonFatalProblemsAreReported() throws {
        var tiny = TinyModel()
        tiny.setMetadata("tokenizer", "zh")
        tiny.setMetadata("trained_on", "iu-xray")
        tiny.setMetadata("vocab", #"["<pad>", "<start>", "<end>", "<nou>", "heart", "heart", "."]"#)
        tiny.setMetadata("special_tokens", #"{"pad": 0, "start": 1, "end": 2, "nou": 3, "sep": 6}"#)
        tiny.setConfig("dropout", "0.5")
        let problems = try tiny.load().problems
        XCTAssertTrue(problems.contains { $0.contains("tokenizer \"zh\" does not match join") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("unknown metadata key \"trained_on\"") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("duplicate token(s), first \"heart\"") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("special_tokens has unknown key \"sep\"") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("config has unknown key \"dropout\"") }, "\(problems)")
    }

    func testDescribingMetadataIsKeptAndNotAProblem() throws {
        var tiny = TinyModel()
        tiny.setMetadata("name", "tiny")
        tiny.setMetadata("disclaimer", "Not for clinical use.")
        tiny.setMetadata("intended_use", "tests")
        tiny.setMetadata("version", "3")
        XCTAssertEqual(try tiny.load().problems.filter { $0.contains("metadata key") }, [])
        let model = try tiny.captionModel()
        XCTAssertEqual(model.metadata("disclaimer"), "Not for clinical use.")
        XCTAssertEqual(model.metadata("version"), "3")
        XCTAssertEqual(model.metadata("format"), "cxrcaption/1")
        XCTAssertNil(model.metadata("license"))
    }

    func testGenerationMetadataIsRecommendedNotApplied() throws {
        var tiny = TinyModel()
        tiny.setMetadata("generation", #"{"no_repeat_ngram_size":3,"distinct_results":true,"distinct_extra_beam":6,"length_penalty":0.5,"max_tokens":40,"suppress_unknown":true,"top_k":5}"#)
        let model = try tiny.captionModel()
        var expected = RecommendedGeneration()
        expected.noRepeatNgramSize = 3
        expected.distinctResults = true
        expected.distinctExtraBeam = 6
        expected.lengthPenalty = 0.5
        expected.maxTokens = 40
        expected.suppressUnknown = true
        XCTAssertEqual(model.recommendedGeneration, expected)
        XCTAssertTrue(try tiny.load().problems.contains("unknown metadata generation key \"top_k\" (ignored)"))
        // applying replaces what it names and keeps the rest (beam width, results, attention, threads)
        var caller = GenerationParameters()
        caller.beamWidth = 5
        caller.noRepeatNgramSize = 2
        let applied = caller.applying(model.recommendedGeneration)
        XCTAssertEqual([applied.beamWidth, applied.maxResults, applied.noRepeatNgramSize, applied.distinctExtraBeam,
                        applied.maxTokens], [5, 3, 3, 6, 40])
        XCTAssertTrue(applied.distinctResults && applied.suppressUnknown)
        XCTAssertEqual(applied.lengthPenalty, 0.5)
        XCTAssertEqual(GenerationParameters().applying(RecommendedGeneration()), GenerationParameters())
        XCTAssertTrue(try TinyModel().captionModel().recommendedGeneration.isEmpty)
    }

    func testBadGenerationMetadataIsNamed() {
        for (value, message) in [
            ("[]", "metadata generation is array, expected an object"),
            ("{", "metadata generation is not valid JSON"),
            (#"{"no_repeat_ngram_size":"3"}"#, "metadata generation no_repeat_ngram_size is string, expected an integer"),
            (#"{"distinct_results":1}"#, "metadata generation distinct_results is integer, expected true or false"),
            (#"{"length_penalty":null}"#, "metadata generation length_penalty is null, expected a number"),
            (#"{"no_repeat_ngram_size":-1}"#, "metadata generation is out of range: noRepeatNgramSize -1 is outside"),
            (#"{"max_tokens":0}"#, "metadata generation is out of range: maxTokens 0 is outside 1...1024"),
        ] {
            var tiny = TinyModel()
            tiny.setMetadata("generation", value)
            assertCXRError(.invalidModel, message) { try tiny.captionModel() }
        }
    }

    func testLoadsFromPath() throws {
        let path = NSTemporaryDirectory() + "weights-tiny-\(getpid()).safetensors"
        defer { unlink(path) }
        try TinyModel().writer().write(toFile: path)
        XCTAssertEqual(try TestWeights.load(path: path).config.hidden, 6)
        assertCXRError(.io, "no such file") { try TestWeights.load(path: path + ".missing") }
        assertCXRError(.io, "is a directory") { try TestWeights.load(path: NSTemporaryDirectory()) }
    }

    // MARK: Tensor validation

    func testWrongShapeIsNamed() {
        var tiny = TinyModel()
        tiny.reshapeTensor("decoder.lstm.weight_ih", [24, 12])
        assertCXRError(.invalidModel, "tensor decoder.lstm.weight_ih has shape [24, 12], expected [24, 13]") {
            try tiny.load()
        }
        var conv = TinyModel()
        conv.reshapeTensor("encoder.features.denseblock2.denselayer1.conv2.weight", [4, 8, 1, 1])
        assertCXRError(.invalidModel, "denselayer1.conv2.weight has shape [4, 8, 1, 1], expected [4, 8, 3, 3]") {
            try conv.load()
        }
    }

    func testMissingTensorIsNamed() {
        var tiny = TinyModel()
        tiny.removeTensor("decoder.att_w.weight")
        assertCXRError(.invalidModel, "missing tensor decoder.att_w.weight (expected shape [1, 7])") { try tiny.load() }
        var norm = TinyModel()
        norm.removeTensor("encoder.features.transition2.norm.running_var")
        assertCXRError(.invalidModel, "missing tensor encoder.features.transition2.norm.running_var") {
            try norm.load()
        }
    }

    func testUnknownTensorIsNamed() {
        var tiny = TinyModel()
        tiny.addTensor("encoder.features.denseblock1.denselayer2.conv1.weight", [8, 12, 1, 1])
        assertCXRError(.invalidModel, "unknown tensor encoder.features.denseblock1.denselayer2.conv1.weight") {
            try tiny.load()
        }
        var bias = TinyModel()
        bias.addTensor("decoder.att_h.bias", [7])
        assertCXRError(.invalidModel, "unknown tensor decoder.att_h.bias") { try bias.load() }
    }

    func testNonFloatParameterDTypeIsRejected() throws {
        var tiny = TinyModel()
        tiny.removeTensor("decoder.att_v.bias")
        var writer = try tiny.writer()
        writer.addRaw("decoder.att_v.bias", dtype: .i32, shape: [7], data: [UInt8](repeating: 0, count: 28))
        assertCXRError(.invalidModel, "tensor decoder.att_v.bias has dtype I32; model parameters must be F32, F16") {
            try writer.serialized().withUnsafeBytes { try TestWeights.load(bytes: $0) }
        }
    }

    func testVocabularySizeMustMatchTensorRows() {
        var tiny = TinyModel()
        tiny.setMetadata("vocab", #"["<pad>", "<start>", "<end>", "<nou>", "heart", "normal"]"#)
        assertCXRError(.invalidModel, "metadata vocab has 6 tokens but tensor decoder.embedding.weight has shape [7, 5]") {
            try tiny.load()
        }
        var outputRows = TinyModel()
        outputRows.reshapeTensor("decoder.out_h.weight", [8, 6])
        assertCXRError(.invalidModel, "vocab has 7 tokens but tensor decoder.out_h.weight has shape [8, 6]") {
            try outputRows.load()
        }
        var outputBias = TinyModel()
        outputBias.reshapeTensor("decoder.out_h.bias", [6])
        assertCXRError(.invalidModel, "tensor decoder.out_h.bias has shape [6]") { try outputBias.load() }
    }

    func testNonPositiveRunningVarianceIsRejected() {
        var tiny = TinyModel()
        let index = tiny.tensors.firstIndex { $0.name == "encoder.features.norm5.running_var" }!
        tiny.tensors[index].values[2] = -1
        assertCXRError(.invalidModel, "tensor encoder.features.norm5.running_var[2] is -1.0; running_var + bn_eps") {
            try tiny.load()
        }
    }

    // MARK: Findings head and labels

    func testLabelsWithoutFindingsHead() {
        var tiny = TinyModel()
        tiny.setMetadata("labels", #"["a", "b"]"#)
        assertCXRError(.invalidModel, "metadata has 2 labels but the file has no findings head") { try tiny.load() }
    }

    func testRepeatedLabelsAreRejected() {
        var tiny = TinyModel(withFindings: true)
        tiny.setMetadata("labels", #"["effusion", "nodule", "effusion"]"#)
        assertCXRError(.invalidModel, #"metadata labels repeat "effusion" (at index 2); each label must be unique"#) {
            try tiny.load()
        }
    }

    func testFindingsHeadWithoutLabels() {
        var tiny = TinyModel(withFindings: true)
        tiny.setMetadata("labels", nil)
        assertCXRError(.invalidModel, "findings head (findings.weight, findings.bias) but no \"labels\"") {
            try tiny.load()
        }
    }

    func testFindingsHeadMustBeComplete() {
        var noBias = TinyModel(withFindings: true)
        noBias.removeTensor("findings.bias")
        assertCXRError(.invalidModel, "findings.weight is present but findings.bias is missing") { try noBias.load() }
        var noWeight = TinyModel(withFindings: true)
        noWeight.removeTensor("findings.weight")
        assertCXRError(.invalidModel, "findings.bias is present but findings.weight is missing") { try noWeight.load() }
    }

    func testLabelCountMustMatchFindingsRows() {
        var tiny = TinyModel(withFindings: true)
        tiny.setMetadata("labels", #"["a", "b"]"#)
        assertCXRError(.invalidModel, "metadata has 2 labels but tensor findings.weight has shape [3, 8]") {
            try tiny.load()
        }
        var empty = TinyModel(withFindings: true)
        empty.setMetadata("labels", "[]")
        assertCXRError(.invalidModel, "labels is an empty array") { try empty.load() }
        var notStrings = TinyModel(withFindings: true)
        notStrings.setMetadata("labels", #"["a", 2, "c"]"#)
        assertCXRError(.invalidModel, "metadata labels[1] is a JSON integer, expected a string") {
            try notStrings.load()
        }
    }

    // MARK: Metadata

    func testFormatIsRequired() {
        var missing = TinyModel()
        missing.setMetadata("format", nil)
        assertCXRError(.invalidModel, "metadata has no \"format\"; not a cxrcaption/1 model") { try missing.load() }
        var wrong = TinyModel()
        wrong.setMetadata("format", "cxrcaption/2")
        assertCXRError(.invalidModel, "metadata format is \"cxrcaption/2\"") { try wrong.load() }
    }

    func testMetadataIsRequired() throws {
        var writer = SafeTensorsWriter()
        try writer.add("decoder.att_v.bias", shape: [2], values: [1, 2])
        assertCXRError(.invalidModel, "the file has no __metadata__") {
            try writer.serialized().withUnsafeBytes { try TestWeights.load(bytes: $0) }
        }
    }

    func testVocabularyMetadata() {
        let cases: [(String?, String)] = [
            (nil, "metadata is missing \"vocab\""),
            ("not json", "metadata vocab is not valid JSON"),
            (#"{"a": 1}"#, "metadata vocab is a JSON object, expected an array of strings"),
            (#"["<pad>", "<start>", "<end>", 4, "a", "b", "c"]"#, "metadata vocab[3] is a JSON integer"),
            (#"["<pad>", "<start>", "<end>"]"#, "metadata vocab has 3 tokens; at least the 4 special tokens"),
        ]
        for (value, fragment) in cases {
            var tiny = TinyModel()
            tiny.setMetadata("vocab", value)
            assertCXRError(.invalidModel, fragment) { try tiny.load() }
        }
    }

    func testSpecialTokenIDs() {
        let cases: [(String?, String)] = [
            (nil, "metadata is missing \"special_tokens\""),
            ("[0, 1, 2, 3]", "special_tokens is a JSON array, expected an object"),
            (#"{"pad": 0, "start": 1, "end": 2}"#, "special_tokens is missing \"nou\""),
            (#"{"pad": 0, "start": 1, "end": 7, "nou": 3}"#, "special token end id 7 is outside the vocabulary of 7"),
            (#"{"pad": -1, "start": 1, "end": 2, "nou": 3}"#, "special token pad id -1 is outside the vocabulary"),
            (#"{"pad": 0, "start": 1, "end": 1, "nou": 3}"#, "special tokens start and end share id 1"),
            (#"{"pad": 0, "start": "1", "end": 2, "nou": 3}"#, "special token start is \"1\", expected an integer"),
            (#"{"pad": 0, "start": 1.5, "end": 2, "nou": 3}"#, "special token start is 1.5, expected an integer"),
        ]
        for (value, fragment) in cases {
            var tiny = TinyModel()
            tiny.setMetadata("special_tokens", value)
            assertCXRError(.invalidModel, fragment) { try tiny.load() }
        }
    }

    func testJoinRule() {
        for value in ["  ", "_", "\t", "\"\""] {
            var tiny = TinyModel()
            tiny.setMetadata("join", value)
            assertCXRError(.invalidModel, "metadata join is") { try tiny.load() }
        }
        var missing = TinyModel()
        missing.setMetadata("join", nil)
        assertCXRError(.invalidModel, "metadata is missing \"join\"") { try missing.load() }
    }

    func testConfigFieldsAreValidated() {
        let cases: [(key: String, value: String?, fragment: String)] = [
            ("input_size", "48", "config input_size is 48, expected a multiple of 32"),
            ("input_size", "0", "config input_size is 0, expected 32...1024"),
            ("input_size", "8192", "config input_size is 8192, expected 32...1024"),
            ("input_size", "64.5", "config input_size is 64.5, expected an integer"),
            ("input_size", "\"64\"", "config input_size is \"64\", expected an integer"),
            ("in_channels", "2", "config in_channels is 2, expected 1 or 3"),
            ("in_channels", "0", "config in_channels is 0, expected 1 or 3"),
            ("growth_rate", "-4", "config growth_rate is -4, expected 1...1024"),
            ("growth_rate", "0", "config growth_rate is 0"),
            ("bn_size", "100", "config bn_size is 100"),
            ("num_init_features", "0", "config num_init_features is 0"),
            ("hidden", "1000000000", "config hidden is 1000000000, expected 1...8192"),
            ("hidden", "99999999999999999999999", "config hidden is 1e+23, expected an integer"),
            ("embed", "0", "config embed is 0"),
            ("attention_dim", "null", "config attention_dim is null, expected an integer"),
            ("hidden", nil, "config is missing \"hidden\""),
            ("block_config", "[1, 1, 1]", "has 3 blocks; cxrcaption/1 requires 4"),
            ("block_config", "[1, 0, 1, 1]", "has entry 0; each must be an integer in 1...256"),
            ("block_config", "[1, 1, 1, 1000]", "has entry 1000"),
            ("block_config", "4", "config block_config is 4, expected an array"),
            ("bn_eps", "0", "config bn_eps is 0, expected a number in (0, 1)"),
            ("bn_eps", "-1e-5", "config bn_eps is -1e-05"),
            ("bn_eps", "1e-50", "too small for Float32"),
            ("mean", "[0.5, 0.5]", "config mean is [0.5,0.5], expected an array of 1 numbers"),
            ("mean", "[]", "config mean is [], expected an array of 1"),
            ("mean", "0.5", "config mean is 0.5"),
            ("mean", "[\"a\"]", "has entry \"a\"; each must be a finite number"),
            ("std", "[0]", "config std [0] has entry 0; each must be a positive finite number"),
            ("std", "[-0.25]", "each must be a positive finite number"),
            ("std", "[1e300]", "each must be a positive finite number"),
            ("preprocessing", "2", "config preprocessing is 2; this library implements intake pipeline version 1"),
            ("preprocessing", nil, "config is missing \"preprocessing\""),
        ]
        for entry in cases {
            var tiny = TinyModel()
            tiny.setConfig(entry.key, entry.value)
            assertCXRError(.invalidModel, entry.fragment) { try tiny.load() }
        }
    }

    func testConfigMustBeAJSONObject() {
        let cases: [(String??, String)] = [
            (.some(nil), "metadata is missing \"config\""),
            ("{", "metadata config is not valid JSON: unexpected end of input"),
            ("[1]", "metadata config is a JSON array, expected an object"),
        ]
        for (value, fragment) in cases {
            var tiny = TinyModel()
            tiny.rawConfigOverride = value
            assertCXRError(.invalidModel, fragment) { try tiny.load() }
        }
    }

    func testThreeChannelMeanMayHaveOneOrThreeEntries() throws {
        var tiny = TinyModel()
        tiny.setConfig("in_channels", "3")
        tiny.setConfig("mean", "[0.5, 0.5]")
        tiny.reshapeTensor("encoder.features.conv0.weight", [8, 3, 7, 7])
        assertCXRError(.invalidModel, "expected an array of 1 or 3 numbers") { try tiny.load() }
        tiny.setConfig("mean", "[0.5]")
        XCTAssertEqual(try tiny.load().config.mean, [0.5])
    }
}
