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
                let link = AuditChain.link(after: previous, row, sealer: sealer)
                try db.execute(sql: "UPDATE audit_event SET link = ? WHERE seq = ?", arguments: [link, row["seq"] as Int64])
                previous = link
                last = row["seq"]
            }
            try AuditChain.store(db, anchor: (0, AuditChain.genesis), head: (last, previous), sealer: sealer)
        }
    }

    /// Appends an event at the head of the chain, in the caller's transaction.
    static func appendChained(_ db: Database, _ event: AuditEvent, body: Data, sealer: ColumnSealer) throws {
        let chain = try AuditChain.load(db)
        let seq = chain.head.seq + 1
        let columns = [
            event.organization_id, event.event.time, event.event.action, event.event.resource_type, event.actor.principal_id,
            event.event.outcome.result,
        ]
        let link = AuditChain.link(after: chain.head.link, seq: seq, columns: columns, body: body, sealer: sealer)
        try db.execute(
            sql: "INSERT INTO audit_event (seq, organization_id, time, action, resource_type, principal_id, result, body, link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: StatementArguments([seq] + columns.map { $0 as (any DatabaseValueConvertible) } + [body, link])
        )
        try AuditChain.store(db, anchor: chain.anchor, head: (seq, link), sealer: sealer)
    }

    /// Removes the events recorded before `date` and moves the chain's anchor to the last one removed.
    static func purgeChained(_ db: Database, before date: Date, sealer: ColumnSealer) throws -> Int {
        let cutoff = AuditTime.string(date)
        guard let last = try Row.fetchOne(db, sql: "SELECT seq, link FROM audit_event WHERE time < ? ORDER BY seq DESC LIMIT 1", arguments: [cutoff]) else {
            return 0
        }
        let chain = try AuditChain.load(db)
        let lastSeq: Int64 = last["seq"]
        // Events are appended in time order, so what is older than the cut-off is a prefix of the chain.
        try db.execute(sql: "DELETE FROM audit_event WHERE seq <= ?", arguments: [lastSeq])
        let deleted = db.changesCount
        try AuditChain.store(db, anchor: (lastSeq, last["link"] as Data? ?? Data()), head: chain.head, sealer: sealer)
        return deleted
    }

    /// Checks every link of the audit log from the anchor to the head; nil when the chain holds.
    public func verifyAuditChain() async throws -> AuditChainBreak? {
        let sealer = sealer
        return try await database.read { db in
            guard let chain = try? AuditChain.load(db) else { return AuditChainBreak(seq: 0, reason: "the chain's anchor and head are missing") }
            guard chain.mac == AuditChain.mac(anchor: chain.anchor, head: chain.head, sealer: sealer) else {
                return AuditChainBreak(seq: chain.head.seq, reason: "the chain's anchor or head was altered")
            }
            var previous = chain.anchor
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM audit_event ORDER BY seq")
            while let row = try rows.next() {
                let seq: Int64 = row["seq"]
                guard seq == previous.seq + 1 else {
                    return AuditChainBreak(seq: previous.seq + 1, reason: seq <= previous.seq ? "an event before the anchor" : "missing (deleted)")
                }
                let link = AuditChain.link(after: previous.link, row, sealer: sealer)
                guard row["link"] as Data? == link else { return AuditChainBreak(seq: seq, reason: "altered (its link does not verify)") }
                previous = (seq, link)
            }
            guard previous.seq == chain.head.seq, previous.link == chain.head.link else {
                return AuditChainBreak(seq: previous.seq + 1, reason: "missing: the log ends before the head (\(chain.head.seq))")
            }
            return nil
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
    static func link(after previous: Data, _ row: Row, sealer: ColumnSealer) -> Data {
        link(after: previous, seq: row["seq"], columns: columns.map { (row[$0] as String?) ?? "" }, body: (row["body"] as Data?) ?? Data(), sealer: sealer)
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

    static func load(_ db: Database) throws -> (anchor: (seq: Int64, link: Data), head: (seq: Int64, link: Data), mac: Data) {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM audit_chain WHERE id = 1") else {
            throw ConiferCatalogCorruption(description: "audit_chain: the chain's anchor and head are missing")
        }
        return ((row["anchor_seq"], row["anchor_link"]), (row["head_seq"], row["head_link"]), row["mac"])
    }

    static func store(_ db: Database, anchor: (seq: Int64, link: Data), head: (seq: Int64, link: Data), sealer: ColumnSealer) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO audit_chain (id, anchor_seq, anchor_link, head_seq, head_link, mac) VALUES (1, ?, ?, ?, ?, ?)",
            arguments: [anchor.seq, anchor.link, head.seq, head.link, mac(anchor: anchor, head: head, sealer: sealer)]
        )
    }
}
