import ConiferAudit
import ConiferCore
import Crypto
import Foundation
import GRDB

// The audit log's hash chain (SECURITY.md rule 15): each event row carries a link, an HMAC (under a key derived
// from the server key, so nobody without the master key can recompute one) over the previous link, the row's
// position and every column. `audit_chain` keeps the anchor (the last event retention removed) and the head (the
// last event appended), with an HMAC of its own. Deleting, rewriting or reordering a row, or removing the newest
// ones, breaks a link `verifyAuditChain` reports.

/// Where the audit log's chain first fails to hold.
public struct AuditChainBreak: Sendable, Equatable, CustomStringConvertible {
    /// The position of the first event that does not verify (or, for a missing tail, the head's).
    public var seq: Int64
    public var reason: String
    public var description: String { "audit event \(seq): \(reason)" }
}

extension SQLiteCatalog {
    static func registerAuditChainMigration(_ migrator: inout DatabaseMigrator, sealer: ColumnSealer) {
        migrator.registerMigration("v12 audit hash chain") { db in
            try db.alter(table: "audit_event") { t in t.add(column: "link", .blob) }
            try db.create(table: "audit_chain") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("anchor_seq", .integer).notNull()
                t.column("anchor_link", .blob).notNull()
                t.column("head_seq", .integer).notNull()
                t.column("head_link", .blob).notNull()
                t.column("mac", .blob).notNull()
            }
            // Events recorded before the chain existed are chained now, in order.
            var previous = AuditChain.genesis
            var last: Int64 = 0
            for row in try Row.fetchAll(db, sql: "SELECT * FROM audit_event ORDER BY seq") {
                let link = try AuditChain.link(after: previous, SQLiteRow(row: row), sealer: sealer)
                try db.execute(sql: "UPDATE audit_event SET link = ? WHERE seq = ?", arguments: [link, row["seq"] as Int64])
                previous = link
                last = row["seq"]
            }
            try AuditChain.store(SQLiteStatements(db: db), anchor: (0, AuditChain.genesis), head: (last, previous), sealer: sealer)
        }
    }
}

/// The links: HMAC-SHA256 under a key derived from the server key.
enum AuditChain {
    static let genesis = Data(repeating: 0, count: 32)
    static let columns = ["organization_id", "time", "action", "resource_type", "principal_id", "result"]

    static func key(_ sealer: ColumnSealer) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: sealer.key, info: Data("conifer audit chain".utf8), outputByteCount: 32)
    }

    /// The link of `row` after `previous`: over the previous link, the position and every column, each
    /// length-prefixed so no two rows encode alike.
    static func link(after previous: Data, _ row: any CatalogRow, sealer: ColumnSealer) throws -> Data {
        link(
            after: previous, seq: try row.get("seq"), columns: try columns.map { try row.get(.name($0)) as String? ?? "" },
            body: try row.get("body") as Data? ?? Data(), sealer: sealer
        )
    }

    /// The same from the values themselves (`columns` in the order of `AuditChain.columns`).
    static func link(after previous: Data, seq: Int64, columns: [String], body: Data, sealer: ColumnSealer) -> Data {
        var hmac = HMAC<SHA256>(key: key(sealer))
        hmac.update(data: previous)
        hmac.update(data: bigEndian(seq))
        for value in columns.map({ Data($0.utf8) }) + [body] {
            hmac.update(data: bigEndian(Int64(value.count)))
            hmac.update(data: value)
        }
        return Data(hmac.finalize())
    }

    static func bigEndian(_ value: Int64) -> Data { withUnsafeBytes(of: value.bigEndian) { Data($0) } }

    static func mac(anchor: (seq: Int64, link: Data), head: (seq: Int64, link: Data), sealer: ColumnSealer) -> Data {
        var hmac = HMAC<SHA256>(key: key(sealer))
        hmac.update(data: Data("anchor-head".utf8))
        for (seq, link) in [anchor, head] {
            hmac.update(data: bigEndian(seq))
            hmac.update(data: link)
        }
        return Data(hmac.finalize())
    }

    static func load(_ sql: any CatalogSQL) throws -> (anchor: (seq: Int64, link: Data), head: (seq: Int64, link: Data), mac: Data) {
        guard let row = try sql.row("SELECT * FROM audit_chain WHERE id = 1") else {
            throw ConiferCatalogCorruption(description: "audit_chain: the chain's anchor and head are missing")
        }
        return ((try row.get("anchor_seq"), try row.get("anchor_link")), (try row.get("head_seq"), try row.get("head_link")), try row.get("mac"))
    }

    static func store(_ sql: any CatalogSQL, anchor: (seq: Int64, link: Data), head: (seq: Int64, link: Data), sealer: ColumnSealer) throws {
        try sql.upsert("audit_chain", [
            "id": 1, "anchor_seq": anchor.seq, "anchor_link": anchor.link, "head_seq": head.seq, "head_link": head.link,
            "mac": mac(anchor: anchor, head: head, sealer: sealer),
        ])
    }
}
