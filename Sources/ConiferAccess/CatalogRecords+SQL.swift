import ConiferCore
import Foundation

// The catalog's records as rows of portable SQL (`CatalogSQL`): read from a result row, saved by an upsert that
// writes the record's own columns (and leaves any other, such as a project's rate limits, as it is). Values are
// stored as GRDB stored them in every existing SQLite catalog: ids lowercase text, enums their raw text, nested
// values JSON text (`CatalogJSON`), sealed values blobs.

/// JSON columns as GRDB encodes Codable values: sorted keys, dates in milliseconds, data in base64.
enum CatalogJSON {
    static func text(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.dataEncodingStrategy = .base64
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func value<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dataDecodingStrategy = .base64
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(type, from: Data(text.utf8))
    }
}

extension CatalogRow {
    /// A column holding an enum's raw text.
    func raw<T: RawRepresentable>(_ column: CatalogColumnName) throws -> T where T.RawValue == String {
        let text: String = try get(column)
        guard let value = T(rawValue: text) else { throw ConiferError(.internalError, "The catalog holds an unknown value \(text) in column \(column).") }
        return value
    }

    /// A column holding JSON text.
    func json<T: Decodable>(_ column: CatalogColumnName) throws -> T {
        try CatalogJSON.value(T.self, try get(column))
    }
}

extension CatalogSQL {
    /// Inserts a row, or sets `columns` of the row that has the same `key` columns.
    func upsert(_ table: String, key: [String] = ["id"], _ columns: KeyValuePairs<String, any SQLArgument>) throws {
        let names = columns.map(\.key)
        let updates = names.filter { !key.contains($0) }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        try execute(
            """
            INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: names.count).joined(separator: ", ")))
            ON CONFLICT (\(key.joined(separator: ", "))) DO UPDATE SET \(updates)
            """,
            columns.map(\.value.sqlValue)
        )
    }

    /// Sets `columns` of the row whose `id` is `id`; false when there is none.
    func update(_ table: String, id: UUID, _ columns: KeyValuePairs<String, any SQLArgument>) throws -> Bool {
        try execute(
            "UPDATE \(table) SET \(columns.map { "\($0.key) = ?" }.joined(separator: ", ")) WHERE id = ?", columns.map(\.value.sqlValue) + [id.sqlValue]
        ) == 1
    }

    /// Inserts a row.
    func insert(_ table: String, _ columns: KeyValuePairs<String, any SQLArgument>) throws {
        try execute(
            "INSERT INTO \(table) (\(columns.map(\.key).joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))",
            columns.map(\.value.sqlValue)
        )
    }
}

extension OrganizationRow {
    init(_ row: any CatalogRow) throws {
        self.init(id: try row.get("id"), name: try row.get("name"), plan: try row.raw("plan"), createdAt: try row.get("created_at"),
                  sealedBillingContact: try row.get("billing_contact"))
    }

    func save(_ sql: any CatalogSQL) throws {
        try sql.upsert("organization", ["id": id, "name": name, "plan": plan.rawValue, "created_at": createdAt, "billing_contact": sealedBillingContact])
    }
}

extension ProjectRow {
    init(_ row: any CatalogRow) throws {
        self.init(
            id: try row.get("id"), organizationID: try row.get("organization_id"), name: try row.get("name"), createdAt: try row.get("created_at"),
            maxPods: try row.get("max_pods"), forceEncryptionWithCMEK: try row.get("force_encryption_with_cmek"),
            privateEndpointAccessOnly: try row.get("private_endpoint_access_only"), sealedTags: try row.get("tags")
        )
    }

    func save(_ sql: any CatalogSQL) throws {
        try sql.upsert("project", [
            "id": id, "organization_id": organizationID, "name": name, "created_at": createdAt, "max_pods": maxPods,
            "force_encryption_with_cmek": forceEncryptionWithCMEK, "private_endpoint_access_only": privateEndpointAccessOnly, "tags": sealedTags,
        ])
    }
}

extension ServiceAccountRow {
    init(_ row: any CatalogRow) throws {
        self.init(
            id: try row.get("id"), organizationID: try row.get("organization_id"), name: try row.get("name"), clientID: try row.get("client_id"),
            secretHash: try row.get("secret_hash"), secretGeneration: try row.get("secret_generation"), createdAt: try row.get("created_at"),
            updatedAt: try row.get("updated_at")
        )
    }

    func save(_ sql: any CatalogSQL) throws {
        try sql.upsert("service_account", [
            "id": id, "organization_id": organizationID, "name": name, "client_id": clientID, "secret_hash": secretHash,
            "secret_generation": secretGeneration, "created_at": createdAt, "updated_at": updatedAt,
        ])
    }
}

extension RoleBindingRow {
    init(_ row: any CatalogRow) throws {
        let role: String = try row.get("role")
        guard let membership = MembershipRole(rawValue: role) else { throw ConiferError(.internalError, "The catalog holds an unknown role \(role).") }
        self.init(
            id: try row.get("id"), principalType: try row.raw("principal_type"), principalID: try row.get("principal_id"),
            resourceType: try row.raw("resource_type"), resourceID: try row.get("resource_id"), role: membership, createdAt: try row.get("created_at")
        )
    }

    /// Inserts the binding in place of the principal's binding on the same resource (and of one with its id).
    func replace(_ sql: any CatalogSQL) throws {
        try sql.execute(
            "DELETE FROM role_binding WHERE id = ? OR (principal_type = ? AND principal_id = ? AND resource_type = ? AND resource_id = ?)",
            id, principalType.rawValue, principalID, resourceType.rawValue, resourceID
        )
        try sql.insert("role_binding", [
            "id": id, "principal_type": principalType.rawValue, "principal_id": principalID, "resource_type": resourceType.rawValue,
            "resource_id": resourceID, "role": role.rawValue, "created_at": createdAt,
        ])
    }
}

