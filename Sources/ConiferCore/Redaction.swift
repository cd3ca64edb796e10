import Foundation

/// Account names as a caller typed them, made safe for an audit event or a log line (SECURITY.md rule 15): a
/// value shaped like one of Conifer's secrets (an API key, a client secret, an invite token), or unlike any
/// account name (a password typed into the wrong field, a long blob), becomes `[redacted]`.
public enum Redaction {
    public static let placeholder = "[redacted]"
    /// The visible prefixes of Conifer's secrets.
    static let secretPrefixes = ["pcsk_", "pcsa_", "pcinv_"]

    /// A client id: kept when it could be one (1–128 letters, digits and `-_.:@+`) and is not shaped like a secret.
    public static func clientID(_ value: String) -> String {
        guard !looksLikeSecret(value), (1...128).contains(value.utf8.count),
              value.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.:@+".unicodeScalars.contains($0)) })
        else { return placeholder }
        return value
    }

    /// A user name (an email address): kept when it looks like one.
    public static func email(_ value: String) -> String {
        guard !looksLikeSecret(value), value.utf8.count <= 254, value.wholeMatch(of: /[^@\s"'<>\\]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,63}/) != nil else {
            return placeholder
        }
        return value
    }

    /// Whether `value` carries one of Conifer's secret prefixes.
    public static func looksLikeSecret(_ value: String) -> Bool {
        let lowered = value.lowercased()
        return secretPrefixes.contains { lowered.contains($0) }
    }
}
