// What auditing adds to an admin call, without HTTP, for benchmarks/audit.py. Release build:
//
//   conifer-audit-bench [--calls 2000] [--directory DIR]
//
// Opens a real catalog (SQLite file, WAL, synchronous FULL: each commit fsynced) in a temporary directory,
// then alternates blocks of 100 admin calls (a project rename through AdminService, one fsynced catalog
// commit) without and with what AccessMiddleware adds for an audited call: the AuditRecorder building the
// event (organization and actor lookups) and appending it to the spool (one more fsynced commit). Prints one
// JSON line: microseconds per call off and on (medians of the blocks), the overhead and the ratio.
import ConiferAccess
import ConiferAudit
import ConiferCore
import ConiferKeys
import Foundation

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

struct SetupFailed: Error { var step: String }

func require<T>(_ value: T?, _ step: String) throws -> T {
    guard let value else { throw SetupFailed(step: step) }
    return value
}

let calls = option("--calls").flatMap(Int.init) ?? 2000
let directory = URL(fileURLWithPath: option("--directory") ?? NSTemporaryDirectory()).appendingPathComponent("conifer-audit-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }

let catalog = try SQLiteCatalog(directory: directory, sealingKey: KeyRing.open(dataDirectory: directory, source: nil).serverKey)
let admin = AdminService(catalog: catalog)
let boot = try require(try await CatalogService(catalog: catalog).bootstrapIfNeeded(apiKeyValue: nil), "bootstrap")
let secret = "bench-secret-0123456789abcdefghijklmnop"
_ = try await admin.bootstrapServiceAccount(clientID: "bench-owner", clientSecret: secret)
let account = try require(try await admin.authenticateServiceAccount(clientID: "bench-owner", clientSecret: secret), "sign-in")
let identity = try require(try await admin.identity(serviceAccount: account.id, generation: account.generation), "identity")
let pass = identity.admit()
let recorder = AuditRecorder(spool: catalog, directory: catalog)

var off: [Double] = []
var on: [Double] = []
let block = 100
var renamed = 0
for round in 0..<(calls / block) {
    let audited = round % 2 == 1
    let start = ContinuousClock.now
    for _ in 0..<block {
        renamed += 1
        let name = "project-\(renamed)"
        _ = try await admin.updateProject(boot.projectID, ProjectChange(name: name), for: pass)
        if audited {
            try await recorder.observe(ActionOutcome(
                actor: ActionOutcome.Actor(identity.kind), action: "PATCH /admin/projects/:project_id", kind: .updateProject,
                resource: ["project_id": boot.projectID.lowercasedString], result: .succeeded, organizationID: identity.organizationID,
                userAgent: "conifer-audit-bench", details: ActionDetails(resourceID: .string(name), resourceName: name, parameters: ["name": .string(name)])
            ))
        }
    }
    let elapsed = ContinuousClock.now - start
    let micros = (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12) / Double(block)
    if audited { on.append(micros) } else { off.append(micros) }
}
let offMedian = median(off)
let onMedian = median(on)
let events = try await catalog.events(AuditQuery(organizationID: identity.organizationID, limit: 1000, action: "update")).events.count
let line: [String: Any] = [
    "calls": calls, "audit_off_us": offMedian.rounded(), "audit_on_us": onMedian.rounded(),
    "overhead_us": (onMedian - offMedian).rounded(), "ratio": (onMedian / offMedian * 100).rounded() / 100, "events_recorded_sample": events,
]
print(String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self))