extension APIKeyRow {
    init(_ row: any CatalogRow) throws {
        self.init(
            id: try row.get("id"), projectID: try row.get("project_id"), name: try row.get("name"), label: try row.get("label"),
            secretHash: try row.get("secret_hash"), roles: try row.json("roles"), createdAt: try row.get("created_at")
        )
    }

    func save(_ sql: any CatalogSQL) throws {
        try sql.upsert("api_key", [
            "id": id, "project_id": projectID, "name": name, "label": label, "secret_hash": secretHash, "roles": try CatalogJSON.text(roles),
            "created_at": createdAt,
        ])
    }
}

extension IndexRow {
    init(_ row: any CatalogRow) throws {
        id = try row.get("id")
        projectID = try row.get("project_id")
        name = try row.get("name")
        vectorType = try row.raw("vector_type")
        dimension = try row.get("dimension")
        metric = try row.raw("metric")
        deletionProtection = try row.raw("deletion_protection")
        tags = try row.get("tags")
        deployment = try row.json("deployment")
        readCapacity = try row.json("read_capacity")
        createdAt = try row.get("created_at")
        cmekID = try row.get("cmek_id")
        restoreJobID = try row.get("restore_job_id")
        vectorEncoding = try row.raw("vector_encoding")
        home = try row.get("home")
    }

    func insert(_ sql: any CatalogSQL) throws {
        try sql.insert("index_definition", [
            "id": id, "project_id": projectID, "name": name, "vector_type": vectorType.rawValue, "dimension": dimension, "metric": metric.rawValue,
            "deletion_protection": deletionProtection.rawValue, "tags": tags, "deployment": try CatalogJSON.text(deployment),
            "read_capacity": try CatalogJSON.text(readCapacity), "created_at": createdAt, "cmek_id": cmekID, "restore_job_id": restoreJobID,
            "vector_encoding": vectorEncoding.rawValue, "home": home,
        ])
    }

    /// Writes every column but the id of the index's row, which must exist.
    func update(_ sql: any CatalogSQL) throws {
        let updated = try sql.update("index_definition", id: id, [
            "project_id": projectID, "name": name, "vector_type": vectorType.rawValue, "dimension": dimension, "metric": metric.rawValue,
            "deletion_protection": deletionProtection.rawValue, "tags": tags, "deployment": try CatalogJSON.text(deployment),
            "read_capacity": try CatalogJSON.text(readCapacity), "created_at": createdAt, "cmek_id": cmekID, "restore_job_id": restoreJobID,
            "vector_encoding": vectorEncoding.rawValue, "home": home,
        ])
        guard updated else { throw ConiferError(.internalError, "The index \(name) has no row to update.") }
    }
}

extension CMEKKeyRow {
    init(_ row: any CatalogRow) throws {
        self.init(
            id: try row.get("id"), projectID: try row.get("project_id"), name: try row.get("name"), roleARN: try row.get("role_arn"),
            keyARN: try row.get("key_arn"), externalID: try row.get("external_id"), createdAt: try row.get("created_at")
        )
    }

    func insert(_ sql: any CatalogSQL) throws {
        try sql.insert("cmek_key", [
            "id": id, "project_id": projectID, "name": name, "role_arn": roleARN, "key_arn": keyARN, "external_id": externalID, "created_at": createdAt,
        ])
    }
}

extension UserRow {
    init(_ row: any CatalogRow) throws {
        self.init(
            id: try row.get("id"), email: try row.get("email"), name: try row.get("name"), passwordHash: try row.get("password_hash"),
            passwordGeneration: try row.get("password_generation"), createdAt: try row.get("created_at")
        )
    }

    func save(_ sql: any CatalogSQL) throws {
        try sql.upsert("\"user\"", [
            "id": id, "email": email, "name": name, "password_hash": passwordHash, "password_generation": passwordGeneration, "created_at": createdAt,
        ])
    }
}

extension InviteRow {
    init(_ row: any CatalogRow) throws {
        self.init(
            id: try row.get("id"), organizationID: try row.get("organization_id"), email: try row.get("email"), tokenHash: try row.get("token_hash"),
            roleBindings: try row.json("role_bindings"), status: try row.raw("status"), expiresAt: try row.get("expires_at"),
            createdAt: try row.get("created_at"), processedAt: try row.get("processed_at")
        )
    }

    func save(_ sql: any CatalogSQL) throws {
        try sql.upsert("invite", [
            "id": id, "organization_id": organizationID, "email": email, "token_hash": tokenHash, "role_bindings": try CatalogJSON.text(roleBindings),
            "status": status.rawValue, "expires_at": expiresAt, "created_at": createdAt, "processed_at": processedAt,
        ])
    }
}

extension PrivateEndpointRow {
    init(_ row: any CatalogRow) throws {
        self.init(
            id: try row.get("id"), projectID: try row.get("project_id"), name: try row.get("name"), region: try row.get("region"),
            vpcEndpointID: try row.get("vpc_endpoint_id"), allowedCIDRs: try row.json("allowed_cidrs"), createdAt: try row.get("created_at")
        )
    }

    func insert(_ sql: any CatalogSQL) throws {
        try sql.insert("private_endpoint", [
            "id": id, "project_id": projectID, "name": name, "region": region, "vpc_endpoint_id": vpcEndpointID,
            "allowed_cidrs": try CatalogJSON.text(allowedCIDRs), "created_at": createdAt,
        ])
    }
}
