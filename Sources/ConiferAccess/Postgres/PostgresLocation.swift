import ConiferCore
import Foundation
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL catalog lives, read from a libpq-style URL:
/// `postgres://user:password@host:port/database?sslmode=require&sslrootcert=/path/ca.pem`.
///
/// `sslmode` is libpq's: `disable` (plain TCP), `prefer` (TLS when the server offers it, unverified), `require`
/// (TLS, the certificate not verified), `verify-ca` (TLS, the chain checked against `sslrootcert` or the system's
/// roots), `verify-full` (the chain and the host name). Without `sslmode` the connection is plain, as on a
/// loopback or private network; say `verify-full` for anything else. Any other parameter is refused, so a
/// misspelt one does not silently weaken the connection.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// PEM file of the certificate authorities `verify-ca` and `verify-full` trust (the system's roots when nil).
    public var rootCertificates: String?

    public init(url text: String) throws {
        func invalid(_ why: String) -> ConiferError {
            ConiferError(.invalidArgument, "The catalog URL is not usable: \(why) (expected postgres://user:password@host:port/database).")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw invalid("it must start with postgres://")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("it names no host") }
        guard let user = components.user, !user.isEmpty else { throw invalid("it names no user") }
        self.host = host
        port = components.port ?? 5432
        username = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? username : (path.removingPercentEncoding ?? path)
        tls = .disable
        rootCertificates = nil
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw invalid("sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tls = mode
            case "sslrootcert":
                guard let path = item.value, !path.isEmpty else { throw invalid("sslrootcert names no file") }
                rootCertificates = path
            default:
                throw invalid("the parameter \(item.name) is not supported (sslmode and sslrootcert are)")
            }
        }
    }

    /// The URL without its password, for logs and messages.
    public var description: String {
        let user = password == nil ? username : username + ":***"
        var text = "postgres://\(user)@\(host):\(port)/\(database)"
        if tls != .disable { text += "?sslmode=\(tls.rawValue)" }
        return text
    }

    /// postgres-nio's configuration for one connection.
    func configuration() throws -> PostgresConnection.Configuration {
        typealias TLS = PostgresConnection.Configuration.TLS
        let enforced: (NIOSSLContext) -> TLS = TLS.require
        let tlsSetting: TLS
        switch tls {
        case .disable:
            tlsSetting = .disable
        case .prefer, .require:
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = .none
            let context = try NIOSSLContext(configuration: settings)
            tlsSetting = tls == .prefer ? .prefer(context) : enforced(context)
        case .verifyCA, .verifyFull:
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = tls == .verifyFull ? .fullVerification : .noHostnameVerification
            if let rootCertificates { settings.trustRoots = .file(rootCertificates) }
            tlsSetting = enforced(try NIOSSLContext(configuration: settings))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }
}
