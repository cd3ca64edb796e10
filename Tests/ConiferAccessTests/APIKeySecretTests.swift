@testable import ConiferAccess
import ConiferCore
import Foundation
import Testing

@Suite struct APIKeySecretTests {
    @Test func generatedKeysHaveLabelAndEnoughEntropy() {
        let (value, label) = APIKeySecret.generate()
        let parts = value.split(separator: "_")
        #expect(parts.count == 3)
        #expect(parts[0] == "pcsk")
        #expect(String(parts[1]) == label)
        #expect(parts[2].count == APIKeySecret.secretLength)
        #expect(APIKeySecret.label(of: value) == label)
        let many = Set((0..<200).map { _ in APIKeySecret.generate().value })
        #expect(many.count == 200)
    }

    @Test func hashIsStableAndDoesNotContainTheSecret() {
        let value = APIKeySecret.generate().value
        let hash = APIKeySecret.hash(value)
        #expect(hash == APIKeySecret.hash(value))
        #expect(hash.count == 64)
        #expect(!hash.contains(value.suffix(10)))
        #expect(hash != APIKeySecret.hash(value + "x"))
    }

    /// What this checks is the comparison's answer; that its time does not depend on where the strings
    /// differ holds by construction (every byte is XORed, no early exit) and is not measured here.
    @Test func secretComparisonMatchesOnlyIdenticalStrings() {
        let hash = APIKeySecret.hash("key")
        #expect(APIKeySecret.constantTimeEquals(hash, hash))
        #expect(APIKeySecret.constantTimeEquals("", ""))
        for position in [hash.startIndex, hash.index(hash.startIndex, offsetBy: 31), hash.index(before: hash.endIndex)] {
            var other = hash
            other.replaceSubrange(position...position, with: hash[position] == "0" ? "1" : "0")
            #expect(!APIKeySecret.constantTimeEquals(hash, other), "differs at \(hash.distance(from: hash.startIndex, to: position))")
        }
        #expect(!APIKeySecret.constantTimeEquals(hash, hash.dropLast()))
        #expect(!APIKeySecret.constantTimeEquals(hash, hash + "0"))
        #expect(!APIKeySecret.constantTimeEquals("abc", ""))
    }
}
