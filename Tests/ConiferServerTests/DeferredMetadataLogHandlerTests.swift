import Logging
import Synchronization
import Testing
@testable import ConiferServer

/// The server's log handler keeps a logger's metadata as set and writes it with every message, as
/// `StreamLogHandler` does on its own.
@Suite struct DeferredMetadataLogHandlerTests {
    /// What the stream handler writes, kept for the test.
    final class Lines: Sendable {
        let text = Mutex("")
    }

    struct Capture: TextOutputStream, Sendable {
        let lines: Lines
        mutating func write(_ string: String) { lines.text.withLock { $0 += string } }
    }

    @Test func metadataSetOnTheLoggerIsWrittenWithEachMessage() {
        let lines = Lines()
        var logger = Logger(label: "test") { label in
            DeferredMetadataLogHandler(stream: StreamLogHandler(label: label, stream: Capture(lines: lines), metadataProvider: nil))
        }
        logger.logLevel = .info
        logger[metadataKey: "request"] = "r1"
        logger[metadataKey: "index"] = "from-logger"
        var copy = logger
        copy[metadataKey: "request"] = "r2"
        logger.info("first", metadata: ["index": "from-message"])
        copy.warning("second")
        logger.debug("below the level")
        let written = lines.text.withLock { $0 }.split(separator: "\n").map(String.init)
        #expect(written.count == 2)
        // A message's own metadata wins over the logger's for the same key; a copy's change stays in the copy.
        #expect(written.first?.contains("request=r1") == true && written.first?.contains("index=from-message") == true)
        #expect(written.first?.contains("from-logger") == false && written.first?.contains(" first") == true)
        #expect(written.last?.contains("request=r2") == true && written.last?.contains("index=from-logger") == true)
        #expect(logger[metadataKey: "request"] == "r1")
    }
}
