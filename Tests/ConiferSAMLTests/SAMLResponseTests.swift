import Crypto
import CryptoExtras
import Foundation
import SwiftASN1
import Testing
import X509
@testable import ConiferSAML

/// The verifier against responses signed here (an RSA key and a self-signed certificate made per test run, the
/// signature computed over libxml2's canonical form). The conformance suite signs with a real IdP (pysaml2 and
/// xmlsec1) and runs the XML signature wrapping variants; these pin each rule with one small change each.
@Suite struct SAMLResponseTests {
    static let sp = SAMLServiceProvider(entityID: "https://conifer.test/saml/org/metadata", acsURL: "https://conifer.test/saml/org/acs")
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aSignedResponseGivesItsSubjectsEmail() throws {
        let idp = try TestIdP()
        let assertion = try idp.verifier().verify(base64: Data(try idp.response(nameID: "Ana@Corp.example").utf8).base64EncodedString(), now: Self.now)
        #expect(assertion.email == "ana@corp.example")
        #expect(assertion.inResponseTo == "_req1")
        #expect(assertion.expiresAt > Self.now)
    }

    /// One rule broken at a time, each in a response the identity provider signed.
    enum Broken: String, CaseIterable, Sendable {
        case anotherCertificate, wrongAudience, wrongRecipient, wrongDestination, wrongIssuer, expired, notYetValid, failedStatus
        case unsignedAssertion, nameIDNotAnEmail

        func response(_ idp: TestIdP) throws -> String {
            switch self {
            case .anotherCertificate: try TestIdP().response()
            case .wrongAudience: try idp.response(audience: "https://elsewhere.example/sp")
            case .wrongRecipient: try idp.response(recipient: "https://elsewhere.example/acs")
            case .wrongDestination: try idp.response(destination: "https://elsewhere.example/acs")
            case .wrongIssuer: try idp.response(issuer: "https://evil.example/idp")
            case .expired: try idp.response(notOnOrAfter: now.addingTimeInterval(-600))
            case .notYetValid: try idp.response(notBefore: now.addingTimeInterval(600))
            case .failedStatus: try idp.response(status: "urn:oasis:names:tc:SAML:2.0:status:Requester")
            case .unsignedAssertion: try idp.response(sign: false)
            case .nameIDNotAnEmail: try idp.response(nameID: "ana")
            }
        }

        var refusal: String {
            switch self {
            case .anotherCertificate: "not valid for the identity provider's configured certificate"
            case .wrongAudience: "another audience"
            case .wrongRecipient: "Recipient"
            case .wrongDestination: "Destination"
            case .wrongIssuer: "another identity provider"
            case .expired: "expired"
            case .notYetValid: "not valid yet"
            case .failedStatus: "did not sign the user in"
            case .unsignedAssertion: "not signed"
            case .nameIDNotAnEmail: "not an email"
            }
        }
    }

    @Test(arguments: Broken.allCases)
    func aResponseBreakingARuleIsRefused(_ broken: Broken) throws {
        let idp = try TestIdP()
        let xml = try broken.response(idp)
        let error = #expect(throws: SAMLError.self) { try idp.verifier().verify(xml: Data(xml.utf8), now: Self.now) }
        #expect(error?.description.contains(broken.refusal) == true, "\(broken): \(error?.description ?? "accepted")")
    }

    /// Changes after signing: the NameID edited, a comment inside it (the signature stays valid, since
    /// canonicalization drops comments, but the text is no longer only text), a second assertion, a DOCTYPE.
    @Test func tamperingAfterSigningIsRefused() throws {
        let idp = try TestIdP()
        let signed = try idp.response(nameID: "user@corp.example.evil.example")
        let cases: [(String, String, String)] = [
            ("edited NameID", signed.replacingOccurrences(of: "user@corp.example.evil.example", with: "admin@corp.example"), "digest does not match"),
            ("comment in NameID", signed.replacingOccurrences(of: "user@corp.example.evil.example", with: "user@corp.example<!---->.evil.example"), "only text"),
            ("second assertion", signed.replacingOccurrences(of: "</samlp:Response>", with: "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_other\"/></samlp:Response>"), "exactly one assertion"),
            ("undeclared prefix", signed.replacingOccurrences(of: "</samlp:Response>", with: "<saml:Assertion ID=\"_other\"/></samlp:Response>"), "with namespaces"),
            ("doctype", "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" + signed, "document type declaration"),
            ("not XML", "<samlp:Response", "not well-formed"),
        ]
        for (name, xml, expected) in cases {
            let error = #expect(throws: SAMLError.self, "\(name)") { try idp.verifier().verify(xml: Data(xml.utf8), now: Self.now) }
            #expect(error?.description.contains(expected) == true, "\(name): \(error?.description ?? "accepted")")
        }
        _ = try idp.verifier().verify(xml: Data(signed.utf8), now: Self.now)
    }

