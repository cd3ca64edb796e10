import ConiferCore
import Foundation
import HTTPTypes

/// The API dialect a request speaks, chosen by its `X-Pinecone-Api-Version` header.
enum APIVersion: String, CaseIterable, Sendable, Comparable {
    case v2025_04 = "2025-04"
    case v2025_10 = "2025-10"
    case v2026_07 = "2026-07"

    /// Clients that send no version get the oldest dialect, as Pinecone does.
    static let `default` = APIVersion.v2025_04
    static let headerName = HTTPField.Name("X-Pinecone-Api-Version")!

    static func < (lhs: APIVersion, rhs: APIVersion) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Reads the version from request headers. The header name matches in any case; repeated headers and
    /// comma-joined values count once when they agree (SDK 8.x sends the header twice).
    init(headers: HTTPFields) throws(ConiferError) {
        // One header naming a version (what nearly every request sends) needs no splitting.
        guard let combined = headers[Self.headerName] else {
            self = .default
            return
        }
        if let version = APIVersion(rawValue: combined) {
            self = version
            return
        }
        let values = Set(
            headers[values: Self.headerName]
                .flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        )
        guard let value = values.first else {
            self = .default
            return
        }
        guard values.count == 1 else {
            throw .invalidArgument("Conflicting values for X-Pinecone-Api-Version: \(values.sorted().joined(separator: ", ")).")
        }
        guard let version = APIVersion(rawValue: value) else {
            throw .invalidArgument(
                "Unsupported API version '\(value.prefix(32))'. Supported versions: \(Self.allCases.map(\.rawValue).joined(separator: ", "))."
            )
        }
        self = version
    }
}
