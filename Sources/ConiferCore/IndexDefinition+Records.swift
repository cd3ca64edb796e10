extension IndexDefinition {
    /// Checks a record against the index's schema: dense indexes need `dimension` values with a non-zero
    /// one and take sparse values only with the dotproduct metric; sparse indexes take only sparse values.
    public func validate(_ record: VectorRecord) throws(ConiferError) {
        try DataLimits.validateID(record.id)
        switch vectorType {
        case .dense:
            guard let dimension else { throw ConiferError(.internalError, "dense index without dimension") }
            guard !record.values.isEmpty else {
                throw .invalidArgument("Vector '\(record.id.prefix(64))' has no dense values; this index requires \(dimension) values per vector.")
            }
            try DataLimits.validateDense(record.values, dimension: dimension)
            if record.sparse != nil {
                try requireSparseSupport()
            }
        case .sparse:
            guard record.values.isEmpty else {
                throw .invalidArgument("Vector '\(record.id.prefix(64))' has dense values, but this is a sparse index.")
            }
            guard let sparse = record.sparse, !sparse.indices.isEmpty else {
                throw .invalidArgument("Vector '\(record.id.prefix(64))' has no sparse values; a sparse index requires them.")
            }
        }
    }

    /// Sparse values on a dense index need dot-product scoring.
    public func requireSparseSupport() throws(ConiferError) {
        guard vectorType == .sparse || metric == .dotproduct else {
            throw .invalidArgument("Sparse values are supported only on indexes with the metric dotproduct; this index uses \(metric.rawValue).")
        }
    }
}

extension IndexDefinition {
    /// The tag that tunes how many graph candidates a query keeps (Pinecone has no such setting; a tag is
    /// per index, visible in describe_index and changeable with configure_index).
    public static let efSearchTag = "conifer-ef-search"

    /// The index's `conifer-ef-search` tag as a number from 1 to 10,000, if it is set to one.
    public var efSearch: Int? {
        tags[Self.efSearchTag].flatMap(Int.init).flatMap { (1...10_000).contains($0) ? $0 : nil }
    }
}
