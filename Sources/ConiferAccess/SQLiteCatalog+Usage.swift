import ConiferCore
import Foundation
import GRDB

// The usage ledger: read and write units per index per hour, kept after the index is deleted (for usage
// reports) and removed with its organization.

extension SQLiteCatalog {
    static func registerUsageMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7 usage ledger") { db in
            try db.create(table: "usage_hour") { t in
                t.column("index_id", .text).notNull()
                t.column("hour", .integer).notNull()  // the hour's start, in seconds since 1970 (UTC)
                t.column("organization_id", .text).notNull().references("organization", onDelete: .cascade)
                t.column("project_id", .text).notNull()
                t.column("index_name", .text).notNull()
                t.column("read_units", .double).notNull()
                t.column("write_units", .double).notNull()
                t.primaryKey(["index_id", "hour"])
            }
            try db.create(index: "usage_hour_organization", on: "usage_hour", columns: ["organization_id", "hour"])
        }
    }

    public func recordUsage(_ hours: [UsageHour]) async throws {
        guard !hours.isEmpty else { return }
        try await database.write { db in
            for entry in hours {
                // Units of an organization deleted meanwhile are dropped with it (no foreign-key failure for
                // the whole batch).
                try db.execute(
                    sql: """
                        INSERT INTO usage_hour (index_id, hour, organization_id, project_id, index_name, read_units, write_units)
                        SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM organization WHERE id = ?)
                        ON CONFLICT (index_id, hour) DO UPDATE SET
                            read_units = read_units + excluded.read_units, write_units = write_units + excluded.write_units,
                            index_name = excluded.index_name
                        """,
                    arguments: [
                        entry.indexID.lowercasedString, Int64(entry.hour.timeIntervalSince1970), entry.organizationID.lowercasedString,
                        entry.projectID.lowercasedString, entry.indexName, entry.readUnits, entry.writeUnits, entry.organizationID.lowercasedString,
                    ]
                )
            }
        }
    }

    public func usageTotals(since start: Date) async throws -> [UUID: UnitTotals] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT organization_id, SUM(read_units) AS r, SUM(write_units) AS w FROM usage_hour WHERE hour >= ? GROUP BY organization_id",
                arguments: [Int64(start.timeIntervalSince1970)]
            )
            var totals: [UUID: UnitTotals] = [:]
            for row in rows {
                totals[try Self.uuid(row["organization_id"])] = UnitTotals(read: row["r"], write: row["w"])
            }
            return totals
        }
    }

    public func usage(organization: UUID, from: Date, to: Date) async throws -> [UsageHour] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM usage_hour WHERE organization_id = ? AND hour >= ? AND hour < ? ORDER BY hour, project_id, index_name, index_id
                    """,
                arguments: [organization.lowercasedString, Int64(from.timeIntervalSince1970), Int64(to.timeIntervalSince1970)]
            ).map { row in
                UsageHour(
                    organizationID: try Self.uuid(row["organization_id"]), projectID: try Self.uuid(row["project_id"]),
                    indexID: try Self.uuid(row["index_id"]), indexName: row["index_name"],
                    hour: Date(timeIntervalSince1970: TimeInterval(row["hour"] as Int64)), readUnits: row["read_units"], writeUnits: row["write_units"]
                )
            }
        }
    }
}
