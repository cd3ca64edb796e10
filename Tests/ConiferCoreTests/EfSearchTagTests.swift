import ConiferCore
import Foundation
import Testing

@Suite struct EfSearchTagTests {
    func index(tags: [String: String]) -> IndexDefinition {
        IndexDefinition(id: UUID(), projectID: UUID(), name: "i", vectorType: .dense, dimension: 4, metric: .cosine, tags: tags)
    }

    @Test func theTagTunesEfWithinItsRange() {
        #expect(index(tags: [:]).efSearch == nil)
        #expect(index(tags: ["conifer-ef-search": "400"]).efSearch == 400)
        #expect(index(tags: ["conifer-ef-search": "0"]).efSearch == nil)
        #expect(index(tags: ["conifer-ef-search": "10001"]).efSearch == nil)
        #expect(index(tags: ["conifer-ef-search": "many"]).efSearch == nil)
    }
}
