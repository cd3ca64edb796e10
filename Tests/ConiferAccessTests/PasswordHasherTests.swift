import ConiferAccess
import Testing

@Suite struct PasswordHasherTests {
    @Test func hashesVerifyAndDiffer() throws {
        let first = try PasswordHasher.hash("correct horse battery")
        let second = try PasswordHasher.hash("correct horse battery")
        #expect(first != second)
        #expect(first.hasPrefix("scrypt$15$8$1$"))
        #expect(PasswordHasher.verify("correct horse battery", against: first))
        #expect(!PasswordHasher.verify("correct horse batterY", against: first))
        #expect(!PasswordHasher.verify("x", against: "plain"))
    }
}
