import ConiferKeys
import Crypto
import Foundation

/// Seals the catalog columns that hold customer data or secrets under the server's data key (AES-256-GCM,
/// bound to the column, so a value copied into another column does not open). A value that does not open
/// is an error, never returned.
struct ColumnSealer: Sendable {
    let key: SymmetricKey

    enum Column: String {
        case auditEvent = "audit_event.body"
        case auditBatch = "audit_batch.body"
        case auditDestination = "audit_export.destination"
        case cmekExternalID = "cmek_key.external_id"
        case backupKey = "backup.data_key"
    }

    func seal(_ value: Data, _ column: Column) throws -> Data {
        Data(try KeyWrap.seal(value, under: key, context: "conifer catalog \(column.rawValue)"))
    }

    func open(_ sealed: Data, _ column: Column) throws -> Data {
        do {
            return Data(try KeyWrap.open(sealed, under: key, context: "conifer catalog \(column.rawValue)"))
        } catch {
            throw ConiferCatalogCorruption(description: "\(column.rawValue): \(error)")
        }
    }
}

/// A sealed catalog value that did not open: altered, or written under another key.
public struct ConiferCatalogCorruption: Error, CustomStringConvertible {
    public var description: String
}
