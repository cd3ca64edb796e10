import ConiferCore
import Foundation
import Testing

@Suite struct IndexRulesTests {
    let project = UUID()

    @Test(arguments: ["a", "my-index", "x1-2-3", String(repeating: "a", count: 45)])
    func acceptsValidNames(_ name: String) throws {
        try IndexRules.validateName(name)
    }

    @Test(arguments: ["", "-a", "a-", "My-Index", "under_score", "dot.name", "spa ce", "ünï", String(repeating: "a", count: 46)])
    func rejectsInvalidNames(_ name: String) {
        #expect(throws: ConiferError.self) { try IndexRules.validateName(name) }
    }

    @Test func denseIndexDefaultsToCosineAndKeepsDimension() throws {
        let definition = try IndexRules.definition(for: IndexCreation(name: "a", dimension: 8), projectID: project)
        #expect(definition.metric == .cosine)
        #expect(definition.dimension == 8)
        #expect(definition.vectorType == .dense)
        #expect(definition.projectID == project)
    }

    @Test(arguments: [nil, 0, -1, 20_001] as [Int?])
    func rejectsDenseDimensionsOutOfRange(_ dimension: Int?) {
        #expect(throws: ConiferError.self) {
            try IndexRules.definition(for: IndexCreation(name: "a", dimension: dimension), projectID: project)
        }
    }

    @Test func acceptsDimensionBounds() throws {
        for dimension in [1, 20_000] {
            let definition = try IndexRules.definition(for: IndexCreation(name: "a", dimension: dimension), projectID: project)
            #expect(definition.dimension == dimension)
        }
    }

    @Test func sparseIndexesUseDotProductAndNoDimension() throws {
        let sparse = try IndexRules.definition(for: IndexCreation(name: "s", vectorType: .sparse), projectID: project)
        #expect(sparse.metric == .dotproduct)
        #expect(sparse.dimension == nil)
        let withDimension = IndexCreation(name: "s", vectorType: .sparse, dimension: 3)
        #expect(throws: ConiferError.invalidArgument("Sparse indexes must not have a dimension.")) {
            try IndexRules.definition(for: withDimension, projectID: project)
        }
        let cosine = IndexCreation(name: "s", vectorType: .sparse, metric: .cosine)
        #expect(throws: ConiferError.self) { try IndexRules.definition(for: cosine, projectID: project) }
        let onPods = IndexCreation(
            name: "s", vectorType: .sparse,
            deployment: .pod(environment: "us-east1-gcp", podType: "p1.x1", replicas: 1, shards: 1, pods: 1)
        )
        #expect(throws: ConiferError.self) { try IndexRules.definition(for: onPods, projectID: project) }
    }

    @Test func tagLimits() throws {
        let twenty = Dictionary(uniqueKeysWithValues: (0..<20).map { ("k\($0)", "v") })
        try IndexRules.validateTags(twenty)
        var twentyOne = twenty
        twentyOne["extra"] = "v"
        #expect(throws: ConiferError.self) { try IndexRules.validateTags(twentyOne) }
        #expect(throws: ConiferError.self) { try IndexRules.validateTags([String(repeating: "k", count: 81): "v"]) }
        #expect(throws: ConiferError.self) { try IndexRules.validateTags(["k": String(repeating: "v", count: 121)]) }
        #expect(throws: ConiferError.self) { try IndexRules.validateTags(["bad key": "v"]) }
        #expect(throws: ConiferError.self) { try IndexRules.validateTags(["": "v"]) }
        try IndexRules.validateTags([String(repeating: "k", count: 80): String(repeating: "v", count: 120), "a_b-C9": ""])
    }

    @Test func unknownCloudIsRejected() {
        let creation = IndexCreation(name: "a", dimension: 3, deployment: .serverless(cloud: "moon", region: "x"))
        #expect(throws: ConiferError.self) { try IndexRules.definition(for: creation, projectID: project) }
    }

    @Test func configureMergesAndRemovesTags() throws {
        let definition = try IndexRules.definition(
            for: IndexCreation(name: "a", dimension: 3, tags: ["env": "dev", "team": "x"]), projectID: project
        )
        let next = try definition.configured(with: IndexConfiguration(deletionProtection: .enabled, tags: ["env": "", "owner": "me"]))
        #expect(next.tags == ["team": "x", "owner": "me"])
        #expect(next.deletionProtection == .enabled)
        #expect(next.dimension == definition.dimension)
    }

    @Test func configureRejectsTagOverflowWithoutChangingAnything() throws {
        let tags = Dictionary(uniqueKeysWithValues: (0..<15).map { ("k\($0)", "v") })
        let definition = try IndexRules.definition(for: IndexCreation(name: "a", dimension: 3, tags: tags), projectID: project)
        // 15 + 5 = 20 tags is the limit; one more is refused with a 400-class error naming tags.
        let five = Dictionary(uniqueKeysWithValues: (0..<5).map { ("n\($0)", "v") })
        #expect(try definition.configured(with: IndexConfiguration(tags: five)).tags.count == 20)
        let six = Dictionary(uniqueKeysWithValues: (0..<6).map { ("n\($0)", "v") })
        let error = #expect(throws: ConiferError.self) { try definition.configured(with: IndexConfiguration(tags: six)) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("tag") == true, "\(String(describing: error?.message))")
    }

    @Test func podSettingsOnlyOnPodIndexes() throws {
        let serverless = try IndexRules.definition(for: IndexCreation(name: "a", dimension: 3), projectID: project)
        #expect(throws: ConiferError.self) { try serverless.configured(with: IndexConfiguration(podReplicas: 2)) }
        let pod = try IndexRules.definition(
            for: IndexCreation(name: "p", dimension: 3, deployment: .pod(environment: "e", podType: "p1.x1", replicas: 1, shards: 1, pods: 1)),
            projectID: project
        )
        let scaled = try pod.configured(with: IndexConfiguration(podReplicas: 3, podType: "p1.x2"))
        #expect(scaled.deployment == .pod(environment: "e", podType: "p1.x2", replicas: 3, shards: 1, pods: 1))
        #expect(throws: ConiferError.self) { try pod.configured(with: IndexConfiguration(podType: "huge")) }
    }
}
