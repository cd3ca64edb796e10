@testable import ConiferCore
import Testing

@Suite struct HostCPUTests {
    @Test func missingFeaturesAreNamed() {
        let older = "processor\t: 0\nflags\t\t: fpu sse sse2 avx fma\nbugs\t\t: spectre\n"
        #expect(HostCPU.missing(["avx2", "fma"], cpuinfo: older) == ["avx2"])
        // A flag that only starts like a wanted one does not count.
        #expect(HostCPU.missing(["avx2"], cpuinfo: "flags\t: avx2_vnni sse") == ["avx2"])
        #expect(HostCPU.missing(["avx2", "fma"], cpuinfo: "flags : avx2 fma") == [])
    }

    /// The machine the tests run on runs what the build uses (or the test suite would have crashed already).
    @Test func thisMachineRunsThisBuild() {
        #expect(HostCPU.unsupportedReason == nil)
    }
}
