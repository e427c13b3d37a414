// A PostgreSQL connection URL, read the way libpq reads one, turned into postgres-nio settings.
//
//   postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…&sslrootcert=FILE&application_name=…]
//   postgres://USER@/DATABASE?host=/var/run/postgresql          (a Unix socket directory)
//
// sslmode as libpq: disable; allow/prefer (the default: TLS when the server offers it, certificate
// not checked); require (TLS, certificate not checked); verify-ca; verify-full.

import NIOSSL
import PostgresNIO

public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, Equatable {
        case disable, allow, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full"
    }

    /// TCP host; nil with a Unix socket.
    public var host: String?
    /// The socket file (`<dir>/.s.PGSQL.<port>`) when the URL names a socket directory.
    public var socketPath: String?
    public var port = 5432
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode = SSLMode.prefer
    public var sslRootCert: String?
    public var applicationName = "openrtms"

    public init(_ text: String) throws(FleetError) {
        func bad(_ why: String) -> FleetError { FleetError("database URL: \(why) (expected postgres://user[:password]@host[:port]/database)") }
        var rest = Substring(text.trimmingSpaces)
        guard let scheme = rest.range(of: "://") else { throw bad("no scheme") }
        guard ["postgres", "postgresql"].contains(rest[..<scheme.lowerBound].lowercased()) else {
            throw bad("the scheme must be postgres:// or postgresql://")
        }
        rest = rest[scheme.upperBound...]
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var hostPort = rest
        var userInfo: Substring? = nil
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            hostPort = rest[rest.index(after: at)...]
        }
        var user: String? = nil
        if let ui = userInfo {
            if let colon = ui.firstIndex(of: ":") {
                user = try Self.decode(ui[..<colon])
                password = try Self.decode(ui[ui.index(after: colon)...])
            } else {
                user = try Self.decode(ui)
            }
        }
        var hostText: String? = nil
        var portText: Substring? = nil
        if hostPort.hasPrefix("[") {
            // [IPv6]:port
            guard let close = hostPort.firstIndex(of: "]") else { throw bad("unclosed [ in the host") }
            hostText = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
        } else if let colon = hostPort.lastIndex(of: ":") {
            hostText = try Self.decode(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        } else if !hostPort.isEmpty {
            hostText = try Self.decode(hostPort)
        }
        if let p = portText, !p.isEmpty {
            guard let n = Int(p), (1...65535).contains(n) else { throw bad("port '\(p)' is not 1...65535") }
            port = n
        }
        var socketDir: String? = nil
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.decode(kv[0])
            let value = kv.count > 1 ? try Self.decode(kv[1]) : ""
            switch key {
            case "sslmode":
                guard let m = SSLMode(rawValue: value) else { throw bad("unknown sslmode '\(value)'") }
                sslMode = m
            case "sslrootcert": sslRootCert = value
            case "application_name": applicationName = value
            case "host": if value.hasPrefix("/") { socketDir = value } else { hostText = value }
            case "port":
                guard let n = Int(value), (1...65535).contains(n) else { throw bad("port '\(value)' is not 1...65535") }
                port = n
            case "user": user = value
            case "password": password = value
            case "dbname": path = Substring(value)
            case "connect_timeout", "options", "target_session_attrs": break
            default: throw bad("unknown parameter '\(key)'")
            }
        }
        if let h = hostText, h.hasPrefix("/") { socketDir = h; hostText = nil }
        if let dir = socketDir {
            socketPath = dir + "/.s.PGSQL.\(port)"
            host = nil
        } else {
            host = (hostText?.isEmpty ?? true) ? "localhost" : hostText
        }
        guard let u = user, !u.isEmpty else { throw bad("no user name") }
        self.user = u
        let db = try Self.decode(path)
        database = db.isEmpty ? u : db
    }

    /// Percent-decoding (`%2F` → `/`); `+` stays a plus sign, as in libpq.
    static func decode(_ s: Substring) throws(FleetError) -> String {
        guard s.contains("%") else { return String(s) }
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%") {
                guard it.count >= 2, let hi = hexValue(it.popFirst()!), let lo = hexValue(it.popFirst()!) else {
                    throw FleetError("database URL: bad percent-encoding in '\(s)'")
                }
                out.append(hi << 4 | lo)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The URL without its password, for logs.
    public var description: String {
        let where_ = socketPath.map { "socket \($0)" } ?? "\(host ?? "localhost"):\(port)"
        return "postgres://\(user)@\(where_)/\(database)"
    }

    private func tlsConfiguration() -> TLSConfiguration? {
        guard sslMode != .disable else { return nil }
        var tc = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .verifyFull: tc.certificateVerification = .fullVerification
        case .verifyCA: tc.certificateVerification = .noHostnameVerification
        default: tc.certificateVerification = .none
        }
        if let ca = sslRootCert { tc.trustRoots = .file(ca) }
        return tc
    }

    /// Settings of postgres-nio's pool.
    public func clientConfiguration() -> PostgresClient.Configuration {
        var c: PostgresClient.Configuration
        if let socketPath {
            c = .init(unixSocketPath: socketPath, username: user, password: password, database: database)
        } else {
            let tls: PostgresClient.Configuration.TLS
            switch (sslMode, tlsConfiguration()) {
            case (.allow, .some(let t)), (.prefer, .some(let t)): tls = .prefer(t)
            case (_, .some(let t)): tls = .require(t)
            case (_, nil): tls = .disable
            }
            c = .init(host: host ?? "localhost", port: port, username: user, password: password, database: database, tls: tls)
        }
        c.options.additionalStartupParameters = [("application_name", applicationName)]
        return c
    }

    /// Settings of one postgres-nio connection (the listener's).
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var c: PostgresConnection.Configuration
        if let socketPath {
            c = .init(unixSocketPath: socketPath, username: user, password: password, database: database)
        } else {
            var tls = PostgresConnection.Configuration.TLS.disable
            if let t = tlsConfiguration() {
                let context = try NIOSSLContext(configuration: t)
                tls = (sslMode == .allow || sslMode == .prefer) ? .prefer(context) : .require(context)
            }
            c = .init(host: host ?? "localhost", port: port, username: user, password: password, database: database, tls: tls)
        }
        c.options.additionalStartupParameters = [("application_name", applicationName)]
        return c
    }
}

/// A fleet failure with readable text.
public struct FleetError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
    public static let timedOut = FleetError("the database did not answer in time")
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