    /// The signed assertion moved under an extension element and an unsigned one in its place: the signature
    /// no longer sits in the assertion that is read, and the copy's ID repeats the signed one's.
    @Test func aWrappedSignatureCoversNothingThatIsRead() throws {
        let idp = try TestIdP()
        let signed = try idp.response(nameID: "user@corp.example")
        let start = try #require(signed.range(of: "<saml:Assertion"))
        let end = try #require(signed.range(of: "</saml:Assertion>"))
        let original = String(signed[start.lowerBound..<end.upperBound])
        let forged = try idp.assertion(nameID: "admin@corp.example", sign: false)
        let wrapped = signed.replacingOccurrences(of: original, with: forged.replacingOccurrences(of: "</saml:Assertion>", with: "<saml:Advice>\(original)</saml:Advice></saml:Assertion>"))
        let error = #expect(throws: SAMLError.self) { try idp.verifier().verify(xml: Data(wrapped.utf8), now: Self.now) }
        #expect(error?.description.contains("more than once") == true, "\(error?.description ?? "accepted")")

        // With the signed assertion gone and its signature carried by the forged one, the signature binds nothing
        // that is read: under another ID it references something else; under the same ID its digest differs.
        let signature = String(original[try #require(original.range(of: "<ds:Signature"))!.lowerBound..<(try #require(original.range(of: "</ds:Signature>"))).upperBound])
        let carried = forged.replacingOccurrences(of: "</saml:Issuer>", with: "</saml:Issuer>" + signature)
        for (id, refusal) in [("_evil", "does not reference it"), ("_a1", "digest does not match")] {
            let message = signed.replacingOccurrences(of: original, with: carried.replacingOccurrences(of: #"ID="_a1""#, with: #"ID="\#(id)""#))
            let error = #expect(throws: SAMLError.self) { try idp.verifier().verify(xml: Data(message.utf8), now: Self.now) }
            #expect(error?.description.contains(refusal) == true, "\(id): \(error?.description ?? "accepted")")
        }
    }

    @Test func theMetadataAndTheRequestNameTheServiceProvider() throws {
        #expect(Self.sp.metadata.contains(#"entityID="https://conifer.test/saml/org/metadata""#))
        #expect(Self.sp.metadata.contains(#"Location="https://conifer.test/saml/org/acs""#))
        let request = try Self.sp.authnRequest(ssoURL: "https://idp.example/sso?tenant=1", relayState: "/console", now: Self.now)
        let url = try #require(URLComponents(string: request.url))
        #expect(url.queryItems?.first { $0.name == "tenant" }?.value == "1")
        let encoded = try #require(url.queryItems?.first { $0.name == "SAMLRequest" }?.value)
        let deflated = try #require(Data(base64Encoded: encoded))
        let xml = try #require(String(data: try inflate(deflated), encoding: .utf8))
        #expect(xml.contains("ID=\"\(request.id)\"") && xml.contains("<saml:Issuer>https://conifer.test/saml/org/metadata</saml:Issuer>"))
        #expect(url.queryItems?.first { $0.name == "RelayState" }?.value == "/console")
    }

    @Test func aCertificateIsReadWithItsFingerprint() throws {
        let idp = try TestIdP()
        let certificate = try SAMLCertificate(pem: idp.certificatePEM)
        #expect(certificate.fingerprint.split(separator: ":").count == 32)
        #expect(throws: SAMLError.self) { try SAMLCertificate(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----") }
    }
}

/// An identity provider for these tests: an RSA key, its self-signed certificate, and responses it signs.
struct TestIdP: Sendable {
    static let entityID = "https://idp.example/metadata"
    let key: _RSA.Signing.PrivateKey
    let certificatePEM: String

    init() throws {
        key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName { CommonName("Test IdP") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date(timeIntervalSince1970: 0),
            notValidAfter: Date(timeIntervalSince1970: 4_000_000_000), issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: .init(), issuerPrivateKey: .init(key)
        )
        certificatePEM = try certificate.serializeAsPEM().pemString
    }

    func verifier() throws -> SAMLResponseVerifier {
        SAMLResponseVerifier(serviceProvider: SAMLResponseTests.sp, identityProvider: SAMLIdentityProvider(entityID: Self.entityID, certificate: try SAMLCertificate(pem: certificatePEM)))
    }

    func assertion(
        nameID: String = "ana@corp.example", audience: String = SAMLResponseTests.sp.entityID, recipient: String = SAMLResponseTests.sp.acsURL,
        issuer: String = TestIdP.entityID, notBefore: Date = SAMLResponseTests.now.addingTimeInterval(-60),
        notOnOrAfter: Date = SAMLResponseTests.now.addingTimeInterval(300), sign: Bool = true
    ) throws -> String {
        let (before, after) = (SAMLServiceProvider.timestamp(notBefore), SAMLServiceProvider.timestamp(notOnOrAfter))
        let issuerElement = "<saml:Issuer>\(issuer)</saml:Issuer>"
        let rest = """
            <saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">\(nameID)</saml:NameID>\
            <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="_req1" \
            NotOnOrAfter="\(after)" Recipient="\(recipient)"/></saml:SubjectConfirmation></saml:Subject>\
            <saml:Conditions NotBefore="\(before)" NotOnOrAfter="\(after)"><saml:AudienceRestriction><saml:Audience>\(audience)</saml:Audience>\
            </saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="\(before)"><saml:AuthnContext>\
            <saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
            """
        let open = #"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="\#(before)">"#
        let unsigned = open + issuerElement + rest + "</saml:Assertion>"
        guard sign else { return unsigned }
        let tree = try XMLTree(Data(unsigned.utf8))
        let digest = Data(SHA256.hash(data: try tree.exclusiveCanonical(tree.root))).base64EncodedString()
        let signedInfo = """
            <ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:CanonicalizationMethod Algorithm="\(DSig.exclusiveC14N)"/>\
            <ds:SignatureMethod Algorithm="\(DSig.rsaSHA256)"/><ds:Reference URI="#_a1"><ds:Transforms>\
            <ds:Transform Algorithm="\(DSig.envelopedSignature)"/><ds:Transform Algorithm="\(DSig.exclusiveC14N)"/></ds:Transforms>\
            <ds:DigestMethod Algorithm="\(DSig.sha256)"/><ds:DigestValue>\(digest)</ds:DigestValue></ds:Reference></ds:SignedInfo>
            """
        let infoTree = try XMLTree(Data(signedInfo.utf8))
        let value = try key.signature(for: SHA256.hash(data: try infoTree.exclusiveCanonical(infoTree.root)), padding: .insecurePKCS1v1_5)
        let signature = """
            <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">\
            \(signedInfo.replacingOccurrences(of: #" xmlns:ds="http://www.w3.org/2000/09/xmldsig#""#, with: ""))\
            <ds:SignatureValue>\(value.rawRepresentation.base64EncodedString())</ds:SignatureValue></ds:Signature>
            """
        return open + issuerElement + signature + rest + "</saml:Assertion>"
    }

    func response(
        nameID: String = "ana@corp.example", audience: String = SAMLResponseTests.sp.entityID, recipient: String = SAMLResponseTests.sp.acsURL,
        destination: String = SAMLResponseTests.sp.acsURL, issuer: String = TestIdP.entityID,
        notBefore: Date = SAMLResponseTests.now.addingTimeInterval(-60), notOnOrAfter: Date = SAMLResponseTests.now.addingTimeInterval(300),
        status: String = "urn:oasis:names:tc:SAML:2.0:status:Success", sign: Bool = true
    ) throws -> String {
        let assertion = try assertion(
            nameID: nameID, audience: audience, recipient: recipient, issuer: issuer, notBefore: notBefore, notOnOrAfter: notOnOrAfter, sign: sign
        )
        return """
            <samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0" IssueInstant="\(SAMLServiceProvider.timestamp(notBefore))" \
            Destination="\(destination)" InResponseTo="_req1"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">\(issuer)</saml:Issuer>\
            <samlp:Status><samlp:StatusCode Value="\(status)"/></samlp:Status>\(assertion)</samlp:Response>
            """
    }
}

/// Raw INFLATE with zlib, to read back what the Redirect binding carries.
func inflate(_ data: Data) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import sys, zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), -15))"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(data)
    try input.fileHandleForWriting.close()
    let result = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return result
}
