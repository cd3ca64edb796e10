import ConiferKeys
import Crypto
import Foundation

/// Seals the catalog columns that hold customer data or secrets under the server's data key (AES-256-GCM,
/// bound to the column, so a value copied into another column does not open). A value that does not open
/// is an error, never returned.
struct ColumnSealer: Sendable {
    let key: SymmetricKey

    enum Column: String, CaseIterable {
        case auditEvent = "audit_event.body"
        case auditBatch = "audit_batch.body"
        case auditDestination = "audit_export.destination"
        case cmekExternalID = "cmek_key.external_id"
        case backupKey = "backup.data_key"
        case indexTags = "index_definition.tags"
        case projectTags = "project.tags"
        case mailMessage = "mail_outbox.message"
        case mailRecipients = "mail_outbox.recipients"
        case billingContact = "organization.billing_contact"
        case alertRecipients = "spend_alert.recipients"
        case backupDescription = "backup.description"
        case backupSource = "backup.source"
        case tokenSigningKey = "catalog_key.token_signing_key"
    }

    func seal(_ value: Data, _ column: Column) throws -> Data {
        Data(try KeyWrap.seal(value, under: key, context: "conifer catalog \(column.rawValue)"))
    }

    /// A JSON value sealed (for a `Codable` value kept in one column).
    func seal(json value: some Encodable, _ column: Column) throws -> Data {
        try seal(try JSONEncoder.sortedKeys.encode(value), column)
    }

    func open<T: Decodable>(json sealed: Data, as type: T.Type, _ column: Column) throws -> T {
        try JSONDecoder().decode(type, from: try open(sealed, column))
    }

    func open(_ sealed: Data, _ column: Column) throws -> Data {
        do {
            return Data(try KeyWrap.open(sealed, under: key, context: "conifer catalog \(column.rawValue)"))
        } catch {
            throw ConiferCatalogCorruption(description: "\(column.rawValue): \(error)")
        }
    }
}

extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }
}

/// A sealed catalog value that did not open: altered, or written under another key.
public struct ConiferCatalogCorruption: Error, CustomStringConvertible {
    public var description: String
}
