import Crypto
import CryptoExtras
import Foundation
import SwiftASN1
import X509

/// Why a SAML message was refused, in words safe to show the person signing in and to put in the audit log
/// (it never quotes the message's own values beyond an ID).
public struct SAMLError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

enum SAML {
    static let assertion = "urn:oasis:names:tc:SAML:2.0:assertion"
    static let protocolNamespace = "urn:oasis:names:tc:SAML:2.0:protocol"
    static let success = "urn:oasis:names:tc:SAML:2.0:status:Success"
    static let bearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    static let emailFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    static let postBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
}

/// The identity provider an organization configured: its entity id and the one certificate whose key signs
/// its assertions (a certificate inside a message is never used).
public struct SAMLIdentityProvider: Sendable {
    public var entityID: String
    public var certificate: SAMLCertificate

    public init(entityID: String, certificate: SAMLCertificate) {
        self.entityID = entityID
        self.certificate = certificate
    }
}

/// What a verified response says: who signed in, and what the caller must still check against its own state
/// (the request it answers, the replay cache until `expiresAt`).
public struct SAMLAssertion: Sendable, Equatable {
    /// The assertion's ID, for the replay cache.
    public var id: String
    /// The subject's NameID, lowercased: an email address.
    public var email: String
    /// The AuthnRequest this answers (SP-initiated), or nil (IdP-initiated).
    public var inResponseTo: String?
    /// Until when the assertion could be presented (the earliest of its NotOnOrAfter times).
    public var expiresAt: Date
}

/// Verifies a SAML 2.0 Response posted to an assertion consumer service, as a hardened service provider does:
/// no DTD; a Success status; exactly one assertion, a child of the response, signed itself (an unsigned one
/// inside a signed response is refused) with the configured certificate over exactly that element; unique IDs;
/// Destination, Recipient and Audience equal to this service provider's; the issuer equal to the configured
/// identity provider's; the validity window with a bounded skew; a bearer subject confirmation; a NameID that is
/// an email address and only text. A response signature, when present, must be valid too.
public struct SAMLResponseVerifier: Sendable {
    public var serviceProvider: SAMLServiceProvider
    public var identityProvider: SAMLIdentityProvider
    /// How far the identity provider's clock may be from ours.
    public var skew: TimeInterval

    public init(serviceProvider: SAMLServiceProvider, identityProvider: SAMLIdentityProvider, skew: TimeInterval = 180) {
        self.serviceProvider = serviceProvider
        self.identityProvider = identityProvider
        self.skew = skew
    }

