// ConiferAudit — audit events in Pinecone's schema, the recorder that turns action outcomes into events (drafted
// before a call, staged in its change's transaction, settled as it ended), and the exporter that delivers them to
// S3 in batches. The spool is a protocol (stored by the catalog). Its allowed imports: docs/ARCHITECTURE.md.

import ConiferCore
import Foundation

/// One audit event, exactly in Pinecone's published schema (the wire names are the field names).
public struct AuditEvent: Codable, Sendable, Equatable {
    public struct Client: Codable, Sendable, Equatable {
        /// The raw `User-Agent` of the request ("" when it had none).
        public var userAgent: String
    }

    public struct Actor: Codable, Sendable, Equatable {
        public var principal_id: String
        public var principal_name: String
        /// `user`, `api_key` or `service_account` (`system` for Conifer's own operator actions).
        public var principal_type: String
        /// Only for users.
        public var display_name: String?

        public init(principal_id: String, principal_name: String, principal_type: String, display_name: String? = nil) {
            self.principal_id = principal_id
            self.principal_name = principal_name
            self.principal_type = principal_type
            self.display_name = display_name
        }
    }

    public struct Outcome: Codable, Sendable, Equatable {
        /// `success` or `failure`.
        public var result: String
        /// Only on failure: the message the caller was given.
        public var reason: String?
        /// Only on failure: the error code the caller was given (`PERMISSION_DENIED`, `NOT_FOUND`, ...).
        public var error_code: String?
    }

    public struct Event: Codable, Sendable, Equatable {
        /// RFC 3339 with milliseconds, UTC.
        public var time: String
        public var action: String
        public var resource_type: String
        /// A string, an array of strings or an object, by the catalogue's convention for the action.
        public var resource_id: JSONValue
        public var resource_name: String?
        public var outcome: Outcome
        /// What the call asked for, never a secret.
        public var parameters: [String: JSONValue]
    }

    public var id: String
    public var organization_id: String
    public var organization_name: String
    public var client: Client
    public var actor: Actor
    public var event: Event

    public var succeeded: Bool { event.outcome.result == "success" }

    /// The event's JSON: keys sorted, so the same event always has the same bytes.
    public func encoded() throws -> Data { try Self.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> AuditEvent { try JSONDecoder().decode(AuditEvent.self, from: data) }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// Event times: RFC 3339 with milliseconds in UTC (`2026-11-22T14:30:00.123Z`), which sort as text.
public enum AuditTime {
    public static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// Parses RFC 3339 with or without fractional seconds; nil for anything else.
    public static func date(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(text) { return date }
        return try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(text)
    }
}
