// swift-tools-version:6.1
import Foundation
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

// On x86-64 the search engine is compiled for AVX2 and FMA (every x86-64 server CPU since about 2015): its
// distance kernels and graph search answer 20–35 % more queries per second than with the baseline SSE2
// (measured side by side, benchmarks/search.py). A build host without them builds for any x86-64 CPU, as
// does `CONIFER_PORTABLE=1 swift build …` (for binaries meant for older machines); `conifer serve`
// refuses to start on a CPU without what its build uses.
#if arch(x86_64)
/// Whether the build host's CPU has AVX2 and FMA (Linux; elsewhere assumed).
let hostHasVectorUnits: Bool = {
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return true }
    let present = Set(flags.split(whereSeparator: { $0 == " " || $0 == "\t" }))
    return present.contains("avx2") && present.contains("fma")
}()
let vectorCPU = Context.environment["CONIFER_PORTABLE"] == nil && hostHasVectorUnits
#else
let vectorCPU = false
#endif
/// For the modules that compute distances. The engine is optimized in debug builds too: the test suite (and the
/// debug server the conformance suite drives) builds and searches graphs of thousands of vectors, and unoptimized
/// SIMD code made the index and data-plane tests take eleven times the CPU (225 s against 20 s).
let engineSettings: [SwiftSetting] = (vectorCPU ? [.unsafeFlags(["-target-cpu", "haswell"]), .define("CONIFER_AVX2")] : [])
    + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "conifer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "conifer", targets: ["conifer"]),
        .executable(name: "conifer-bench", targets: ["conifer-bench"]),
        .executable(name: "conifer-audit-bench", targets: ["conifer-audit-bench"]),
        .executable(name: "conifer-storage-bench", targets: ["conifer-storage-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Tests only: an independent CSV parser for the usage reports' CSV.
        .package(url: "https://github.com/swiftcsv/SwiftCSV.git", from: "0.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // X.509 certificates of SAML identity providers (already in the graph through jwt-kit).
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        // The catalog on PostgreSQL (`conifer serve --catalog postgres://…`).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // Domain values and the one domain error. Foundation only, no I/O.
        .target(name: "ConiferCore", swiftSettings: strict + (vectorCPU ? [.define("CONIFER_AVX2")] : [])),
        // Columnar namespaces, HNSW graphs, distance kernels, the search planner. Pure: no I/O.
        .target(name: "ConiferIndex", dependencies: ["ConiferCore", "ConiferKernels"], swiftSettings: strict + engineSettings),
        // Inline C the engine needs: a prefetch hint and the int8 dot product on 8-bit lanes.
        .target(name: "ConiferKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        // What Conifer says to AWS-speaking services: SigV4 signing, S3 PutObject, STS AssumeRole, KMS data keys.
        .target(
            name: "ConiferAWS",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // Keys and sealed files: the master key and keyring, key wrapping, AES-256-GCM file format, durable writes.
        .target(
            name: "ConiferKeys",
            dependencies: ["ConiferCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // Outbound mail: an SMTP client (STARTTLS, AUTH PLAIN) over NIO.
        .target(
            name: "ConiferMail",
            dependencies: [
                "ConiferCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // Audit events in Pinecone's schema, the catalogue of audited actions, the recorder and the S3 exporter.
        .target(name: "ConiferAudit", dependencies: ["ConiferCore", "ConiferAWS"], swiftSettings: strict),
        // Durable per-index stores: write log, segments, manifest, recovery, compaction, index data keys.
        .target(
            name: "ConiferStorage",
            dependencies: [
                "ConiferCore",
                "ConiferIndex",
                "ConiferKeys",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Debian's libxml2 and zlib (libxml2-dev, zlib1g-dev): parsing, exclusive canonicalization, raw DEFLATE.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev", "zlib1g-dev"])]),
        // The SAML 2.0 service provider: response verification (libxml2's exclusive C14N, RSA through
        // swift-crypto), AuthnRequests, metadata. No HTTP, no state.
        .target(
            name: "ConiferSAML",
            dependencies: [
                "CLibXML2",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        // The catalog (GRDB/SQLite, or PostgreSQL through postgres-nio), API keys, authorization policy.
        .target(
            name: "ConiferAccess",
            dependencies: [
                "ConiferCore",
                "ConiferAudit",
                "ConiferKeys",
                "ConiferSAML",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strict
        ),
        // The services the edges call: the data plane through `IndexReader`, index lifecycle, where data keys
        // come from (local master key or AWS KMS). Every entry point takes an authorization pass.
        .target(
            name: "ConiferDatabase",
            dependencies: [
                "ConiferCore", "ConiferIndex", "ConiferStorage", "ConiferAccess", "ConiferAWS", "ConiferKeys",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // The Hummingbird application: routes, middleware, API-version dialects.
        .target(
            name: "ConiferServer",
            dependencies: [
                "ConiferCore",
                "ConiferAccess",
                "ConiferDatabase",
                "ConiferStorage",
                "ConiferAudit",
                "ConiferAWS",
                "ConiferKeys",
                "ConiferMail",
                "ConiferSAML",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // The executable: `serve` and the command-line client.
        .executableTarget(
            name: "conifer",
            dependencies: [
                "ConiferCore",
                "ConiferAccess",
                "ConiferAWS",
                "ConiferDatabase",
                "ConiferMail",
                "ConiferServer",
                "ConiferStorage",
                "ConiferAudit",
                "ConiferKeys",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Search micro-benchmark (prints figures; not a test).
        .executableTarget(name: "conifer-bench", dependencies: ["ConiferCore", "ConiferIndex", "ConiferStorage", .product(name: "Logging", package: "swift-log")], swiftSettings: strict + engineSettings),
        // What auditing adds to an admin call (prints figures; not a test).
        .executableTarget(name: "conifer-audit-bench", dependencies: ["ConiferCore", "ConiferAccess", "ConiferAudit", "ConiferKeys"], swiftSettings: strict),
        // What encryption at rest costs the store: sealed against plain files, side by side (prints figures; not a test).
        .executableTarget(
            name: "conifer-storage-bench",
            dependencies: ["ConiferCore", "ConiferIndex", "ConiferStorage", "ConiferKeys", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(name: "ConiferCoreTests", dependencies: ["ConiferCore", .product(name: "SwiftCSV", package: "SwiftCSV")]),
        .testTarget(
            name: "ConiferAccessTests",
            dependencies: [
                "ConiferAccess", "ConiferAudit", "ConiferCore", "ConiferKeys", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(name: "ConiferIndexTests", dependencies: ["ConiferIndex", "ConiferCore"]),
        .testTarget(name: "ConiferAWSTests", dependencies: ["ConiferAWS"]),
        .testTarget(
            name: "ConiferSAMLTests",
            dependencies: [
                "ConiferSAML", "CLibXML2",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .testTarget(
            name: "ConiferMailTests",
            dependencies: ["ConiferMail", "ConiferCore", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(name: "ConiferKeysTests", dependencies: ["ConiferKeys", "ConiferCore"]),
        .testTarget(name: "ConiferAuditTests", dependencies: ["ConiferAudit", "ConiferAccess", "ConiferCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "ConiferStorageTests", dependencies: ["ConiferStorage", "ConiferIndex", "ConiferCore", "ConiferKeys"]),
        .testTarget(name: "ConiferDatabaseTests", dependencies: ["ConiferDatabase", "ConiferStorage", "ConiferAccess", "ConiferCore", "ConiferKeys"]),
        .testTarget(
            name: "ConiferServerTests",
            dependencies: [
                "ConiferServer", "ConiferAccess", "ConiferCore", "ConiferAudit", "ConiferDatabase",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "SwiftCSV", package: "SwiftCSV"),
            ],
            exclude: ["Fixtures"]
        ),
    ]
)
