import ConiferCore

/// A wire type with a fast path: `scan` reads it from a body in one pass, or returns nil and leaves the
/// body to `JSONDecoder` (which then produces the value or the canonical error). Both must agree on every
/// body `scan` accepts; `WireScanningTests` checks that they do.
protocol ScannableWire: Decodable {
    static func scan(_ scanner: inout JSONScanner) -> Self?
}

extension JSONScanner {
    /// An optional field: `null` is nil, anything else must read as `read` reads it (nil gives up).
    mutating func optional<T>(_ read: (inout JSONScanner) -> T?) -> T?? {
        if null() { return .some(nil) }
        return read(&self).map { .some($0) }
    }
}

extension SparseValuesWire {
    static func scan(_ scanner: inout JSONScanner) -> SparseValuesWire? {
        var indices: [Int64]?
        var values: [Float]?
        let complete = scanner.object { key, scanner in
            switch key {
            case "indices":
                var list: [Int64] = []
                indices = scanner.array { scanner in scanner.int64().map { list.append($0) } != nil } ? list : nil
                return indices != nil
            case "values":
                values = scanner.floats()
                return values != nil
            default:
                return scanner.value() != nil
            }
        }
        guard complete, let indices, let values else { return nil }
        return SparseValuesWire(indices: indices, values: values)
    }
}

extension VectorWire {
    static func scan(_ scanner: inout JSONScanner) -> VectorWire? {
        var id: String?
        var values: [Float]??
        var sparse: SparseValuesWire??
        var metadata: [String: JSONValue]??
        let complete = scanner.object { key, scanner in
            switch key {
            case "id": id = scanner.string(); return id != nil
            case "values": values = scanner.optional { $0.floats() }; return values != nil
            case "sparseValues": sparse = scanner.optional { SparseValuesWire.scan(&$0) }; return sparse != nil
            case "metadata":
                metadata = scanner.optional { scanner in
                    if case .object(let object) = scanner.value() { object } else { nil }
                }
                return metadata != nil
            default: return scanner.value() != nil
            }
        }
        guard complete, let id else { return nil }
        return VectorWire(id: id, values: values ?? nil, sparseValues: sparse ?? nil, metadata: metadata ?? nil)
    }
}

extension UpsertRequestWire: ScannableWire {
    static func scan(_ scanner: inout JSONScanner) -> UpsertRequestWire? {
        var vectors: [VectorWire]?
        var namespace: String??
        let complete = scanner.object { key, scanner in
            switch key {
            case "vectors":
                var list: [VectorWire] = []
                vectors = scanner.array { scanner in VectorWire.scan(&scanner).map { list.append($0) } != nil } ? list : nil
                return vectors != nil
            case "namespace": namespace = scanner.optional { $0.string() }; return namespace != nil
            default: return scanner.value() != nil
            }
        }
        guard complete, let vectors else { return nil }
        return UpsertRequestWire(vectors: vectors, namespace: namespace ?? nil)
    }
}

extension QueryRequestWire: ScannableWire {
    static func scan(_ scanner: inout JSONScanner) -> QueryRequestWire? {
        var topK: Int?
        var body = QueryRequestWire(topK: 0)
        let complete = scanner.object { key, scanner in
            switch key {
            case "topK": topK = scanner.int(); return topK != nil
            case "namespace": return scanner.optional { $0.string() }.map { body.namespace = $0 } != nil
            case "filter": return scanner.optional { $0.value() }.map { body.filter = $0 } != nil
            case "includeValues": return scanner.optional { $0.bool() }.map { body.includeValues = $0 } != nil
            case "includeMetadata": return scanner.optional { $0.bool() }.map { body.includeMetadata = $0 } != nil
            case "vector": return scanner.optional { $0.floats() }.map { body.vector = $0 } != nil
            case "sparseVector": return scanner.optional { SparseValuesWire.scan(&$0) }.map { body.sparseVector = $0 } != nil
            case "id": return scanner.optional { $0.string() }.map { body.id = $0 } != nil
            case "queries": return scanner.optional { $0.value() }.map { body.queries = $0 } != nil
            default: return scanner.value() != nil
            }
        }
        guard complete, let topK else { return nil }
        body.topK = topK
        return body
    }
}

/// A response wire type with a fast path: `write` produces the bytes `JSONEncoder` would (see `JSONWriter`).
protocol WritableWire: Encodable {
    func write(to writer: inout JSONWriter)
}

extension VectorOutWire {
    func write(to writer: inout JSONWriter) {
        writer.object { object in
            object.member("id") { $0.string(id) }
            if let metadata { object.member("metadata") { $0.value(.object(metadata)) } }
            if let score { object.member("score") { $0.number(score) } }
            if let sparseValues {
                object.member("sparseValues") { writer in
                    writer.object { sparse in
                        sparse.member("indices") { writer in
                            writer.raw("[")
                            for (i, index) in sparseValues.indices.enumerated() {
                                if i > 0 { writer.raw(",") }
                                writer.number(Int(index))
                            }
                            writer.raw("]")
                        }
                        sparse.member("values") { $0.floats(sparseValues.values) }
                    }
                }
            }
            object.member("values") { $0.floats(values) }
        }
    }
}

extension UsageWire {
    func write(to writer: inout JSONWriter) {
        writer.object { object in object.member("readUnits") { $0.number(readUnits) } }
    }
}

extension QueryResponseWire: WritableWire {
    func write(to writer: inout JSONWriter) {
        writer.object { object in
            object.member("matches") { writer in
                writer.raw("[")
                for (i, match) in matches.enumerated() {
                    if i > 0 { writer.raw(",") }
                    match.write(to: &writer)
                }
                writer.raw("]")
            }
            object.member("namespace") { $0.string(namespace) }
            object.member("usage") { usage.write(to: &$0) }
        }
    }
}

extension FetchResponseWire: WritableWire {
    func write(to writer: inout JSONWriter) {
        writer.object { object in
            object.member("namespace") { $0.string(namespace) }
            if let pagination { object.member("pagination") { writer in writer.object { $0.member("next") { $0.string(pagination.next) } } } }
            object.member("usage") { usage.write(to: &$0) }
            object.member("vectors") { writer in
                writer.object { members in
                    for (id, vector) in vectors.sorted(by: { $0.key < $1.key }) {
                        members.member(id) { vector.write(to: &$0) }
                    }
                }
            }
        }
    }
}
