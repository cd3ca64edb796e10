import ConiferCore
import Foundation
import Hummingbird

/// JSON in and out of the wire types, with Pinecone's error semantics for bodies that do not decode.
enum WireJSON {
    /// Encodes a wire value. A value JSON cannot carry (a non-finite number) is a server fault: it throws an
    /// internal error, which the error middleware logs and answers with a 500, never a 200 with an empty body.
    static func encode(_ value: some Encodable) throws(ConiferError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        do {
            return try encoder.encode(value)
        } catch {
            throw ConiferError(.internalError, "could not encode \(type(of: value)) as JSON: \(error)")
        }
    }

    static func response(status: HTTPResponse.Status, body: some Sequence<UInt8>) -> Response {
        Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static let headers: HTTPFields = [.contentType: "application/json"]

    static func response(status: HTTPResponse.Status, _ value: some Encodable) throws(ConiferError) -> Response {
        response(status: status, body: try bytes(value))
    }

    /// A value as JSON: through `JSONWriter` when it can write itself, else `JSONEncoder`.
    static func bytes(_ value: some Encodable) throws(ConiferError) -> [UInt8] {
        if let writable = value as? any WritableWire {
            var writer = JSONWriter(capacity: 4096)
            writable.write(to: &writer)
            // A non-finite number goes through JSONEncoder, which refuses it (a logged 500).
            if !writer.invalid { return writer.bytes }
        }
        return Array(try encode(value))
    }

    static func empty(status: HTTPResponse.Status) -> Response {
        Response(status: status)
    }

    /// Decodes a request body; malformed JSON is a 400, a well-formed body of the wrong shape a 422
    /// naming the field, as Pinecone answers.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(ConiferError) -> T {
        guard !data.isEmpty else {
            throw .invalidArgument("The request body is empty; a JSON object is required.")
        }
        try requireUniqueKeys(data)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw deserializeError("missing field `\(key.stringValue)`", context.codingPath)
        } catch let DecodingError.typeMismatch(expected, context) {
            throw deserializeError("invalid type, expected \(describe(expected))", context.codingPath)
        } catch let DecodingError.valueNotFound(expected, context) {
            throw deserializeError("null where \(describe(expected)) was expected", context.codingPath)
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw deserializeError(context.debugDescription, context.codingPath)
        } catch {
            throw .invalidArgument("The request body is not valid JSON.")
        }
    }

    /// Top-level keys of a JSON object body, for requests whose schema forbids unknown properties.
    static func rejectUnknownKeys(in data: Data, allowed: Set<String>, code: ConiferError.Code = .unprocessableEntity) throws(ConiferError) {
        try requireUniqueKeys(data)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        if let unknown = object.keys.filter({ !allowed.contains($0) }).sorted().first {
            throw ConiferError(code, "Failed to deserialize the JSON body into the target type: unknown field `\(unknown.prefix(64))`")
        }
    }

    /// Refuses a body that repeats a key within one object (400), whichever value another reader would take.
    static func requireUniqueKeys(_ data: Data) throws(ConiferError) {
        guard let key = data.withUnsafeBytes({ JSONScanner.repeatedKey(in: $0) }) else { return }
        throw .invalidArgument("The request body repeats the key `\(key.prefix(64))` in one object; each key may appear once.")
    }

    private static func deserializeError(_ what: String, _ path: [any CodingKey]) -> ConiferError {
        let location = path.isEmpty ? "" : " at `\(path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: "."))`"
        return ConiferError(.unprocessableEntity, "Failed to deserialize the JSON body into the target type: \(what)\(location)")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int32.Type, is Int64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}

/// An optional written as `null` when absent (synthesized encoding leaves an absent optional out), for fields a
/// client's model requires to be present.
struct Nullable<Value: Encodable>: Encodable {
    var value: Value?

    init(_ value: Value?) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}
