import Foundation

/// Who receives an organization's invoices: a name, an email and a postal address. Conifer processes no payments;
/// the contact is kept (sealed) for the operator's billing and shown to owners and billing admins.
public struct BillingContact: Codable, Sendable, Equatable {
    public struct Address: Codable, Sendable, Equatable {
        public var line1: String
        public var line2: String?
        public var city: String
        public var postal_code: String
        public var state: String?
        /// ISO 3166-1 alpha-2 (`US`, `DE`).
        public var country: String

        public init(line1: String, line2: String? = nil, city: String, postal_code: String, state: String? = nil, country: String) {
            self.line1 = line1
            self.line2 = line2
            self.city = city
            self.postal_code = postal_code
            self.state = state
            self.country = country
        }
    }

    public var name: String
    public var email: String
    public var address: Address

    public init(name: String, email: String, address: Address) {
        self.name = name
        self.email = email
        self.address = address
    }

    /// Every field present, printable and of a sensible length, the email deliverable, the country two letters.
    public func validate() throws(ConiferError) {
        func text(_ value: String?, _ field: String, required: Bool = true, max: Int = 200) throws(ConiferError) {
            guard let value else {
                if required { throw .invalidArgument("billing_contact.\(field) is required.") }
                return
            }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            guard !(required && trimmed.isEmpty), value.count <= max, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw .invalidArgument("billing_contact.\(field) must be 1 to \(max) printable characters.")
            }
        }
        try text(name, "name")
        guard MailMessage.isDeliverable(email) else { throw .invalidArgument("billing_contact.email must be an email address.") }
        try text(address.line1, "address.line1")
        try text(address.line2, "address.line2", required: false)
        try text(address.city, "address.city")
        try text(address.postal_code, "address.postal_code", max: 20)
        try text(address.state, "address.state", required: false)
        guard address.country.count == 2, address.country.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
            throw .invalidArgument("billing_contact.address.country must be an ISO 3166-1 alpha-2 code such as US or DE.")
        }
    }
}
