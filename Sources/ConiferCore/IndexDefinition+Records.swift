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
