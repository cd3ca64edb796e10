import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where `conifer login --sso` waits for the browser: a listening socket on 127.0.0.1 (a port the system picks) that
/// answers one `GET /callback?code=…` and hands the code over. Other requests (a browser's favicon) get a 404.
final class LoopbackCallback {
    private let socket: Int32
    let port: Int

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ClientError("Could not open a loopback socket.") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socket, 4) == 0 else {
            close(socket)
            throw ClientError("Could not listen on 127.0.0.1.")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        self.socket = socket
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socket) }

    /// The code of the first `GET /callback?code=…` within `timeout` seconds.
    func code(timeout: Int) throws -> String {
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        while Date() < deadline {
            var ready = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 1000) > 0 else { continue }
            let connection = accept(socket, nil, nil)
            guard connection >= 0 else { continue }
            defer { close(connection) }
            var buffer = [UInt8](repeating: 0, count: 8192)
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { continue }
            let line = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\r\n", maxSplits: 1).first ?? ""
            let parts = line.split(separator: " ")
            let target = parts.count >= 2 ? URLComponents(string: String(parts[1])) : nil
            guard parts.first == "GET", target?.path == "/callback", let code = target?.queryItems?.first(where: { $0.name == "code" })?.value else {
                respond(connection, status: "404 Not Found", "Not here.")
                continue
            }
            respond(connection, status: "200 OK", "Signed in: you can close this window and go back to the terminal.")
            return code
        }
        throw ClientError("No sign-in arrived within \(timeout) seconds.")
    }

    private func respond(_ connection: Int32, status: String, _ text: String) {
        let body = "<!doctype html><html><head><title>conifer</title></head><body><p>\(text)</p></body></html>"
        let response = "HTTP/1.1 \(status)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = response.withCString { write(connection, $0, strlen($0)) }
    }
}
