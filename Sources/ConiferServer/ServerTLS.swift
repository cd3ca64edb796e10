import ConiferCore
import Foundation
import Hummingbird
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Where the server's TLS material is: `--tls-cert`, `--tls-key`, and `--tls-client-ca` for mutual TLS.
public struct TLSFiles: Sendable, Equatable {
    /// PEM: the server certificate, then any intermediates.
    public var certificate: URL
    /// PEM private key of the certificate.
    public var key: URL
    /// PEM certificates of the CA whose client certificates are accepted; set, every client must present one.
    public var clientCA: URL?

    public init(certificate: URL, key: URL, clientCA: URL? = nil) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
    }
}

/// The server's certificate and key, read from their files at start and again on SIGHUP; every handshake
/// uses the pair loaded last. A reload that fails (a file missing, a key that does not match) keeps the pair
/// in use and logs why.
final class ServerCertificate: Sendable {
    let files: TLSFiles
    private let current: Mutex<Pair>

    /// A certificate chain and its private key, as loaded and checked together.
    struct Pair: Sendable {
        var chain: [NIOSSLCertificateSource]
        var key: NIOSSLPrivateKeySource

        var override: NIOSSLContextConfigurationOverride {
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = chain
            override.privateKey = key
            return override
        }
    }

    init(files: TLSFiles) throws(ConiferError) {
        self.files = files
        current = Mutex(try Self.load(files))
    }

    /// Rereads the files. Throws, keeping the pair in use, when they do not make a usable pair.
    func reload() throws(ConiferError) {
        let fresh = try Self.load(files)
        current.withLock { $0 = fresh }
    }

    /// The TLS 1.2 suites offered: ECDHE key exchange (forward secrecy) with AEAD ciphers only, as Mozilla's
    /// "intermediate" profile; no CBC, no SHA-1 MACs, no static RSA key exchange. TLS 1.3's suites are all AEAD.
    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// TLS 1.2 (ECDHE with AEAD) and 1.3 only; with a client CA, a client certificate from that CA is required.
    /// Each handshake takes the pair loaded last.
    func configuration() throws(ConiferError) -> TLSConfiguration {
        let loaded = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: loaded.chain, privateKey: loaded.key)
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuites = Self.tls12CipherSuites
        if let clientCA = files.clientCA {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA.path))
            } catch {
                throw .invalidArgument("--tls-client-ca \(clientCA.path): \(error)")
            }
            configuration.certificateVerification = .noHostnameVerification
        }
        configuration.sslContextCallback = { [self] _, promise in
            promise.succeed(current.withLock { $0.override })
        }
        return configuration
    }

    private static func load(_ files: TLSFiles) throws(ConiferError) -> Pair {
        let chain: [NIOSSLCertificateSource]
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(files.certificate.path)
            guard !certificates.isEmpty else { throw ConiferError.invalidArgument("no certificate in the file") }
            chain = certificates.map { .certificate($0) }
        } catch {
            throw .invalidArgument("--tls-cert \(files.certificate.path): \(error)")
        }
        let key: NIOSSLPrivateKeySource
        do {
            key = .privateKey(try NIOSSLPrivateKey(file: files.key.path, format: .pem))
        } catch {
            throw .invalidArgument("--tls-key \(files.key.path): \(error)")
        }
        // A key that does not belong to the certificate fails here, not in every handshake after.
        do {
            var probe = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
            probe.minimumTLSVersion = .tlsv12
            _ = try NIOSSLContext(configuration: probe)
        } catch {
            throw .invalidArgument("--tls-key \(files.key.path) does not match --tls-cert \(files.certificate.path): \(error)")
        }
        return Pair(chain: chain, key: key)
    }
}

/// Reloads the server certificate on SIGHUP, until graceful shutdown.
struct CertificateReloadService: Service {
    let certificate: ServerCertificate
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    try certificate.reload()
                    logger.notice("reloaded the TLS certificate", metadata: ["certificate": "\(certificate.files.certificate.path)"])
                } catch {
                    logger.error("TLS certificate reload failed; the previous certificate stays in use", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
