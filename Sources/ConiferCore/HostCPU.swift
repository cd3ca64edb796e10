import Foundation

/// Whether this CPU runs the instructions the search engine was compiled for (see Package.swift: AVX2 and
/// FMA on x86-64 unless built with `CONIFER_PORTABLE=1`). Checked here, in a module compiled for any CPU,
/// before the engine runs: a missing instruction would otherwise kill the process mid-query.
public enum HostCPU {
    /// The CPU features the engine was compiled to use.
    public static var required: [String] {
        #if CONIFER_AVX2
        ["avx2", "fma"]
        #else
        []
        #endif
    }

    /// Why the engine cannot run on this CPU, or nil when it can.
    public static var unsupportedReason: String? {
        guard !required.isEmpty, let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        let missing = missing(required, cpuinfo: cpuinfo)
        guard !missing.isEmpty else { return nil }
        return "This build of Conifer needs a CPU with \(missing.joined(separator: " and ")); rebuild it with CONIFER_PORTABLE=1 swift build -c release."
    }

    /// The features of `wanted` absent from the first `flags` line of a /proc/cpuinfo text (none if it has no such line).
    static func missing(_ wanted: [String], cpuinfo: String) -> [String] {
        guard let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        let present = Set(flags.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
        return wanted.filter { !present.contains($0) }
    }
}
