import Crypto
import CryptoExtras
import Foundation

/// XML-DSig namespaces and algorithm names this verifier accepts: exclusive canonicalization without comments,
/// RSA with SHA-256 or SHA-512, SHA-256 or SHA-512 digests. SHA-1 and every other algorithm are refused.
enum DSig {
    static let namespace = "http://www.w3.org/2000/09/xmldsig#"
    static let exclusiveC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
    static let envelopedSignature = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    static let rsaSHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    static let rsaSHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
    static let sha256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    static let sha512 = "http://www.w3.org/2001/04/xmlenc#sha512"
}

/// Verifies the one enveloped signature of an element with the configured key. The signature must reference
/// that very element by its ID (`URI="#<ID>"`), and the digest is computed over that element as it is in the
/// tree — never over whatever element the URI would resolve to — so a signature moved elsewhere in the
/// message (XML signature wrapping) covers nothing the caller reads. The message's own KeyInfo is ignored.
enum EnvelopedSignature {
    /// `what` names the element in messages ("assertion", "Response").
    static func verify(_ element: XMLElement, key: _RSA.Signing.PublicKey, what: String) throws(SAMLError) {
        let signature = try element.onlyChild(DSig.namespace, "Signature", of: "The \(what)")
        guard let id = element.attribute("ID"), !id.isEmpty else { throw SAMLError("The \(what) has no ID to sign.") }
        let signedInfo = try signature.onlyChild(DSig.namespace, "SignedInfo", of: "The signature of the \(what)")

        let canonicalization = try signedInfo.onlyChild(DSig.namespace, "CanonicalizationMethod", of: "SignedInfo")
        guard canonicalization.attribute("Algorithm") == DSig.exclusiveC14N else {
            throw SAMLError("The signature of the \(what) must use exclusive canonicalization without comments.")
        }
        let method = try signedInfo.onlyChild(DSig.namespace, "SignatureMethod", of: "SignedInfo").attribute("Algorithm")
        guard method == DSig.rsaSHA256 || method == DSig.rsaSHA512 else {
            throw SAMLError("The signature of the \(what) uses \(method ?? "no algorithm"); RSA with SHA-256 or SHA-512 is required.")
        }

        let reference = try signedInfo.onlyChild(DSig.namespace, "Reference", of: "SignedInfo")
        guard reference.attribute("URI") == "#" + id else {
            throw SAMLError("The signature inside the \(what) does not reference it (ID \(id)).")
        }
        var prefixes: [String] = []
        var canonicalized = false
        for transform in try reference.onlyChild(DSig.namespace, "Transforms", of: "Reference").children {
            switch transform.is(DSig.namespace, "Transform") ? transform.attribute("Algorithm") : nil {
            case DSig.envelopedSignature: break
            case DSig.exclusiveC14N:
                canonicalized = true
                prefixes = Self.inclusivePrefixes(transform)
            default: throw SAMLError("The signature of the \(what) uses a transform other than enveloped-signature and exclusive canonicalization.")
            }
        }
        guard canonicalized else { throw SAMLError("The signature of the \(what) must canonicalize with exclusive canonicalization.") }
        let digestMethod = try reference.onlyChild(DSig.namespace, "DigestMethod", of: "Reference").attribute("Algorithm")
        guard let expected = Data(base64Encoded: try reference.onlyChild(DSig.namespace, "DigestValue", of: "Reference").text(of: "DigestValue"), options: .ignoreUnknownCharacters)
        else { throw SAMLError("The digest of the \(what) is not base64.") }
        let content = try element.tree.exclusiveCanonical(element, excluding: signature, inclusivePrefixes: prefixes)
        let actual: Data
        switch digestMethod {
        case DSig.sha256: actual = Data(SHA256.hash(data: content))
        case DSig.sha512: actual = Data(SHA512.hash(data: content))
        default: throw SAMLError("The signature of the \(what) uses digest \(digestMethod ?? "none"); SHA-256 or SHA-512 is required.")
        }
        guard actual == expected else { throw SAMLError("The \(what) was changed after it was signed (its digest does not match).") }

        guard let value = Data(base64Encoded: try signature.onlyChild(DSig.namespace, "SignatureValue", of: "Signature").text(of: "SignatureValue"), options: .ignoreUnknownCharacters)
        else { throw SAMLError("The signature value of the \(what) is not base64.") }
        let signed = try element.tree.exclusiveCanonical(signedInfo, inclusivePrefixes: Self.inclusivePrefixes(canonicalization))
        let rsa = _RSA.Signing.RSASignature(rawRepresentation: value)
        let valid = method == DSig.rsaSHA256
            ? key.isValidSignature(rsa, for: SHA256.hash(data: signed), padding: .insecurePKCS1v1_5)
            : key.isValidSignature(rsa, for: SHA512.hash(data: signed), padding: .insecurePKCS1v1_5)
        guard valid else { throw SAMLError("The signature of the \(what) is not valid for the identity provider's configured certificate.") }
    }

    /// The PrefixList of an exclusive canonicalization's InclusiveNamespaces element, if any.
    private static func inclusivePrefixes(_ method: XMLElement) -> [String] {
        let list = method.children(DSig.exclusiveC14N, "InclusiveNamespaces").first?.attribute("PrefixList") ?? ""
        return list.split(whereSeparator: \.isWhitespace).map(String.init)
    }
}
