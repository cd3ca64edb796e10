import ConiferCore
import ConiferKeys
import Crypto
import Foundation
import JWTKit

/// The keys of a catalog several servers share (`catalog_key`, one row): the catalog's own data key, which seals its
/// sensitive columns, wrapped by the master key every server is given, and the OAuth tokens' signing key sealed by
/// it. The first server to start writes them; the others open them, and a server given another master key is
/// refused, both keys named.
enum SharedCatalogKeys {
    static let context = "conifer catalog key"

    static func open(_ sql: any CatalogSQL, master: MasterKey) throws -> (SymmetricKey, ES256PrivateKey) {
        guard let row = try sql.row("SELECT master_key_id, wrapped_key, token_signing_key FROM catalog_key WHERE id = 1") else {
            let key = SymmetricKey(size: .bits256)
            let signing = ES256PrivateKey()
            try sql.insert("catalog_key", [
                "id": 1, "master_key_id": master.id, "wrapped_key": Data(try KeyWrap.wrap(key, under: master.catalogKey, context: context)),
                "token_signing_key": try ColumnSealer(key: key).seal(Data(signing.pemRepresentation.utf8), .tokenSigningKey),
            ])
            return (key, signing)
        }
        let id: String = try row.get("master_key_id")
        guard id == master.id else {
            throw ConiferError.failedPrecondition(
                "Wrong master key: this catalog's key is wrapped by master key \(id), and the key given (\(master.id)) is another. Every server on one catalog needs the same master key (--master-key-file or CONIFER_MASTER_KEY)."
            )
        }
        let wrapped: Data = try row.get("wrapped_key")
        guard let key = try? KeyWrap.unwrap(Array(wrapped), under: master.catalogKey, context: context) else {
            throw ConiferCatalogCorruption(description: "catalog_key: the catalog's key does not open with the master key it names")
        }
        let pem = try ColumnSealer(key: key).open(try row.get("token_signing_key"), .tokenSigningKey)
        return (key, try ES256PrivateKey(pem: String(decoding: pem, as: UTF8.self)))
    }

    /// Re-wraps the catalog's key from `old` to `new` (a master-key rotation); false when it is under `new` already.
    static func rewrap(_ sql: any CatalogSQL, from old: MasterKey, to new: MasterKey) throws -> Bool {
        guard let id: String = try sql.value("SELECT master_key_id FROM catalog_key WHERE id = 1") else {
            throw ConiferError.failedPrecondition("This catalog has no key yet: start a server on it first.")
        }
        if id == new.id { return false }
        let (key, _) = try open(sql, master: old)
        try sql.execute(
            "UPDATE catalog_key SET master_key_id = ?, wrapped_key = ? WHERE id = 1",
            new.id, Data(try KeyWrap.wrap(key, under: new.catalogKey, context: context))
        )
        return true
    }
}
