import Logging

/// `StreamLogHandler` with its metadata kept as given and rendered only when a message is written: the stream
/// handler renders its metadata on every change, and Hummingbird sets a request id on every request's logger, so
/// each request paid for text that no message used.
public struct DeferredMetadataLogHandler: LogHandler {
    var stream: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    public init(stream: StreamLogHandler) {
        self.stream = stream
    }

    public var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty { event.metadata = metadata.merging(event.metadata ?? [:]) { $1 } }
        stream.log(event: event)
    }
}