    /// Verifies the form field `SAMLResponse` (base64 of the XML).
    public func verify(base64 encoded: String, now: Date) throws(SAMLError) -> SAMLAssertion {
        guard encoded.utf8.count <= XMLTree.maxBytes * 4 / 3 + 4,
              let bytes = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters), !bytes.isEmpty
        else { throw SAMLError("SAMLResponse is not base64 or is too large.") }
        return try verify(xml: bytes, now: now)
    }

    public func verify(xml bytes: Data, now: Date) throws(SAMLError) -> SAMLAssertion {
        let tree = try XMLTree(bytes)
        let response = tree.root
        guard response.is(SAML.protocolNamespace, "Response") else { throw SAMLError("The message is not a SAML 2.0 Response.") }
        guard response.attribute("Version") == "2.0" else { throw SAMLError("The Response is not SAML version 2.0.") }
        let elements = tree.elements
        try Self.requireUniqueIDs(elements)
        guard response.attribute("Destination") == serviceProvider.acsURL else {
            throw SAMLError("The Response's Destination is not this organization's assertion consumer service.")
        }
        if let issuer = response.children(SAML.assertion, "Issuer").first, try issuer.text(of: "Issuer") != identityProvider.entityID {
            throw SAMLError("The Response was issued by another identity provider than the one configured.")
        }
        let status = try response.onlyChild(SAML.protocolNamespace, "Status", of: "The Response")
        let code = try status.onlyChild(SAML.protocolNamespace, "StatusCode", of: "Status").attribute("Value")
        guard code == SAML.success else { throw SAMLError("The identity provider did not sign the user in (status \(code ?? "missing")).") }

        // Exactly one assertion in the whole message, and it is a child of the response.
        guard !elements.contains(where: { $0.is(SAML.assertion, "EncryptedAssertion") }) else {
            throw SAMLError("Encrypted assertions are not supported; configure the identity provider to sign, not encrypt, them.")
        }
        let assertions = elements.filter { $0.is(SAML.assertion, "Assertion") }
        let direct = response.children(SAML.assertion, "Assertion")
        guard assertions.count == 1, direct.count == 1 else {
            throw SAMLError("The Response must hold exactly one assertion, as a child of the Response; it holds \(assertions.count).")
        }
        let assertion = direct[0]
        if !response.children(DSig.namespace, "Signature").isEmpty {
            try EnvelopedSignature.verify(response, key: identityProvider.certificate.key, what: "Response")
        }
        guard !assertion.children(DSig.namespace, "Signature").isEmpty else {
            throw SAMLError("The assertion is not signed; the identity provider must sign assertions.")
        }
        try EnvelopedSignature.verify(assertion, key: identityProvider.certificate.key, what: "assertion")
        // From here on only the verified assertion is read.
        return try read(assertion, now: now)
    }

    private func read(_ assertion: XMLElement, now: Date) throws(SAMLError) -> SAMLAssertion {
        guard let id = assertion.attribute("ID") else { throw SAMLError("The assertion has no ID.") }
        guard try assertion.onlyChild(SAML.assertion, "Issuer", of: "The assertion").text(of: "Issuer") == identityProvider.entityID else {
            throw SAMLError("The assertion was issued by another identity provider than the one configured.")
        }
        let conditions = try assertion.onlyChild(SAML.assertion, "Conditions", of: "The assertion")
        var expiresAt = try window(conditions, "Conditions", now: now)
        let audiences = conditions.children(SAML.assertion, "AudienceRestriction")
        guard !audiences.isEmpty else { throw SAMLError("The assertion names no audience.") }
        for restriction in audiences {
            var names: [String] = []
            for audience in restriction.children(SAML.assertion, "Audience") { names.append(try audience.text(of: "Audience")) }
            guard names.contains(serviceProvider.entityID) else { throw SAMLError("The assertion is meant for another audience than this organization.") }
        }

        let subject = try assertion.onlyChild(SAML.assertion, "Subject", of: "The assertion")
        let nameID = try subject.onlyChild(SAML.assertion, "NameID", of: "The subject")
        let email = try nameID.text(of: "NameID").lowercased()
        guard Self.isEmail(email) else { throw SAMLError("The subject's NameID is not an email address; configure the identity provider to send the email.") }
        var inResponseTo: String?
        var confirmed = false
        for confirmation in subject.children(SAML.assertion, "SubjectConfirmation") where confirmation.attribute("Method") == SAML.bearer {
            let data = try confirmation.onlyChild(SAML.assertion, "SubjectConfirmationData", of: "The bearer confirmation")
            guard data.attribute("Recipient") == serviceProvider.acsURL else {
                throw SAMLError("The assertion's Recipient is not this organization's assertion consumer service.")
            }
            guard data.attribute("NotOnOrAfter") != nil else { throw SAMLError("The bearer confirmation has no NotOnOrAfter.") }
            expiresAt = min(expiresAt, try window(data, "The bearer confirmation", now: now))
            inResponseTo = data.attribute("InResponseTo")
            confirmed = true
        }
        guard confirmed else { throw SAMLError("The assertion has no bearer subject confirmation.") }
        guard !assertion.children(SAML.assertion, "AuthnStatement").isEmpty else { throw SAMLError("The assertion has no authentication statement.") }
        return SAMLAssertion(id: id, email: email, inResponseTo: inResponseTo, expiresAt: expiresAt)
    }

    /// Checks NotBefore and NotOnOrAfter against `now` with the skew; returns the end (a day at most when none).
    private func window(_ element: XMLElement, _ what: String, now: Date) throws(SAMLError) -> Date {
        if let text = element.attribute("NotBefore") {
            guard let notBefore = Self.date(text) else { throw SAMLError("\(what) has a NotBefore that is not a date.") }
            guard now.addingTimeInterval(skew) >= notBefore else { throw SAMLError("The assertion is not valid yet (\(what) NotBefore).") }
        }
        guard let text = element.attribute("NotOnOrAfter") else { return now.addingTimeInterval(86_400) }
        guard let notOnOrAfter = Self.date(text) else { throw SAMLError("\(what) has a NotOnOrAfter that is not a date.") }
        guard now.addingTimeInterval(-skew) < notOnOrAfter else { throw SAMLError("The assertion has expired (\(what) NotOnOrAfter).") }
        return notOnOrAfter.addingTimeInterval(skew)
    }

    /// An XML signature wrapping attack needs a second element with the signed ID; no ID may appear twice.
    private static func requireUniqueIDs(_ elements: [XMLElement]) throws(SAMLError) {
        var seen = Set<String>()
        for element in elements {
            for name in element.attributeNames where name == "ID" || name == "Id" || name == "id" {
                guard let value = element.attribute(name), seen.insert(value).inserted else {
                    throw SAMLError("The message carries the ID \(element.attribute(name)?.prefix(80) ?? "") more than once.")
                }
            }
        }
    }

    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && text.count <= 320
            && !text.contains(where: { $0.isWhitespace || $0.isNewline || $0 == "<" || $0 == ">" })
    }

    /// An xs:dateTime in UTC, with or without fractional seconds.
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions.insert(.withFractionalSeconds)
        return formatter.date(from: text)
    }
}

/// A PEM certificate of an identity provider: its RSA key (2048 bits or more) and its SHA-256 fingerprint.
public struct SAMLCertificate: Sendable {
    public let pem: String
    let key: _RSA.Signing.PublicKey
    /// SHA-256 of the DER certificate, as colon-separated uppercase hex (as identity providers show it).
    public let fingerprint: String
    public let notValidAfter: Date

    public init(pem: String) throws(SAMLError) {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: pem)
        } catch {
            throw SAMLError("The certificate is not a PEM X.509 certificate.")
        }
        guard let key = _RSA.Signing.PublicKey(certificate.publicKey) else {
            throw SAMLError("The certificate's key is not an RSA key of 2048 bits or more.")
        }
        self.pem = pem.trimmingCharacters(in: .whitespacesAndNewlines)
        self.key = key
        var serializer = DER.Serializer()
        do { try serializer.serialize(certificate) } catch { throw SAMLError("The certificate could not be encoded.") }
        fingerprint = SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }.joined(separator: ":")
        notValidAfter = certificate.notValidAfter
    }
}
