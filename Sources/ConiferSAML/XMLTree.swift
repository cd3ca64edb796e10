import CLibXML2
import Foundation

/// A parsed XML document (libxml2), read-only once parsed. Parsing never touches the network and refuses any
/// document type declaration: SAML messages have none, and a DTD is how entity expansion and XXE get in.
final class XMLTree {
    private let document: xmlDocPtr

    /// At most this many bytes are parsed (a SAML response is a few kilobytes).
    static let maxBytes = 256 * 1024

    /// libxml2's global state, set up once (its lazy set-up is not thread-safe; Swift's static `let` is).
    private static let parser: Void = xmlInitParser()

    init(_ bytes: Data) throws(SAMLError) {
        Self.parser
        guard bytes.count <= Self.maxBytes else { throw SAMLError("The SAML message is larger than \(Self.maxBytes / 1024) KiB.") }
        // Refused before parsing, whatever the parser would make of it.
        if bytes.range(of: Data("<!DOCTYPE".utf8)) != nil || bytes.range(of: Data("<!ENTITY".utf8)) != nil {
            throw SAMLError("The SAML message carries a document type declaration; none is allowed.")
        }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        guard let context = xmlNewParserCtxt() else { throw SAMLError("Out of memory parsing the SAML message.") }
        defer { xmlFreeParserCtxt(context) }
        let parsed = bytes.withUnsafeBytes { raw in
            xmlCtxtReadMemory(context, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count), "saml.xml", nil, options)
        }
        guard let parsed else { throw SAMLError("The SAML message is not well-formed XML.") }
        document = parsed
        // libxml2 recovers from an undeclared prefix (the element then has no namespace); such a message is refused.
        guard context.pointee.wellFormed != 0, context.pointee.nsWellFormed != 0 else {
            throw SAMLError("The SAML message is not well-formed XML with namespaces.")
        }
        guard parsed.pointee.intSubset == nil, parsed.pointee.extSubset == nil else {
            throw SAMLError("The SAML message carries a document type declaration; none is allowed.")
        }
        guard xmlDocGetRootElement(parsed) != nil else { throw SAMLError("The SAML message has no root element.") }
    }

    deinit { xmlFreeDoc(document) }

    var root: XMLElement { XMLElement(tree: self, node: xmlDocGetRootElement(document)!) }

    /// Every element of the document, in document order.
    var elements: [XMLElement] {
        var found: [XMLElement] = []
        func walk(_ element: XMLElement) {
            found.append(element)
            element.children.forEach(walk)
        }
        walk(root)
        return found
    }

    /// The exclusive canonical form (without comments) of `element`'s subtree, leaving out the subtree of
    /// `excluded` (the enveloped-signature transform); `inclusivePrefixes` is the transform's PrefixList.
    func exclusiveCanonical(_ element: XMLElement, excluding excluded: XMLElement? = nil, inclusivePrefixes: [String] = []) throws(SAMLError) -> Data {
        var scope = CanonicalScope(root: element.node, excluded: excluded?.node)
        guard let buffer = xmlAllocOutputBuffer(nil) else { throw SAMLError("Out of memory canonicalizing the SAML message.") }
        let prefixes = inclusivePrefixes.map { strdup($0) }
        defer { prefixes.forEach { free($0) } }
        var prefixList: [UnsafeMutablePointer<xmlChar>?] = prefixes.map { $0.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: xmlChar.self) } } + [nil]
        let visible: xmlC14NIsVisibleCallback = { user, node, parent in
            let scope = user!.assumingMemoryBound(to: CanonicalScope.self).pointee
            // A namespace node arrives as an `xmlNs` (whose `type` sits where a node's does); its element is `parent`.
            var current: xmlNodePtr? = node == nil || node!.pointee.type == XML_NAMESPACE_DECL ? parent : node
            while let visited = current {
                if visited == scope.excluded { return 0 }
                if visited == scope.root { return 1 }
                current = visited.pointee.parent
            }
            return 0
        }
        let status = withUnsafeMutablePointer(to: &scope) { scope in
            prefixList.withUnsafeMutableBufferPointer { list in
                xmlC14NExecute(
                    document, visible, scope, Int32(XML_C14N_EXCLUSIVE_1_0.rawValue), inclusivePrefixes.isEmpty ? nil : list.baseAddress, 0, buffer
                )
            }
        }
        defer { xmlOutputBufferClose(buffer) }
        guard status >= 0, let content = xmlOutputBufferGetContent(buffer) else { throw SAMLError("The SAML message could not be canonicalized.") }
        return Data(bytes: content, count: Int(xmlOutputBufferGetSize(buffer)))
    }

    private struct CanonicalScope {
        var root: xmlNodePtr
        var excluded: xmlNodePtr?
    }
}

/// An element of a parsed `XMLTree` (which it keeps alive).
struct XMLElement: Equatable {
    let tree: XMLTree
    let node: xmlNodePtr

    var localName: String { String(cString: node.pointee.name) }
    var namespace: String? { node.pointee.ns.flatMap { $0.pointee.href }.map { String(cString: $0) } }

    func `is`(_ namespace: String, _ localName: String) -> Bool { self.namespace == namespace && self.localName == localName }

    /// An attribute without a namespace (as every SAML and XML-DSig attribute this reads is).
    func attribute(_ name: String) -> String? {
        guard let value = xmlGetNoNsProp(node, name) else { return nil }
        defer { conifer_xml_free(value) }
        return String(cString: value)
    }

    /// The names of every attribute, for the duplicate-ID check.
    var attributeNames: [String] {
        var names: [String] = []
        var attribute = node.pointee.properties
        while let current = attribute {
            if current.pointee.ns == nil { names.append(String(cString: current.pointee.name)) }
            attribute = current.pointee.next
        }
        return names
    }

    /// The element children, in order.
    var children: [XMLElement] {
        var found: [XMLElement] = []
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE { found.append(XMLElement(tree: tree, node: current)) }
            child = current.pointee.next
        }
        return found
    }

    func children(_ namespace: String, _ localName: String) -> [XMLElement] { children.filter { $0.is(namespace, localName) } }

    /// The one child of that name; none or several is an error naming it.
    func onlyChild(_ namespace: String, _ localName: String, of what: String) throws(SAMLError) -> XMLElement {
        let found = children(namespace, localName)
        guard found.count == 1 else { throw SAMLError("\(what) must hold exactly one \(localName) element; it holds \(found.count).") }
        return found[0]
    }

    /// The element's text when it holds nothing but text: a comment, an element or a processing instruction
    /// inside is refused rather than skipped, so `user@corp.com<!---->.evil.com` can never be read as a
    /// shorter or different value than the signed text.
    func text(of what: String) throws(SAMLError) -> String {
        var text = ""
        var child = node.pointee.children
        while let current = child {
            switch current.pointee.type {
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = current.pointee.content { text += String(cString: content) }
            default:
                throw SAMLError("\(what) must hold only text; it holds a comment, an element or another node.")
            }
            child = current.pointee.next
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func == (left: XMLElement, right: XMLElement) -> Bool { left.node == right.node }
}
